module github.com/ctxguard/ctxguard

go 1.25.0
