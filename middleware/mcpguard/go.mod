module github.com/ctxguard/ctxguard/middleware/mcpguard

go 1.25.0

require (
	github.com/ctxguard/ctxguard v0.0.0-00010101000000-000000000000
	github.com/modelcontextprotocol/go-sdk v1.0.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/google/jsonschema-go v0.3.0 // indirect
	github.com/yosida95/uritemplate/v3 v3.0.2 // indirect
)

replace github.com/ctxguard/ctxguard => ../..
