// Package ctxvet finds context-cancellation bugs before the code runs.
package ctxvet
