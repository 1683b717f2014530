module example.com/ctxvettest

go 1.26.0

require github.com/ctxguard/ctxguard v0.0.0-00010101000000-000000000000

require golang.org/x/sync v0.25.0

replace github.com/ctxguard/ctxguard => ../../..
