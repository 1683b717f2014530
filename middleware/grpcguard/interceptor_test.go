package grpcguard_test

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/middleware/grpcguard"
)

const (
	checkFunc = "github.com/ctxguard/ctxguard/middleware/grpcguard_test.(*health).Check"
	watchFunc = "github.com/ctxguard/ctxguard/middleware/grpcguard_test.(*health).Watch"
	checkDecl = "func (h *health) Check("
	watchDecl = "func (h *health) Watch("
)

func TestUnaryHandlerIgnoringCancellationLagsUnderItsMethod(t *testing.T) {
	const n = 5
	m := newMonitor(t)
	h := newHealth()
	conn, _ := serve(t, h, guarded(m)...)

	for range n {
		if _, err := check(conn, ignoreCtx, timeout); status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("Check error = %v, want code DeadlineExceeded", err)
		}
	}
	waitFor(t, "every Check handler is lagging", func() bool { return m.Snapshot().Lagging == n })

	s := m.Snapshot()
	if s.Spawned != n || s.Live != n || s.Lagged != n {
		t.Errorf("Spawned, Live, Lagged = %d, %d, %d; want %d each", s.Spawned, s.Live, s.Lagged, n)
	}
	e := entry(s, checkMethod, checkMethod)
	if e.Live != n || e.Lagging != n || e.Lagged != n || e.LateExits != 0 {
		t.Errorf("Check entry: Live, Lagging, Lagged, LateExits = %d, %d, %d, %d; want %d, %d, %d, 0",
			e.Live, e.Lagging, e.Lagged, e.LateExits, n, n, n)
	}
	wantSite(t, e.Site, checkFunc, "health_test.go", checkDecl)

	close(h.release)
	waitFor(t, "the released handlers return", func() bool {
		s := m.Snapshot()
		return s.Live == 0 && entry(s, checkMethod, checkMethod).LateExits == n
	})
	s = m.Snapshot()
	e = entry(s, checkMethod, checkMethod)
	if s.Lagging != 0 || s.Lagged != n || e.Lagged != n || e.LateExits != n {
		t.Errorf("after release: Lagging, Lagged, entry Lagged, LateExits = %d, %d, %d, %d; want 0, %d, %d, %d",
			s.Lagging, s.Lagged, e.Lagged, e.LateExits, n, n, n)
	}
}

func TestStreamHandlerIgnoringCancellationLagsUnderItsMethod(t *testing.T) {
	const n = 5
	m := newMonitor(t)
	h := newHealth()
	conn, _ := serve(t, h, guarded(m)...)

	for range n {
		got, _, _, err := watch(conn, ignoreCtx, timeout)
		if status.Code(err) != codes.DeadlineExceeded || len(got) != 1 {
			t.Fatalf("Watch = %v, %v; want [SERVING] and code DeadlineExceeded", got, err)
		}
	}
	waitFor(t, "every Watch handler is lagging", func() bool { return m.Snapshot().Lagging == n })

	s := m.Snapshot()
	e := entry(s, watchMethod, watchMethod)
	if s.Spawned != n || e.Live != n || e.Lagging != n || e.Lagged != n {
		t.Errorf("Spawned = %d, Watch entry Live, Lagging, Lagged = %d, %d, %d; want %d each",
			s.Spawned, e.Live, e.Lagging, e.Lagged, n)
	}
	wantSite(t, e.Site, watchFunc, "health_test.go", watchDecl)

	close(h.release)
	waitFor(t, "the released handlers return", func() bool {
		s := m.Snapshot()
		return s.Live == 0 && entry(s, watchMethod, watchMethod).LateExits == n
	})
	s = m.Snapshot()
	e = entry(s, watchMethod, watchMethod)
	if s.Lagging != 0 || s.Lagged != n || e.LateExits != n {
		t.Errorf("after release: Lagging, Lagged, LateExits = %d, %d, %d; want 0, %d, %d", s.Lagging, s.Lagged, e.LateExits, n, n)
	}
}

func TestHandlersReturningOnCancellationNeverLag(t *testing.T) {
	const n = 5
	m := newMonitor(t)
	h := newHealth()
	conn, _ := serve(t, h, guarded(m)...)

	for range n {
		if _, err := check(conn, obeyCtx, timeout); status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("Check error = %v, want code DeadlineExceeded", err)
		}
		if got, _, _, err := watch(conn, obeyCtx, timeout); status.Code(err) != codes.DeadlineExceeded || len(got) != 1 {
			t.Fatalf("Watch = %v, %v; want [SERVING] and code DeadlineExceeded", got, err)
		}
	}
	waitFor(t, "every handler is tracked and has returned", func() bool {
		s := m.Snapshot()
		return s.Spawned == 2*n && s.Live == 0
	})
	// Handlers return well within Grace of their context ending, so none
	// lags, and with nothing lagged or live no entry is listed.
	if s := m.Snapshot(); s.Lagged != 0 || len(s.Goroutines) != 0 {
		t.Errorf("Lagged = %d, Goroutines = %+v; want none", s.Lagged, s.Goroutines)
	}
}

