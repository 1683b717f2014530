package grpcguard_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"

	"github.com/ctxguard/ctxguard/middleware/grpcguard"
)

// Implementations of a method Check in the ways Go allows; the site of a
// handler is the declaration its RPCs run.
type (
	pointerReceiver struct{}
	valueReceiver   struct{}
	embedsValue     struct{ valueReceiver }
	embedsPointer   struct{ *pointerReceiver }
	embedsTwice     struct{ embedsValue }
	// deeperFirst and deeperLast get Check from *pointerReceiver, one
	// level down, not from valueReceiver, two levels down.
	deeperFirst struct {
		embedsValue
		*pointerReceiver
	}
	deeperLast struct {
		*pointerReceiver
		embedsValue
	}
	shadows          struct{ valueReceiver }
	embedsInterface  struct{ checker }
	withoutTheMethod struct{}
	checker          interface{ Check() }
)

func (*pointerReceiver) Check() {}
func (valueReceiver) Check()    {}
func (shadows) Check()          {}

func TestHandlerSiteIsTheImplementationsMethod(t *testing.T) {
	const pkg = "github.com/ctxguard/ctxguard/middleware/grpcguard_test."
	for _, c := range []struct {
		name string
		srv  any
		fn   string // "" for an unknown site
		decl string
	}{
		{"pointer receiver", &pointerReceiver{}, pkg + "(*pointerReceiver).Check", "func (*pointerReceiver) Check()"},
		{"value receiver", valueReceiver{}, pkg + "valueReceiver.Check", "func (valueReceiver) Check()"},
		{"value receiver through a pointer", &valueReceiver{}, pkg + "valueReceiver.Check", "func (valueReceiver) Check()"},
		{"promoted from an embedded value", &embedsValue{}, pkg + "valueReceiver.Check", "func (valueReceiver) Check()"},
		{"promoted from an embedded pointer", &embedsPointer{}, pkg + "(*pointerReceiver).Check", "func (*pointerReceiver) Check()"},
		{"promoted twice", embedsTwice{}, pkg + "valueReceiver.Check", "func (valueReceiver) Check()"},
		{"promoted from the shallower of two, listed last", &deeperFirst{}, pkg + "(*pointerReceiver).Check", "func (*pointerReceiver) Check()"},
		{"promoted from the shallower of two, listed first", &deeperLast{}, pkg + "(*pointerReceiver).Check", "func (*pointerReceiver) Check()"},
		{"declared over an embedded one", &shadows{}, pkg + "shadows.Check", "func (shadows) Check()"},
		{"from an embedded interface", &embedsInterface{}, "", ""},
		{"not implemented", &withoutTheMethod{}, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newMonitor(t)
			info := &grpc.UnaryServerInfo{Server: c.srv, FullMethod: "/test.Service/Check"}
			for range 2 { // resolved on the first RPC, cached for the second
				grpcguard.UnaryServerInterceptor(grpcguard.WithMonitor(m))(context.Background(), nil, info,
					func(context.Context, any) (any, error) {
						site := entry(m.Snapshot(), info.FullMethod, info.FullMethod).Site
						if c.fn == "" {
							if site.Function != "(unknown)" || site.File != "" {
								t.Errorf("site = %s (%s), want (unknown)", site, site.Function)
							}
						} else {
							wantSite(t, site, c.fn, "site_test.go", c.decl)
						}
						return nil, nil
					})
			}
		})
	}
}
