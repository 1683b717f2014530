package ctxvet

import (
	"testing"

	"golang.org/x/tools/go/analysis"
)

// A package is test support by an element test, tests or e2e of its path
// within its module; the module's own path does not count.
func TestTestSupportPath(t *testing.T) {
	mod := func(path string) *analysis.Module { return &analysis.Module{Path: path} }
	tests := []struct {
		path string
		mod  *analysis.Module
		want bool
	}{
		{"github.com/acme/shop/tests", mod("github.com/acme/shop"), true},
		{"github.com/acme/shop/test/fixtures/server", mod("github.com/acme/shop"), true},
		{"github.com/acme/shop/internal/e2e", mod("github.com/acme/shop"), true},
		{"github.com/acme/shop/testing", mod("github.com/acme/shop"), false},
		{"github.com/acme/shop/testutil", mod("github.com/acme/shop"), false},
		{"github.com/acme/shop/contest", mod("github.com/acme/shop"), false},
		{"github.com/test/shop", mod("github.com/test/shop"), false},
		{"github.com/test/shop/api", mod("github.com/test/shop"), false},
		{"github.com/test/shop/e2e", mod("github.com/test/shop"), true},
		{"example.com/tests", mod("example.com/tests"), false},
		{"example.com/testsuite/e2e", mod("example.com/testsuite"), true},
		{"example.com/shop/tests", nil, true}, // a driver that names no module
		{"tests", mod(""), true},
	}
	for _, tt := range tests {
		if got := testSupportPath(tt.path, tt.mod); got != tt.want {
			t.Errorf("testSupportPath(%q, %v) = %v, want %v", tt.path, tt.mod, got, tt.want)
		}
	}
}
