package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

// Every test in this package talks to loopback only: httptest servers on
// 127.0.0.x, closed loopback ports, or in-memory pipes. Non-loopback
// addresses are only ever given to the guard's decision function or to
// dials the guard refuses before connect(2); see ssrf_test.go.

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// hitServer is an httptest server on a chosen loopback address that counts
// requests.
type hitServer struct {
	*httptest.Server
	hits atomic.Int32
}

// newServerOn starts a server listening on ip (a loopback address) that
// counts hits and then runs h.
func newServerOn(t *testing.T, ip string, h http.HandlerFunc) *hitServer {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("listen on %s: %v", ip, err)
	}
	s := &hitServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	s.Listener.Close()
	s.Listener = ln
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// newServer starts a counting server on 127.0.0.1.
func newServer(t *testing.T, h http.HandlerFunc) *hitServer {
	t.Helper()
	return newServerOn(t, "127.0.0.1", h)
}

// port returns the server's port.
func (s *hitServer) port() string {
	_, p, _ := net.SplitHostPort(s.Listener.Addr().String())
	return p
}

func okHandler(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }

// closedPort returns a loopback port with nothing listening on it.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// staticResolver maps host names to addresses without DNS. A name it does
// not know fails the lookup, so a test can never reach a real resolver.
func staticResolver(m map[string]string) func(context.Context, string, string) ([]netip.Addr, error) {
	return func(_ context.Context, _, host string) ([]netip.Addr, error) {
		a, ok := m[host]
		if !ok {
			return nil, &net.DNSError{Err: "no such host (test resolver)", Name: host, IsNotFound: true}
		}
		return []netip.Addr{netip.MustParseAddr(a)}, nil
	}
}

// newTestTransport builds a transport from cfg and closes its idle
// connections when the test ends.
func newTestTransport(t *testing.T, cfg Config) *http.Transport {
	t.Helper()
	tr := NewTransport(cfg)
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// get performs a GET with c and returns status and body.
func get(t *testing.T, c *http.Client, url string) (int, string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, "", fmt.Errorf("read body: %w", err)
	}
	return resp.StatusCode, string(b), nil
}

// countingRT counts round trips through base.
type countingRT struct {
	base  http.RoundTripper
	calls atomic.Int32
}

func (c *countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.calls.Add(1)
	return c.base.RoundTrip(r)
}

func (c *countingRT) CloseIdleConnections() {
	if ci, ok := c.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// pipeNet is an in-memory network for tests inside a testing/synctest
// bubble, where real sockets would not let the fake clock advance: dials
// return one end of a net.Pipe and the listener accepts the other.
type pipeNet struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeNet() *pipeNet {
	return &pipeNet{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (p *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-p.conns:
		return c, nil
	case <-p.done:
		return nil, net.ErrClosed
	}
}

func (p *pipeNet) Close() error {
	p.once.Do(func() { close(p.done) })
	return nil
}

func (p *pipeNet) Addr() net.Addr { return pipeAddr{} }

func (p *pipeNet) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	cli, srv := net.Pipe()
	select {
	case p.conns <- srv:
		return cli, nil
	case <-p.done:
		return nil, errors.Join(cli.Close(), srv.Close(), net.ErrClosed)
	case <-ctx.Done():
		return nil, errors.Join(cli.Close(), srv.Close(), ctx.Err())
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// servePipe serves h over an in-memory network and returns a transport
// that dials it. Both are shut down when the test ends.
func servePipe(t *testing.T, h http.Handler) *http.Transport {
	t.Helper()
	pn := newPipeNet()
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(pn)
	}()
	tr := &http.Transport{DialContext: pn.DialContext}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		_ = srv.Close()
		<-done
	})
	return tr
}
