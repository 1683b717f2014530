module github.com/ctxguard/ctxguard/examples

go 1.25.0

require (
	github.com/chromedp/chromedp v0.23.1
	github.com/ctxguard/ctxguard v0.0.0-00010101000000-000000000000
	github.com/ctxguard/ctxguard/ctxguard/ctxotel v0.0.0-00010101000000-000000000000
	github.com/ctxguard/ctxguard/ctxguard/ctxprom v0.0.0-00010101000000-000000000000
	github.com/ctxguard/ctxguard/middleware/grpcguard v0.0.0-00010101000000-000000000000
	github.com/ctxguard/ctxguard/middleware/mcpguard v0.0.0-00010101000000-000000000000
	github.com/modelcontextprotocol/go-sdk v1.8.0
	github.com/prometheus/client_golang v1.24.1
	go.opentelemetry.io/otel/sdk v1.46.0
	go.opentelemetry.io/otel/trace v1.46.0
	go.uber.org/goleak v1.3.0
	google.golang.org/grpc v1.84.0
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/chromedp/cdproto v0.160.1 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/go-logr/logr v1.4.4 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/google/jsonschema-go v0.4.3 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.70.1 // indirect
	github.com/prometheus/procfs v0.21.1 // indirect
	github.com/segmentio/asm v1.1.3 // indirect
	github.com/segmentio/encoding v0.5.4 // indirect
	github.com/yosida95/uritemplate/v3 v3.0.2 // indirect
	go.opentelemetry.io/auto/sdk v1.2.1 // indirect
	go.opentelemetry.io/otel v1.46.0 // indirect
	go.opentelemetry.io/otel/metric v1.46.0 // indirect
	golang.org/x/net v0.57.0 // indirect
	golang.org/x/oauth2 v0.36.0 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.40.0 // indirect
	golang.org/x/time v0.15.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260706201446-f0a921348800 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/ctxguard/ctxguard => ..

replace github.com/ctxguard/ctxguard/ctxguard/ctxprom => ../ctxguard/ctxprom

replace github.com/ctxguard/ctxguard/ctxguard/ctxotel => ../ctxguard/ctxotel

replace github.com/ctxguard/ctxguard/middleware/grpcguard => ../middleware/grpcguard

replace github.com/ctxguard/ctxguard/middleware/mcpguard => ../middleware/mcpguard
