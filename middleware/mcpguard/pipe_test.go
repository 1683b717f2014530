package mcpguard_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"reflect"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// pipeTransport is one end of a net.Pipe carrying JSON-RPC messages, one
// per line, as the SDK's stdio transport does. Unlike the SDK's in-memory
// transport it lets a test cut the connection, as a client process that
// dies or an agent window closed mid-call does.
type pipeTransport struct{ conn net.Conn }

func newPipeTransports() (server, client *pipeTransport) {
	a, b := net.Pipe()
	return &pipeTransport{a}, &pipeTransport{b}
}

func (p *pipeTransport) Connect(context.Context) (mcp.Connection, error) {
	s := bufio.NewScanner(p.conn)
	s.Buffer(nil, 64<<20)
	return &pipeConn{conn: p.conn, in: s}, nil
}

type pipeConn struct {
	conn net.Conn
	in   *bufio.Scanner
	wmu  sync.Mutex
}

func (c *pipeConn) Read(context.Context) (jsonrpc.Message, error) {
	if !c.in.Scan() {
		if err := c.in.Err(); err != nil {
			return nil, err
		}
		return nil, io.EOF
	}
	return jsonrpc.DecodeMessage(c.in.Bytes())
}

func (c *pipeConn) Write(_ context.Context, msg jsonrpc.Message) error {
	data, err := jsonrpc.EncodeMessage(msg)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err = c.conn.Write(append(data, '\n'))
	return err
}

func (c *pipeConn) Close() error      { return c.conn.Close() }
func (c *pipeConn) SessionID() string { return "" }

// sdkCancelsOnDisconnect reports whether the go-sdk this test runs with
// ends the contexts of a session's calls in flight when the connection
// breaks: v1.7.0 and later do; before, only notifications/cancelled did.
// Test binaries carry no module versions, so it looks for a field that
// v1.7.0 added.
func sdkCancelsOnDisconnect() bool {
	_, ok := reflect.TypeFor[mcp.ServerOptions]().FieldByName("KeepAliveFailureThreshold")
	return ok
}
