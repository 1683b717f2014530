//go:build !race

package spawn_test

const raceEnabled = false