func TestGoroutinesSpawnedByHandlersAreScopedToTheMethod(t *testing.T) {
	const n = 3
	m := newMonitor(t)
	h := newHealth()
	conn, _ := serve(t, h, guarded(m)...)

	for range n {
		if _, err := check(conn, spawnIgnoring, timeout); status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("Check error = %v, want code DeadlineExceeded", err)
		}
		if _, _, _, err := watch(conn, spawnIgnoring, timeout); status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("Watch error = %v, want code DeadlineExceeded", err)
		}
	}
	waitFor(t, "every spawned goroutine is lagging", func() bool { return m.Snapshot().Lagging == 2*n })

	s := m.Snapshot()
	if s.Spawned != 4*n || s.Live != 2*n || s.Lagged != 2*n {
		t.Errorf("Spawned, Live, Lagged = %d, %d, %d; want %d, %d, %d", s.Spawned, s.Live, s.Lagged, 4*n, 2*n, 2*n)
	}
	for _, scope := range []string{checkMethod, watchMethod} {
		e := entry(s, stubbornName, scope)
		if e.Live != n || e.Lagging != n {
			t.Errorf("goroutines spawned in %s: Live, Lagging = %d, %d; want %d each", scope, e.Live, e.Lagging, n)
		}
		wantSite(t, e.Site, "github.com/ctxguard/ctxguard/middleware/grpcguard_test.(*health).behave",
			"health_test.go", "\t\tspawn.Go(ctx, h.stubborn)")
		if e := entry(s, scope, scope); e.Name != "" {
			t.Errorf("handler entry of %s = %+v, want none: the handlers obey their context", scope, e)
		}
	}

	close(h.release)
	waitFor(t, "the released goroutines return", func() bool { return m.Snapshot().Live == 0 })
	if s := m.Snapshot(); s.Lagging != 0 || s.Lagged != 2*n {
		t.Errorf("after release: Lagging, Lagged = %d, %d; want 0, %d", s.Lagging, s.Lagged, 2*n)
	}
}

func TestHandlersSeeTheMethodAsScope(t *testing.T) {
	m := newMonitor(t)
	conn, _ := serve(t, newHealth(), guarded(m)...)

	var trailer metadata.MD
	if _, err := check(conn, reportScope, timeout*100, grpc.Trailer(&trailer)); err != nil {
		t.Fatal(err)
	}
	if got := trailer.Get("scope"); !reflect.DeepEqual(got, []string{checkMethod}) {
		t.Errorf("Check's scope = %q, want %q", got, checkMethod)
	}
	_, _, trailer, err := watch(conn, reportScope, timeout*100)
	if err != nil {
		t.Fatal(err)
	}
	if got := trailer.Get("scope"); !reflect.DeepEqual(got, []string{watchMethod}) {
		t.Errorf("Watch's scope (from its stream's Context) = %q, want %q", got, watchMethod)
	}
}

// The interceptors pass 50 concurrent RPCs of four kinds through, each
// counted where it belongs.
func TestConcurrentRPCsAreCountedExactly(t *testing.T) {
	const perKind = 13 // 52 RPCs in flight at once
	m := newMonitor(t)
	h := newHealth()
	conn, _ := serve(t, h, guarded(m)...)

	var wg sync.WaitGroup
	for range perKind {
		for _, behaviour := range []string{ignoreCtx, obeyCtx, spawnIgnoring} {
			wg.Go(func() {
				if _, err := check(conn, behaviour, timeout); status.Code(err) != codes.DeadlineExceeded {
					t.Errorf("Check(%s) error = %v, want code DeadlineExceeded", behaviour, err)
				}
			})
		}
		wg.Go(func() {
			if _, _, _, err := watch(conn, ignoreCtx, timeout); status.Code(err) != codes.DeadlineExceeded {
				t.Errorf("Watch error = %v, want code DeadlineExceeded", err)
			}
		})
	}
	wg.Wait()
	waitFor(t, "every ignoring handler and goroutine is lagging", func() bool { return m.Snapshot().Lagging == 3*perKind })

	s := m.Snapshot()
	if s.Spawned != 5*perKind || s.Live != 3*perKind || s.Lagged != 3*perKind {
		t.Errorf("Spawned, Live, Lagged = %d, %d, %d; want %d, %d, %d", s.Spawned, s.Live, s.Lagged, 5*perKind, 3*perKind, 3*perKind)
	}
	for _, k := range []struct{ name, scope string }{
		{checkMethod, checkMethod},
		{watchMethod, watchMethod},
		{stubbornName, checkMethod},
	} {
		if e := entry(s, k.name, k.scope); e.Live != perKind || e.Lagging != perKind || e.Lagged != perKind {
			t.Errorf("%s in %s: Live, Lagging, Lagged = %d, %d, %d; want %d each", k.name, k.scope, e.Live, e.Lagging, e.Lagged, perKind)
		}
	}

	close(h.release)
	waitFor(t, "everything released returns", func() bool { return m.Snapshot().Live == 0 })
	if s := m.Snapshot(); s.Lagging != 0 || s.Lagged != 3*perKind {
		t.Errorf("after release: Lagging, Lagged = %d, %d; want 0, %d", s.Lagging, s.Lagged, 3*perKind)
	}
}

