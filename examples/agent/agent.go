package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	context "github.com/ctxguard/ctxguard/ctxguard" // the one-line switch
	"github.com/ctxguard/ctxguard/spawn"
)

// errStopped is the cause the run is cancelled with.
var errStopped = errors.New("user pressed stop")

// agent runs plans against a tool server.
type agent struct {
	tools  string // base URL of the tool server
	client *http.Client
}

// plan is the planner: it runs three steps under the run's context and
// waits for them, as an errgroup would.
func (a *agent) plan(ctx context.Context) error {
	g, ctx := spawn.WithContext(ctx)
	g.Go(func() error { return a.search(ctx) })
	g.Go(func() error { return a.fetch(ctx) })
	g.Go(func() error { return a.summarize(ctx) })
	return g.Wait()
}

// search is a correct step: its tool call stops with the run.
func (a *agent) search(ctx context.Context) error {
	_, err := a.callTool(ctx, "search", "q=context+leaks")
	return err
}

// fetch drops its ctx one link down: fetchPage calls the tool with
// context.Background(), so stopping the run does not stop the call.
func (a *agent) fetch(ctx context.Context) error {
	_, err := a.fetchPage(ctx, "https://example.com/slow-page")
	return err
}

func (a *agent) fetchPage(_ context.Context, page string) (string, error) {
	return a.callTool(context.Background(), "fetch", "url="+url.QueryEscape(page)) //ctxvet:ignore brokenchain the broken link this example shows
}

// summarize forgets to call the cancel func of its step timeout.
func (a *agent) summarize(ctx context.Context) error {
	stepCtx, _ := context.WithTimeout(ctx, 30*time.Second) //ctxvet:ignore lostcancel the cancel func, dropped, as this example shows
	_, err := a.callTool(stepCtx, "summarize", "n=3")
	return err
}

// callTool makes one tool call over HTTP.
func (a *agent) callTool(ctx context.Context, tool, query string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", a.tools+"/tool/"+tool+"?"+query, nil)
	if err != nil {
		return "", err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("tool %s: %w", tool, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// toolServer is the fake tool server: summarize answers at once, search
// and fetch take until their request is cancelled or the server releases
// them.
func toolServer(release <-chan struct{}) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tool/summarize", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "three bullet points")
	})
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
			fmt.Fprint(w, "result")
		case <-r.Context().Done():
		}
	}
	mux.HandleFunc("GET /tool/search", slow)
	mux.HandleFunc("GET /tool/fetch", slow)
	return mux
}
