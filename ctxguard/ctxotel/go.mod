module github.com/ctxguard/ctxguard/ctxguard/ctxotel

go 1.25.0

require (
	github.com/ctxguard/ctxguard v0.0.0-00010101000000-000000000000
	go.opentelemetry.io/otel v1.29.0
	go.opentelemetry.io/otel/metric v1.29.0
	go.opentelemetry.io/otel/sdk v1.29.0
	go.opentelemetry.io/otel/sdk/metric v1.29.0
	go.opentelemetry.io/otel/trace v1.29.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/go-logr/logr v1.4.2 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/google/uuid v1.6.0 // indirect
	golang.org/x/sys v0.24.0 // indirect
)

replace github.com/ctxguard/ctxguard => ../..
