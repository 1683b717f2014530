package selectdone

import (
	"testing"
	"time"

	context "github.com/ctxguard/ctxguard/ctxguard"
)

func helperBoundedByATimer(t *testing.T, ctx context.Context, results <-chan int) {
	select {
	case <-results:
	case <-time.After(time.Second):
		t.Fatal("no result")
	}
}

func helperUnbounded(t *testing.T, ctx context.Context, results <-chan int) {
	select { // want `select waits only for data and does not watch ctx.Done\(\)`
	case <-results:
	}
}
