package brokenchain

import (
	"testing"

	context "github.com/ctxguard/ctxguard/ctxguard"
)

func helper(t *testing.T, ctx context.Context) {
	call(context.Background())
}
