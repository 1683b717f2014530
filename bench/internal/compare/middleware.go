package compare

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ctxguard/ctxguard/bench/internal/probe"
	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/middleware/httpguard"
)

// newMux is the application: a ServeMux with one route.
func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	route(mux)
	return mux
}

// route registers the application's one route on mux.
func route(mux interface {
	HandleFunc(string, func(http.ResponseWriter, *http.Request))
}) {
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.PathValue("id"))
	})
}

// withHandler runs f with the bare mux (guarded false) or the mux wrapped
// by httpguard.Handler with a Monitor of the zero Config, closed after.
func withHandler(guarded bool, f func(http.Handler)) {
	if !guarded {
		f(newMux())
		return
	}
	m := ctxguard.New(ctxguard.Config{})
	defer m.Close()
	f(httpguard.Handler(newMux(), httpguard.WithMonitor(m)))
}

// HTTPLoopback returns a benchmark of whole HTTP/1.1 requests over
// 127.0.0.1 with a keep-alive client.
func HTTPLoopback(guarded bool) func(b *testing.B) {
	return func(b *testing.B) {
		withHandler(guarded, func(h http.Handler) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			client := srv.Client()
			url := srv.URL + "/items/42"
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

// HTTPInProcess returns a benchmark of ServeHTTP called directly.
func HTTPInProcess(guarded bool) func(b *testing.B) {
	return func(b *testing.B) {
		withHandler(guarded, func(h http.Handler) { serveInProcess(b, h) })
	}
}

// HTTPServeMuxInProcess is HTTPInProcess with the route registered on
// httpguard's ServeMux instead of the mux wrapped by httpguard.Handler.
func HTTPServeMuxInProcess(b *testing.B) {
	m := ctxguard.New(ctxguard.Config{})
	defer m.Close()
	mux := httpguard.NewServeMux(httpguard.WithMonitor(m))
	route(mux)
	serveInProcess(b, mux)
}

// serveInProcess measures h.ServeHTTP of GET /items/42.
func serveInProcess(b *testing.B, h http.Handler) {
	req := httptest.NewRequest("GET", "/items/42", nil)
	w := discardWriter{make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

type discardWriter struct{ h http.Header }

func (w discardWriter) Header() http.Header         { return w.h }
func (w discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w discardWriter) WriteHeader(int)             {}

// MiddlewareGroup compares the HTTP middleware with the bare handler.
func MiddlewareGroup() Group {
	return Group{
		Title: "Middleware",
		About: "A ServeMux with one route (GET /items/{id}), bare, wrapped by httpguard.Handler, and registered on " +
			"httpguard.ServeMux instead; and a gRPC health " +
			"service, with and without grpcguard's unary interceptor. \"loopback\" is a whole request over 127.0.0.1 " +
			"from a keep-alive client; \"in-process\" calls ServeHTTP (or the interceptor) directly. The goal is on " +
			"the last rows: what the middleware adds in-process, as a share of a bare loopback request.",
		Comparisons: []Comparison{
			{Name: "Middleware/http/loopback", Op: "httpguard.Handler vs bare ServeMux, loopback request",
				Ours: Side{"httpguard.Handler", HTTPLoopback(true)}, Theirs: Side{"ServeMux", HTTPLoopback(false)}},
			{Name: "Middleware/http/in-process", Op: "httpguard.Handler vs bare ServeMux, ServeHTTP in-process",
				Ours: Side{"httpguard.Handler", HTTPInProcess(true)}, Theirs: Side{"ServeMux", HTTPInProcess(false)},
				Instr: true},
			{Name: "Middleware/http/servemux/in-process", Op: "httpguard.ServeMux vs http.ServeMux, ServeHTTP in-process",
				Ours: Side{"httpguard.ServeMux", HTTPServeMuxInProcess}, Theirs: Side{"http.ServeMux", HTTPInProcess(false)},
				Instr: true},
			{Name: "Middleware/grpc/loopback", Op: "grpcguard interceptor vs none, unary call over loopback",
				Ours: Side{"UnaryServerInterceptor", GRPCLoopback(true)}, Theirs: Side{"no interceptor", GRPCLoopback(false)}},
			{Name: "Middleware/grpc/in-process", Op: "grpcguard interceptor around a handler vs the handler, in-process",
				Ours: Side{"UnaryServerInterceptor", GRPCInProcess(true)}, Theirs: Side{"handler", GRPCInProcess(false)}},
		},
		Derive: func(r map[string][2]probe.Result) []Row {
			in, loop := r["Middleware/http/in-process"], r["Middleware/http/loopback"]
			added := in[0].NsPerOp - in[1].NsPerOp
			goal := &Goal{"<1% of a loopback request", func(o, t float64) bool { return o < 0.01*t }}
			sm := r["Middleware/http/servemux/in-process"]
			smAdded := sm[0].NsPerOp - sm[1].NsPerOp
			gin, gloop := r["Middleware/grpc/in-process"], r["Middleware/grpc/loopback"]
			gadded := gin[0].NsPerOp - gin[1].NsPerOp
			return []Row{{
				Op:     "httpguard.Handler around the mux: added cost in-process (guarded − bare) vs a bare loopback request",
				Ours:   formatNs(added),
				Theirs: formatNs(loop[1].NsPerOp),
				Ratio:  fmt.Sprintf("%.2f%%", 100*added/loop[1].NsPerOp),
				Goal:   goal.judge(added, loop[1].NsPerOp),
			}, {
				Op:     "httpguard.ServeMux: added cost in-process (guarded − bare) vs a bare loopback request",
				Ours:   formatNs(smAdded),
				Theirs: formatNs(loop[1].NsPerOp),
				Ratio:  fmt.Sprintf("%.2f%%", 100*smAdded/loop[1].NsPerOp),
				Goal:   goal.judge(smAdded, loop[1].NsPerOp),
			}, {
				Op:     "grpcguard added cost in-process (guarded − bare) vs a bare loopback unary call",
				Ours:   formatNs(gadded),
				Theirs: formatNs(gloop[1].NsPerOp),
				Ratio:  fmt.Sprintf("%.2f%%", 100*gadded/gloop[1].NsPerOp),
				Goal:   goal.judge(gadded, gloop[1].NsPerOp),
			}}
		},
	}
}
