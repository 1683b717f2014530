package ctxvet

import (
	"go/types"
	"testing"

	"golang.org/x/tools/go/packages"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/spawn"
)

// The checks recognise ctxguard's and spawn's functions by import path and
// name. These keep the names honest: they must compile against the real
// packages, and ctxguard's must have exactly the signatures of context's.
var (
	_ = []any{
		ctxguard.Background, ctxguard.TODO, ctxguard.WithValue, ctxguard.WithoutCancel,
		ctxguard.WithCancel, ctxguard.WithCancelCause, ctxguard.WithTimeout,
		ctxguard.WithTimeoutCause, ctxguard.WithDeadline, ctxguard.WithDeadlineCause,
	}
	_ = []any{spawn.Go, spawn.WithContext, (*spawn.Group).Go, (*spawn.Group).TryGo, (*spawn.Group).SetLimit, (*spawn.Group).Wait}
)

func TestCtxguardNamesMatchContext(t *testing.T) {
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedTypes}
	pkgs, err := packages.Load(cfg, contextPath, ctxguardPath, spawnPath, errgroupPath)
	if err != nil {
		t.Fatal(err)
	}
	byPath := make(map[string]*types.Package)
	for _, p := range pkgs {
		for _, e := range p.Errors {
			t.Fatalf("loading %s: %v", p.PkgPath, e)
		}
		byPath[p.PkgPath] = p.Types
	}
	std, guard := byPath[contextPath].Scope(), byPath[ctxguardPath].Scope()
	for _, name := range []string{
		"Background", "TODO", "WithValue", "WithoutCancel",
		"WithCancel", "WithCancelCause", "WithTimeout", "WithTimeoutCause", "WithDeadline", "WithDeadlineCause",
	} {
		want, got := std.Lookup(name), guard.Lookup(name)
		if got == nil {
			t.Errorf("ctxguard.%s is missing", name)
			continue
		}
		if !types.Identical(want.Type(), got.Type()) {
			t.Errorf("ctxguard.%s is %s, context.%s is %s", name, got.Type(), name, want.Type())
		}
	}
	// Groups: WithContext returns the Group first, released by Wait.
	for _, path := range []string{spawnPath, errgroupPath} {
		fn, ok := byPath[path].Scope().Lookup("WithContext").(*types.Func)
		if !ok {
			t.Errorf("%s.WithContext is missing", path)
			continue
		}
		group := fn.Signature().Results().At(0).Type()
		for _, method := range []string{"Wait", "Go", "TryGo", "SetLimit"} {
			if obj, _, _ := types.LookupFieldOrMethod(group, true, nil, method); obj == nil {
				t.Errorf("%s: the Group of WithContext has no method %s", path, method)
			}
		}
	}
}
