module github.com/ctxguard/ctxguard/ctxguard/cmd/ctxguard

go 1.26.0

require (
	github.com/ctxguard/ctxguard v0.0.0-00010101000000-000000000000
	golang.org/x/mod v0.43.0
	golang.org/x/tools v0.53.0
)

require golang.org/x/sync v0.25.0 // indirect

replace github.com/ctxguard/ctxguard => ../../..
