package ctxvet_test

import (
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/ctxguard/ctxguard/ctxguard/ctxvet"
)

func TestLostCancel(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), ctxvet.LostCancel, "./lostcancel")
}
