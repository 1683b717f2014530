package ctxvet

import (
	"go/ast"
	"go/types"

	"golang.org/x/tools/go/ast/edge"
	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/types/typeutil"
)

// requestScope describes the request- or task-scoped function around a
// node, if there is one: code that runs for one request or one task, whose
// goroutines belong to that request or task.
type requestScope struct {
	ok      bool
	request string // name of its *http.Request parameter, if it has one
}

// requestScopeOf finds the request-scoped function enclosing cur: an
// HTTP handler (it takes an http.ResponseWriter and an *http.Request), a
// gRPC handler (a method taking a context and a request message, or a
// server stream), or a function literal handed to spawn.Go or to a
// Group's Go or TryGo (spawn or errgroup).
func requestScopeOf(p *passInfo, cur inspector.Cursor) requestScope {
	for fn := range cur.Enclosing((*ast.FuncDecl)(nil), (*ast.FuncLit)(nil)) {
		var ftype *ast.FuncType
		var recv *ast.FieldList
		switch decl := fn.Node().(type) {
		case *ast.FuncDecl:
			ftype, recv = decl.Type, decl.Recv
		case *ast.FuncLit:
			ftype = decl.Type
			if isSpawnedLiteral(p, fn) {
				return requestScope{ok: true}
			}
		}
		if request, ok := httpHandlerRequest(p, ftype); ok {
			return requestScope{ok: true, request: request}
		}
		if recv != nil && isGRPCHandler(p, ftype) {
			return requestScope{ok: true}
		}
	}
	return requestScope{}
}

// httpHandlerRequest reports whether ftype takes an http.ResponseWriter and
// an *http.Request, and returns the request parameter's name.
func httpHandlerRequest(p *passInfo, ftype *ast.FuncType) (request string, ok bool) {
	var writer, req bool
	for _, field := range ftype.Params.List {
		t := p.info.TypeOf(field.Type)
		switch {
		case isNamedType(t, "net/http", "ResponseWriter"):
			writer = true
		case isPointerTo(t, "net/http", "Request"):
			req = true
			if len(field.Names) > 0 && field.Names[0].Name != "_" {
				request = field.Names[0].Name
			}
		}
	}
	return request, writer && req
}

// isGRPCHandler reports whether ftype is the signature of a gRPC server
// method: (ctx, *Request) (*Response, error) with protobuf messages, or
// one taking a server stream (a type with Context, SendMsg and RecvMsg).
func isGRPCHandler(p *passInfo, ftype *ast.FuncType) bool {
	params := ftype.Params.List
	var paramTypes []types.Type
	for _, field := range params {
		t := p.info.TypeOf(field.Type)
		n := max(len(field.Names), 1)
		for range n {
			paramTypes = append(paramTypes, t)
		}
	}
	for _, t := range paramTypes {
		if hasMethods(t, "Context", "SendMsg", "RecvMsg") {
			return true
		}
	}
	return len(paramTypes) == 2 && isContextType(paramTypes[0]) && hasMethods(paramTypes[1], "ProtoReflect") &&
		ftype.Results != nil && ftype.Results.NumFields() == 2
}

// isSpawnedLiteral reports whether the function literal at cur is the
// function argument of spawn.Go, or of Go or TryGo of a spawn or errgroup
// Group.
func isSpawnedLiteral(p *passInfo, cur inspector.Cursor) bool {
	if cur.ParentEdgeKind() != edge.CallExpr_Args {
		return false
	}
	fn := typeutil.StaticCallee(p.info, cur.Parent().Node().(*ast.CallExpr))
	if fn == nil || fn.Pkg() == nil {
		return false
	}
	switch path := fn.Pkg().Path(); {
	case path == spawnPath && fn.Name() == "Go" && fn.Signature().Recv() == nil:
		return true
	case (path == spawnPath || path == errgroupPath) && fn.Signature().Recv() != nil:
		return fn.Name() == "Go" || fn.Name() == "TryGo"
	}
	return false
}
