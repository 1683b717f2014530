//go:build goexperiment.goroutineleakprofile

package probe

const experimentBuild = true