// An outcome is everything a client sees of an RPC.
type outcome struct {
	status          *status.Status
	header, trailer metadata.MD
	responses       []healthpb.HealthCheckResponse_ServingStatus
}

func TestResponsesAndErrorsPassThroughUnchanged(t *testing.T) {
	m := newMonitor(t)
	bare, _ := serve(t, newHealth())
	guarded, _ := serve(t, newHealth(), guarded(m)...)

	unary := func(conn *grpc.ClientConn, behaviour string, timeout time.Duration) outcome {
		var o outcome
		resp, err := check(conn, behaviour, timeout, grpc.Header(&o.header), grpc.Trailer(&o.trailer))
		if resp != nil {
			o.responses = append(o.responses, resp.GetStatus())
		}
		o.status = status.Convert(err)
		return o
	}
	stream := func(conn *grpc.ClientConn, behaviour string, timeout time.Duration) outcome {
		var o outcome
		var err error
		o.responses, o.header, o.trailer, err = watch(conn, behaviour, timeout)
		o.status = status.Convert(err)
		return o
	}
	for _, c := range []struct {
		name      string
		call      func(*grpc.ClientConn, string, time.Duration) outcome
		behaviour string
		code      codes.Code
		message   string
		details   int
		responses int
	}{
		{"unary success", unary, succeed, codes.OK, "", 0, 1},
		{"unary status error", unary, failStatus, codes.FailedPrecondition, "custom failure", 1, 0},
		{"stream success", stream, succeed, codes.OK, "", 0, 2},
		{"stream status error", stream, failStatus, codes.FailedPrecondition, "custom failure", 1, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			want, got := c.call(bare, c.behaviour, 30*time.Second), c.call(guarded, c.behaviour, 30*time.Second)
			if want.status.Code() != c.code || want.status.Message() != c.message || len(want.status.Details()) != c.details ||
				len(want.responses) != c.responses || !slices.Equal(want.header.Get("header"), []string{"h"}) || !slices.Equal(want.trailer.Get("trailer"), []string{"t"}) {
				t.Fatalf("without the interceptors: %v with %d responses, header %v, trailer %v; not what the test expects",
					want.status.Proto(), len(want.responses), want.header, want.trailer)
			}
			if !proto.Equal(got.status.Proto(), want.status.Proto()) {
				t.Errorf("status = %v, want %v", got.status.Proto(), want.status.Proto())
			}
			if !reflect.DeepEqual(got.responses, want.responses) {
				t.Errorf("responses = %v, want %v", got.responses, want.responses)
			}
			if !reflect.DeepEqual(got.header, want.header) || !reflect.DeepEqual(got.trailer, want.trailer) {
				t.Errorf("header, trailer = %v, %v; want %v, %v", got.header, got.trailer, want.header, want.trailer)
			}
		})
	}
	// The client's and the server's deadline timers race, with or without
	// the interceptors: which fires first decides the message and whether
	// the server's trailers arrive. The code is the same either way.
	for _, c := range []struct {
		name      string
		call      func(*grpc.ClientConn, string, time.Duration) outcome
		responses int
	}{
		{"unary deadline", unary, 0},
		{"stream deadline", stream, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, conn := range []*grpc.ClientConn{bare, guarded} {
				o := c.call(conn, obeyCtx, timeout)
				if o.status.Code() != codes.DeadlineExceeded || len(o.responses) != c.responses {
					t.Errorf("status %v with %d responses, want code DeadlineExceeded with %d", o.status.Proto(), len(o.responses), c.responses)
				}
			}
		})
	}
}

