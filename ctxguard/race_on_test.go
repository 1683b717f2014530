//go:build race

package ctxguard

const raceEnabled = true
