//go:build !goexperiment.goroutineleakprofile

package probe

const experimentBuild = false
