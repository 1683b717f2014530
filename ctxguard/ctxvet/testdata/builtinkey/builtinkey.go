// Package builtinkey holds the builtinkey check's cases.
package builtinkey

import (
	stdcontext "context"

	context "github.com/ctxguard/ctxguard/ctxguard"
)

type ctxKey struct{}

type stringKey string

const userKey = "user"

func keys(ctx context.Context, id int, k any) {
	_ = context.WithValue(ctx, "user", 1)            // want `context.WithValue key of built-in type string can collide with any other package's string keys: use a value of an unexported type of your own \(type ctxKey struct{}\)`
	_ = context.WithValue(ctx, userKey, 1)           // want `context.WithValue key of built-in type string`
	_ = stdcontext.WithValue(ctx, id, 1)             // want `stdcontext.WithValue key of built-in type int`
	_ = context.WithValue(ctx, 42, 1)                // want `context.WithValue key of built-in type int`
	_ = context.WithValue(ctx, ctxKey{}, 1)          // a type of its own
	_ = context.WithValue(ctx, stringKey("user"), 1) // a named type, even with a basic underlying type
	_ = context.WithValue(ctx, k, 1)                 // an interface: its dynamic type is not known here
}
