// Package observability holds ready-made Prometheus alerting rules
// (alerts.yml) and a Grafana dashboard (dashboard.json) for the metrics of
// package ctxprom. Its test checks them for real: promtool accepts the
// rules, every metric they use is one the collector exports, and a real
// Prometheus server scraping `go run ./examples/leakdemo -serve` shows the
// lagging series and the alert pending.
//
// To try them by hand, run the demo with -serve and point Prometheus at
// it:
//
//	go run ./examples/leakdemo -serve -addr 127.0.0.1:8080
//	prometheus --config.file=examples/observability/prometheus.yml
//
// then import dashboard.json into Grafana with that Prometheus as its data
// source.
package observability