func TestTrackingEndsWhenTheHandlerReturnsAnError(t *testing.T) {
	m := newMonitor(t)
	conn, _ := serve(t, newHealth(), guarded(m)...)

	if _, err := check(conn, failStatus, timeout*100); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("Check error = %v, want code FailedPrecondition", err)
	}
	// The handler's tracking ends before the status is written.
	if s := m.Snapshot(); s.Spawned != 1 || s.Live != 0 {
		t.Errorf("Spawned, Live = %d, %d; want 1, 0", s.Spawned, s.Live)
	}
}

// gRPC does not recover panics in handlers, so a panic would end the test
// binary: the interceptors are called directly instead.
func TestPanicsPassThroughAndTrackingEnds(t *testing.T) {
	m := newMonitor(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := newHealth()
	boom := errors.New("boom")

	recovered := func(call func()) (v any) {
		defer func() { v = recover() }()
		call()
		return nil
	}
	unary := grpcguard.UnaryServerInterceptor(grpcguard.WithMonitor(m))
	v := recovered(func() {
		unary(ctx, nil, &grpc.UnaryServerInfo{Server: srv, FullMethod: checkMethod}, func(ctx context.Context, req any) (any, error) {
			if got := m.Snapshot().Live; got != 1 {
				t.Errorf("Live in the handler = %d, want 1", got)
			}
			panic(boom)
		})
	})
	if v != boom {
		t.Errorf("unary: recovered %v, want the handler's panic value %v", v, boom)
	}
	stream := grpcguard.StreamServerInterceptor(grpcguard.WithMonitor(m))
	v = recovered(func() {
		stream(srv, fakeStream{ctx}, &grpc.StreamServerInfo{FullMethod: watchMethod, IsServerStream: true}, func(any, grpc.ServerStream) error {
			panic(boom)
		})
	})
	if v != boom {
		t.Errorf("stream: recovered %v, want the handler's panic value %v", v, boom)
	}
	if s := m.Snapshot(); s.Spawned != 2 || s.Live != 0 || s.Panics != 2 {
		t.Errorf("Spawned, Live, Panics = %d, %d, %d; want 2, 0, 2", s.Spawned, s.Live, s.Panics)
	}
}

// fakeStream is a grpc.ServerStream that has only a context.
type fakeStream struct{ ctx context.Context }

func (s fakeStream) Context() context.Context   { return s.ctx }
func (fakeStream) SetHeader(metadata.MD) error  { return nil }
func (fakeStream) SendHeader(metadata.MD) error { return nil }
func (fakeStream) SetTrailer(metadata.MD)       {}
func (fakeStream) SendMsg(any) error            { return nil }
func (fakeStream) RecvMsg(any) error            { return nil }

func TestMonitorIsTheContextsWithoutWithMonitor(t *testing.T) {
	m := newMonitor(t)
	ctx := ctxguard.WithMonitor(context.Background(), m)
	info := &grpc.UnaryServerInfo{Server: newHealth(), FullMethod: checkMethod}

	var handlerCtx context.Context
	grpcguard.UnaryServerInterceptor()(ctx, nil, info, func(ctx context.Context, req any) (any, error) {
		handlerCtx = ctx
		return nil, nil
	})
	if got := ctxguard.MonitorFrom(handlerCtx); got != m {
		t.Errorf("handler's Monitor = %p, want the RPC context's %p", got, m)
	}
	if got := ctxguard.ScopeFrom(handlerCtx); got != checkMethod {
		t.Errorf("handler's scope = %q, want %q", got, checkMethod)
	}
	if s := m.Snapshot(); s.Spawned != 1 {
		t.Errorf("Spawned = %d, want 1: the handler tracked by the context's Monitor", s.Spawned)
	}
}

func TestWithGraceOverridesTheMonitorsGrace(t *testing.T) {
	m := ctxguard.New(ctxguard.Config{Grace: time.Hour, Logger: slog.New(slog.DiscardHandler), ReportInterval: time.Hour})
	defer m.Close()
	h := newHealth()
	conn, _ := serve(t, h,
		grpc.ChainUnaryInterceptor(grpcguard.UnaryServerInterceptor(grpcguard.WithMonitor(m), grpcguard.WithGrace(grace))))

	if _, err := check(conn, ignoreCtx, timeout); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("Check error = %v, want code DeadlineExceeded", err)
	}
	waitFor(t, "the handler lags after WithGrace's grace, not the Monitor's hour", func() bool {
		return entry(m.Snapshot(), checkMethod, checkMethod).Lagging == 1
	})
	close(h.release)
	waitFor(t, "the released handler returns", func() bool { return m.Snapshot().Live == 0 })
}

