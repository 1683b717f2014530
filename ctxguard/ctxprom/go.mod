module github.com/ctxguard/ctxguard/ctxguard/ctxprom

go 1.25.0

require (
	github.com/ctxguard/ctxguard v0.0.0-00010101000000-000000000000
	github.com/prometheus/client_golang v1.7.0
	github.com/prometheus/client_model v0.2.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.1.1 // indirect
	github.com/golang/protobuf v1.4.2 // indirect
	github.com/matttproud/golang_protobuf_extensions v1.0.1 // indirect
	github.com/prometheus/common v0.10.0 // indirect
	github.com/prometheus/procfs v0.1.3 // indirect
	golang.org/x/sys v0.0.0-20200615200032-f1bc736245b1 // indirect
	google.golang.org/protobuf v1.23.0 // indirect
)

replace github.com/ctxguard/ctxguard => ../..
