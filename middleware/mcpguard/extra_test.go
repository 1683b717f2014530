package mcpguard_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ctxguard/ctxguard/middleware/mcpguard"
)

// bearer adds a bearer token to every request it sends.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// A server whose tools are only for authenticated users (the SDK's bearer
// token middleware puts the token in each request's Extra, and a receiving
// middleware of the server's refuses tool requests without it) scopes tool
// calls by their tool all the same: the middleware's own listing of the
// tools is made on behalf of the call, with its token. Otherwise every
// tool shares the unknown tool's scope, and one tool's stuck calls turn
// away the calls of every other.
func TestToolsListedWithTheCallsCredentials(t *testing.T) {
	m := newMonitor(t)
	ts := newTools()
	defer ts.free()
	errUnauthenticated := errors.New("unauthenticated")
	authorized := func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method == "tools/list" || method == "tools/call" {
				if extra := req.GetExtra(); extra == nil || extra.TokenInfo == nil {
					return nil, errUnauthenticated
				}
			}
			return next(ctx, method, req)
		}
	}
	s := newServer(ts, []mcpguard.Option{mcpguard.WithMonitor(m), mcpguard.WithLaggingLimit(1)}, authorized)
	verify := func(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		if token != "secret" {
			return nil, auth.ErrInvalidToken
		}
		return &auth.TokenInfo{Scopes: []string{"tools"}, Expiration: time.Now().Add(time.Hour)}, nil
	}
	h := auth.RequireBearerToken(verify, nil)(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	srv := httptest.NewServer(h)
	defer srv.Close()
	cs, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint: srv.URL, MaxRetries: -1, HTTPClient: &http.Client{Transport: bearer{"secret"}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	defer ts.free() // before the session closes, which waits for its handlers

	if _, err := cs.ListTools(context.Background(), nil); err != nil {
		t.Fatalf("the client lists the tools: %v", err)
	}
	res, err := callFor(cs, "scope", giveUp*100)
	if err != nil || text(res) != "tools/call scope" {
		t.Errorf("scope tool: %q, %v; want %q", text(res), err, "tools/call scope")
	}
	if _, err := ts.giveUpOn(cs, "stubborn"); !errors.Is(err, context.Canceled) {
		t.Fatalf("stubborn: error %v, want context.Canceled", err)
	}
	waitFor(t, "the stubborn call lags", func() bool { return m.Snapshot().Lagging == 1 })
	if sc := scopeStats(m.Snapshot(), stubbornScope); sc.Lagging != 1 {
		t.Errorf("scope %s: Lagging %d, want 1", stubbornScope, sc.Lagging)
	}
	if res, err := callFor(cs, "quick", giveUp*100); err != nil || res.IsError || text(res) != "done" {
		t.Errorf("quick, while stubborn is at its lagging limit: %q (error result %v), %v; want %q", text(res), res != nil && res.IsError, err, "done")
	}
}