func TestUnregisteredMethodsShareOneName(t *testing.T) {
	m := newMonitor(t)
	release := make(chan struct{})
	unknown := grpc.UnknownServiceHandler(func(any, grpc.ServerStream) error {
		<-release
		return status.Error(codes.Unimplemented, "no such method")
	})
	conn, _ := serve(t, newHealth(), append(guarded(m), unknown)...)

	for _, method := range []string{"/no.such.Service/A", "/no.such.Service/B"} {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := conn.Invoke(ctx, method, &healthpb.HealthCheckRequest{}, new(healthpb.HealthCheckResponse))
		cancel()
		if status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("%s error = %v, want code DeadlineExceeded", method, err)
		}
	}
	waitFor(t, "both handlers are lagging", func() bool { return m.Snapshot().Lagging == 2 })
	const name = "(unknown method)"
	e := entry(m.Snapshot(), name, name)
	if e.Lagging != 2 || e.Site.Function != "(unknown)" {
		t.Errorf("%s entry: Lagging %d, Site %v; want 2, (unknown)", name, e.Lagging, e.Site)
	}
	close(release)
	waitFor(t, "the released handlers return", func() bool { return m.Snapshot().Live == 0 })
}

func TestOptionsPanicOnMisuse(t *testing.T) {
	for _, c := range []struct {
		name string
		call func()
		want string
	}{
		{"WithMonitor(nil)", func() { grpcguard.WithMonitor(nil) }, "grpcguard: WithMonitor called with a nil *Monitor"},
		{"WithGrace(0)", func() { grpcguard.WithGrace(0) }, "grpcguard: WithGrace needs a positive duration, got 0s"},
		{"WithGrace(-1s)", func() { grpcguard.WithGrace(-time.Second) }, "grpcguard: WithGrace needs a positive duration, got -1s"},
		{"UnaryServerInterceptor(nil)", func() { grpcguard.UnaryServerInterceptor(nil) }, "grpcguard: UnaryServerInterceptor called with a nil Option"},
		{"StreamServerInterceptor(nil)", func() { grpcguard.StreamServerInterceptor(grpcguard.WithGrace(time.Second), nil) }, "grpcguard: StreamServerInterceptor called with a nil Option"},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if got := recover(); got != c.want {
					t.Errorf("panic = %v, want %q", got, c.want)
				}
			}()
			c.call()
		})
	}
}

// Serving through the interceptors and shutting down leaves no goroutine
// behind: neither the interceptors nor the Monitor keep any.
func TestShutdownLeavesNoGoroutines(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	m := ctxguard.New(ctxguard.Config{Grace: grace, Logger: slog.New(slog.DiscardHandler), ReportInterval: time.Hour})
	h := newHealth()
	conn, stop := serve(t, h, guarded(m)...)

	check(conn, ignoreCtx, timeout)
	watch(conn, spawnIgnoring, timeout)
	check(conn, succeed, timeout*100)
	waitFor(t, "both ignoring goroutines are lagging", func() bool { return m.Snapshot().Lagging == 2 })
	close(h.release)
	waitFor(t, "the released goroutines return", func() bool { return m.Snapshot().Live == 0 })
	stop()
	m.Close()
	goleak.VerifyNone(t, ignore)
}

// Interceptors installed twice (by a framework and by the program, say)
// track each RPC once: the outer one tracks it and the inner one passes it
// through.
func TestNestedInterceptorsTrackAnRPCOnce(t *testing.T) {
	m := newMonitor(t)
	conn, _ := serve(t, newHealth(), append(guarded(m), guarded(m)...)...)
	before := m.Snapshot().Spawned
	var trailer metadata.MD
	if _, err := check(conn, reportScope, timeout*100, grpc.Trailer(&trailer)); err != nil {
		t.Fatal(err)
	}
	if got := trailer.Get("scope"); !reflect.DeepEqual(got, []string{checkMethod}) {
		t.Errorf("Check's scope = %q, want %q", got, checkMethod)
	}
	if n := m.Snapshot().Spawned - before; n != 1 {
		t.Errorf("Check tracked %d times, want once", n)
	}
	before = m.Snapshot().Spawned
	if _, _, _, err := watch(conn, reportScope, timeout*100); err != nil {
		t.Fatal(err)
	}
	if n := m.Snapshot().Spawned - before; n != 1 {
		t.Errorf("Watch tracked %d times, want once", n)
	}
}
