package ctxguard

import "unicode/utf8"

// MaxLabelBytes bounds the names, scopes, sites, frames and causes a
// Monitor keeps and exports: longer ones are cut to at most this many
// bytes, ending in TruncatedMark. With at most Config.MaxSites entries
// per table, a Monitor's statistics take bounded memory whatever strings
// the program passes it.
const MaxLabelBytes = 256

// TruncatedMark ends a string cut to MaxLabelBytes.
const TruncatedMark = "...(truncated)"

// truncateLabel cuts s to MaxLabelBytes, at a rune boundary, into a new
// string, so that the long original is not kept reachable.
func truncateLabel(s string) string {
	if len(s) <= MaxLabelBytes {
		return s
	}
	n := MaxLabelBytes - len(TruncatedMark)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + TruncatedMark
}
