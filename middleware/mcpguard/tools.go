package mcpguard

import (
	"context"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ctxguard/ctxguard/internal/cowmap"
)

// maxListPages bounds the pages of one listing of the server's tools.
const maxListPages = 100

// toolTable holds the entries of the tools a server has listed.
type toolTable struct {
	known  cowmap.Map[string, *entry] // by tool name
	mu     sync.Mutex                 // held while listing
	listed time.Time                  // when the last listing started
}

// tool returns the entry of a tools/call request: its tool's, if the server
// lists it, else the shared unknown-tool entry. A name seen before costs
// one lock-free map lookup; a name not seen listed lists the server's
// tools through the wrapped handler, unless that was done less than
// relistInterval ago.
func (h *handler) tool(ctx context.Context, req mcp.Request) *entry {
	r, ok := req.(*mcp.CallToolRequest)
	if !ok || r.Params == nil {
		return h.unknown
	}
	name := r.Params.Name
	if e, ok := h.tools.known.Load(name); ok {
		return e
	}
	t := &h.tools
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.known.Load(name); ok { // listed while this call waited
		return e
	}
	if now := time.Now(); now.Sub(t.listed) >= relistInterval {
		t.listed = now
		h.listTools(ctx, r)
		if e, ok := t.known.Load(name); ok {
			return e
		}
	}
	return h.unknown
}

// listTools adds the tools the server lists to the table, up to maxTools.
// It lists them on behalf of the call r, with its session, bearer token
// (TokenInfo) and HTTP header, so that middleware it wraps that authorizes
// requests by those lets the listing through as it would the client's
// own; not with the rest of the call's Extra, such as the means to close
// its stream. Errors end the listing: the tools not seen count as unknown
// until the next one.
func (h *handler) listTools(ctx context.Context, r *mcp.CallToolRequest) {
	var extra *mcp.RequestExtra
	if r.Extra != nil {
		extra = &mcp.RequestExtra{TokenInfo: r.Extra.TokenInfo, Header: r.Extra.Header}
	}
	cursor := ""
	for range maxListPages {
		res, err := h.next(ctx, "tools/list", &mcp.ListToolsRequest{Session: r.Session, Extra: extra, Params: &mcp.ListToolsParams{Cursor: cursor}})
		list, ok := res.(*mcp.ListToolsResult)
		if err != nil || !ok || list == nil {
			return
		}
		for _, tool := range list.Tools {
			if tool == nil {
				continue
			}
			if _, ok := h.tools.known.Load(tool.Name); !ok {
				h.tools.known.LoadOrStore(tool.Name, h.newEntry(toolsCall, toolsCall+" "+tool.Name), maxTools)
			}
		}
		if list.NextCursor == "" || list.NextCursor == cursor {
			return
		}
		cursor = list.NextCursor
	}
}
