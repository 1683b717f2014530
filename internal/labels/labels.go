// Package labels bounds the strings ctxguard keeps and exports as labels:
// names, scopes, sites, causes.
package labels

import "unicode/utf8"

// MaxBytes is the longest label kept; see ctxguard.MaxLabelBytes.
const MaxBytes = 256

// Mark ends a label cut to MaxBytes.
const Mark = "...(truncated)"

// Truncate cuts s to MaxBytes, at a rune boundary, into a new string, so
// that the long original is not kept reachable.
func Truncate(s string) string {
	if len(s) <= MaxBytes {
		return s
	}
	n := MaxBytes - len(Mark)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + Mark
}
