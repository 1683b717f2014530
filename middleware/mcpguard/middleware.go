package mcpguard

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/internal/cowmap"
	"github.com/ctxguard/ctxguard/internal/track"
)

const (
	// toolsCall is the method of tool calls.
	toolsCall = "tools/call"
	// unknownTool names and scopes calls of tools the server does not
	// list: their names come from the client, so using them would let
	// clients grow the label set without bound.
	unknownTool = toolsCall + " (unknown tool)"
	// otherMethod names and scopes requests of methods beyond maxMethods,
	// which only code calling the handler directly can send: the SDK
	// answers methods it does not know before any middleware runs.
	otherMethod = "(other method)"
	maxMethods  = 64
	// maxTools bounds the tool names kept per server, as the Monitor
	// bounds its scopes (ctxguard.DefaultMaxSites).
	maxTools = ctxguard.DefaultMaxSites
	// relistInterval is how soon after listing the server's tools a call
	// of a tool not listed may list them again: calls of names the server
	// does not have cost one listing per interval at most.
	relistInterval = time.Second
)

// Middleware returns a receiving middleware that scopes and tracks each
// request the server handles; add it with Server.AddReceivingMiddleware.
//
// A tool call's context is scoped "tools/call NAME" ([ctxguard.WithScope]),
// NAME the tool's; any other request's, its method ("resources/read",
// "prompts/get", ...). Goroutines the handler starts with spawn.Go are
// attributed to that scope. The handler itself is tracked against the
// request context until it returns: one still running Grace after that
// context is done (the client cancelled the call; from go-sdk v1.7.0 on,
// also the session's connection broke) is lagging, named and scoped as
// above, with where it is blocked (Snapshot.Goroutines' BlockedAt) and
// the context's cause.
//
// Tool names come from the client, so only the names of tools the server
// lists (tools/list) become scopes, at most 1000 per server; calls of
// other names, which the SDK answers with its "unknown tool" error, share
// the scope "tools/call (unknown tool)". The middleware learns the
// server's tools by calling the handler it wraps with tools/list, on
// behalf of the call (with its session, token info and HTTP header),
// when it sees a name it has not seen listed, at most once a second,
// while other calls of names not seen listed wait: middleware added
// before it (which it wraps) see those requests. A handler's site is "(unknown)": the SDK
// does not show middleware the tool's handler.
//
// Notifications pass through untouched: they have no response for a
// client to give up on, and the SDK handles them in turn, not
// concurrently. Results, errors and panics pass through unchanged;
// tracking ends when the handler returns or panics, and a panic is
// counted in Snapshot.Panics under the scope before it goes on.
//
// A request is tracked once, by the first of mcpguard's middleware it
// reaches: one added again (by a framework and by the program), reached
// directly or through middleware that passes the context on unchanged,
// passes it on untracked, and its options (monitor, grace, lagging limit)
// do not apply to it. Through middleware that derives a new context, both
// track it. The outer one's own listing of the tools reaches the inner one
// as a tools/list request of its own, which it tracks.
//
// Cost per request: see the package documentation.
func Middleware(opts ...Option) mcp.Middleware {
	cfg := newConfig(opts)
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		if next == nil {
			panic("mcpguard: Middleware applied to a nil mcp.MethodHandler")
		}
		h := &handler{next: next, cfg: cfg}
		h.unknown = h.newEntry(toolsCall, unknownTool)
		return h.handle
	}
}

// handler is the middleware around one server's handler.
type handler struct {
	next    mcp.MethodHandler
	cfg     config
	methods cowmap.Map[string, *entry] // by method, tools/call excluded
	tools   toolTable
	unknown *entry // calls of tools not listed
}

// An entry is what the middleware needs to track the requests of one
// scope: the method to call, the scope and the tracking options, shared by
// all of them.
type entry struct {
	h      *handler
	method string
	scope  string
	opts   track.Options
}

func (h *handler) newEntry(method, scope string) *entry {
	return &entry{h: h, method: method, scope: scope, opts: track.Options{Name: scope, Grace: h.cfg.grace}}
}

func (h *handler) handle(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
	if track.Entered(ctx) {
		return h.next(ctx, method, req) // tracked by the mcpguard middleware it came through
	}
	var e *entry
	switch {
	case method == toolsCall:
		e = h.tool(ctx, req)
	case strings.HasPrefix(method, "notifications/"):
		return h.next(ctx, method, req)
	default:
		e = h.method(method)
	}
	scope := track.ScopeOf(ctx, h.cfg.monitor, e.scope)
	if limit := h.cfg.limit; limit > 0 && method == toolsCall {
		if lagging := scope.Lagging(); lagging >= int64(limit) {
			return shed(e, lagging, limit, scope.Shed(limit, h.cfg.grace)), nil
		}
		scope.Admitted(limit)
	}
	ctx, region := track.EnterScope(ctx, scope, 0, &e.opts)
	returned := false
	defer track.Finish(region, &returned) // a panic is counted, then goes on
	res, err := region.Run(call, e, ctx, req)
	returned = true
	if res == nil {
		return nil, err
	}
	return res.(mcp.Result), err
}

// call is how the middleware calls the next handler through its region.
func call(e, ctx, req any) (any, error) {
	en := e.(*entry)
	r, _ := req.(mcp.Request)
	res, err := en.h.next(ctx.(context.Context), en.method, r)
	if res == nil {
		return nil, err // no typed nil in the interface
	}
	return res, err
}

// method returns the entry of requests of method, other than tools/call.
func (h *handler) method(method string) *entry {
	if e, ok := h.methods.Load(method); ok {
		return e
	}
	if h.methods.Len() >= maxMethods {
		return h.newEntry(method, otherMethod) // rare: only direct callers send such methods
	}
	h.methods.LoadOrStore(method, h.newEntry(method, method), maxMethods)
	if e, ok := h.methods.Load(method); ok {
		return e
	}
	return h.newEntry(method, otherMethod) // the table filled up meanwhile
}

// shed answers a tool call turned away by WithLaggingLimit.
func shed(e *entry, lagging int64, limit int, retryAfter time.Duration) *mcp.CallToolResult {
	secs := int((retryAfter + time.Second - 1) / time.Second)
	name := strings.TrimPrefix(e.scope, toolsCall+" ")
	return &mcp.CallToolResult{
		IsError: true,
		Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf(
			"ctxguard: %d calls of tool %q are still running after they were cancelled (limit %d); "+
				"this call was not run: try again in %d s, or do without this tool", lagging, name, limit, secs)}},
		Meta: mcp.Meta{"ctxguard/retryAfterSeconds": secs},
	}
}
