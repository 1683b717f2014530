package grpcguard_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/ctxguard/ctxguard/ctxguard"
)

// A service whose RPCs are not named in UpperCamelCase in its .proto
// file, as protoc-gen-go-grpc generates it: the descriptor has the
// method's name as written (it is the full method's last element), the
// Go interface its Go name, which protoc-gen-go makes by GoCamelCase.
//
//	service Users {
//	  rpc get_user(google.protobuf.StringValue) returns (google.protobuf.StringValue);
//	  rpc listUsers(google.protobuf.StringValue) returns (google.protobuf.StringValue);
//	}
type usersServer interface {
	GetUser(context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error)
	ListUsers(context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error)
}

func _Users_get_user_Handler(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	in := new(wrapperspb.StringValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: "/test.Users/get_user"}
	handler := func(ctx context.Context, req any) (any, error) {
		return srv.(usersServer).GetUser(ctx, req.(*wrapperspb.StringValue))
	}
	return interceptor(ctx, in, info, handler)
}

func _Users_listUsers_Handler(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	in := new(wrapperspb.StringValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: "/test.Users/listUsers"}
	handler := func(ctx context.Context, req any) (any, error) {
		return srv.(usersServer).ListUsers(ctx, req.(*wrapperspb.StringValue))
	}
	return interceptor(ctx, in, info, handler)
}

var usersServiceDesc = grpc.ServiceDesc{
	ServiceName: "test.Users",
	HandlerType: (*usersServer)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "get_user", Handler: _Users_get_user_Handler},
		{MethodName: "listUsers", Handler: _Users_listUsers_Handler},
	},
	Metadata: "users.proto",
}

// users answers each RPC with the site its handler is tracked at.
type users struct{ m *ctxguard.Monitor }

func (u *users) GetUser(ctx context.Context, _ *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	return u.site("/test.Users/get_user"), nil
}

func (u *users) ListUsers(ctx context.Context, _ *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	return u.site("/test.Users/listUsers"), nil
}

func (u *users) site(method string) *wrapperspb.StringValue {
	s := entry(u.m.Snapshot(), method, method).Site
	return wrapperspb.String(s.Function + " " + s.String())
}

// A handler is sited at the implementation's method whatever the case of
// the RPC's name in the .proto file: the Go method is its Go name.
func TestHandlerSiteOfRPCsNotNamedInCamelCase(t *testing.T) {
	m := newMonitor(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(guarded(m)...)
	srv.RegisterService(&usersServiceDesc, &users{m})
	go srv.Serve(lis)
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const pkg = "github.com/ctxguard/ctxguard/middleware/grpcguard_test."
	for _, c := range []struct{ method, fn, decl string }{
		{"/test.Users/get_user", pkg + "(*users).GetUser", "func (u *users) GetUser("},
		{"/test.Users/listUsers", pkg + "(*users).ListUsers", "func (u *users) ListUsers("},
	} {
		out := new(wrapperspb.StringValue)
		if err := conn.Invoke(context.Background(), c.method, wrapperspb.String("x"), out); err != nil {
			t.Fatalf("%s: %v", c.method, err)
		}
		want := declaration(t, "methodname_test.go", c.decl)
		if wantText := fmt.Sprintf("%s github.com/ctxguard/ctxguard/middleware/grpcguard/methodname_test.go:%d", c.fn, want.Line); out.Value != wantText {
			t.Errorf("%s: handler sited at %q, want %q", c.method, out.Value, wantText)
		}
	}
}
