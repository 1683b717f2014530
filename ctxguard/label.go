package ctxguard

import "github.com/ctxguard/ctxguard/internal/labels"

// MaxLabelBytes bounds the names, scopes, sites, frames and causes a
// Monitor keeps and exports: longer ones are cut to at most this many
// bytes, ending in TruncatedMark. With at most Config.MaxSites entries per
// table, a Monitor's statistics take bounded memory whatever strings the
// program passes it.
const MaxLabelBytes = labels.MaxBytes

// TruncatedMark ends a string cut to MaxLabelBytes.
const TruncatedMark = labels.Mark

func truncateLabel(s string) string { return labels.Truncate(s) }
