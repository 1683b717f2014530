module github.com/ctxguard/ctxguard/ctxguard/ctxvet

go 1.25.0

require (
	github.com/ctxguard/ctxguard v0.0.0-00010101000000-000000000000
	golang.org/x/tools v0.49.0
)

require (
	golang.org/x/mod v0.39.0 // indirect
	golang.org/x/sync v0.22.0 // indirect
)

replace github.com/ctxguard/ctxguard => ../..
