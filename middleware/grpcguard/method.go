package grpcguard

import (
	"reflect"
	"runtime"
	"strings"
	"time"

	"github.com/ctxguard/ctxguard/internal/cowmap"
	"github.com/ctxguard/ctxguard/internal/track"
)

// unknownMethod names and scopes RPCs to methods the server has not
// registered, served by grpc.UnknownServiceHandler: their names come from
// the client, so using them would let clients grow the label set without
// bound. gRPC's own metrics fold them the same way.
const unknownMethod = "(unknown method)"

// A method is what the interceptors need to track the RPCs of one method:
// the site their handlers are reported at and the tracking options, shared
// by all of them.
type method struct {
	site uintptr
	opts track.Options
}

type methodKey struct {
	impl       reflect.Type // the service implementation's type
	fullMethod string
}

// methods caches, for one interceptor, the method of each (implementation
// type, full method) it has served. Only registered methods are cached, so
// the registered services bound it.
type methods struct {
	grace   time.Duration
	cache   cowmap.Map[methodKey, *method]
	unknown method
}

func newMethods(grace time.Duration) *methods {
	return &methods{grace: grace, unknown: method{opts: track.Options{Name: unknownMethod, Grace: grace}}}
}

// get returns the method of an RPC to fullMethod on the implementation srv,
// a shared one for unregistered methods. The first RPC of a method looks up its
// site by reflection; the others cost one map lookup, without allocating.
func (ms *methods) get(srv any, fullMethod string) *method {
	if srv == nil {
		return &ms.unknown
	}
	key := methodKey{reflect.TypeOf(srv), fullMethod}
	if m, ok := ms.cache.Load(key); ok {
		return m
	}
	m := &method{
		site: methodSite(key.impl, fullMethod[strings.LastIndexByte(fullMethod, '/')+1:]),
		opts: track.Options{Name: fullMethod, Grace: ms.grace},
	}
	actual, _ := ms.cache.LoadOrStore(key, m, 0)
	return actual
}

// methodSite returns the site of the method of the implementation type t
// that serves the RPC named name (the full method's last element, as the
// .proto file spells it): the entry pc of its declaration plus one, since
// sites are symbolized as return pcs, which are stepped back by one. It is
// 0, reported as "(unknown)", if t has no such method or gets it from an
// embedded interface. The Go method is named by protoc-gen-go's rule
// (goMethodName) (get_user and getUser are GetUser); a
// method named as the RPC itself is taken first, for hand-written
// service descriptions.
func methodSite(t reflect.Type, name string) uintptr {
	pc, _ := declaration(t, name, 0)
	if goName := goMethodName(name); pc == 0 && goName != name {
		pc, _ = declaration(t, goName, 0)
	}
	if pc != 0 {
		return pc + 1
	}
	return 0
}

// goMethodName is the name protoc-gen-go gives the Go method of an RPC
// the .proto file names rpc (its rule lives in an internal package of
// google.golang.org/protobuf): a lower-case letter at the start or after a
// digit, '_' or '.' becomes upper case; an '_' or '.' before a lower-case
// letter is dropped; an '_' at the start or after a '.' becomes 'X'; any
// other '.' becomes '_'. So get_user and getUser are GetUser.
func goMethodName(rpc string) string {
	lowerAt := func(i int) bool { return i < len(rpc) && 'a' <= rpc[i] && rpc[i] <= 'z' }
	out := make([]byte, 0, len(rpc))
	for i := 0; i < len(rpc); i++ {
		c := rpc[i]
		switch {
		case c == '_' && (i == 0 || rpc[i-1] == '.'):
			out = append(out, 'X')
		case (c == '_' || c == '.') && lowerAt(i+1):
			// dropped: the letter after it starts a word
		case c == '.':
			out = append(out, '_')
		case lowerAt(i) && (i == 0 || strings.IndexByte("0123456789_.", rpc[i-1]) >= 0):
			out = append(out, c-'a'+'A')
		default:
			out = append(out, c)
		}
	}
	return string(out)
}

// maxEmbedding bounds the search through embedded fields; types can embed
// pointers to themselves.
const maxEmbedding = 8

// declaration returns the entry pc of the declaration of t's (or *t's)
// method named name, and the embedding depth it was found at, following
// embedded fields to the shallowest declaration as promotion does: reflect
// reports promoted methods, and value-receiver methods of pointer types,
// as generated wrappers, which have no source line.
func declaration(t reflect.Type, name string, depth int) (pc uintptr, at int) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Interface {
		return 0, 0 // the method is the dynamic value's, unknown here
	}
	m, ok := t.MethodByName(name)
	if !ok {
		if m, ok = reflect.PointerTo(t).MethodByName(name); !ok {
			return 0, 0
		}
	}
	if pc := m.Func.Pointer(); !generated(pc) {
		return pc, depth
	}
	if t.Kind() != reflect.Struct || depth == maxEmbedding {
		return 0, 0
	}
	for i := range t.NumField() {
		if f := t.Field(i); f.Anonymous {
			if p, a := declaration(f.Type, name, depth+1); p != 0 && (pc == 0 || a < at) {
				pc, at = p, a
			}
		}
	}
	return pc, at
}

// generated reports whether the function at pc was generated by the
// compiler, as wrappers are.
func generated(pc uintptr) bool {
	f := runtime.FuncForPC(pc)
	if f == nil {
		return true
	}
	file, _ := f.FileLine(pc)
	return file == "<autogenerated>"
}
