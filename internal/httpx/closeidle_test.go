package httpx

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// connCountingServer is an httptest server that counts the connections
// clients open to it.
type connCountingServer struct {
	*httptest.Server
	conns atomic.Int32
}

func newConnCountingServer(t *testing.T, h http.HandlerFunc) *connCountingServer {
	t.Helper()
	s := &connCountingServer{Server: httptest.NewUnstartedServer(h)}
	s.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// The base transport is shared by every connection of a host: one API
// failing until retries run out must not close the idle connections kept
// for all the others, as go-retryablehttp does to its client's transport.
// The client's own CloseIdleConnections still closes them.
func TestFailureKeepsOtherIdleConnections(t *testing.T) {
	healthy := newConnCountingServer(t, okHandler)
	failing := newScriptServer(t)
	malformed := rawServer(t, func(c net.Conn, _ <-chan struct{}) {
		readRequest(c)
		_, _ = io.WriteString(c, "garbage\r\n\r\n")
	})
	tests := []struct {
		name   string
		script []step
		url    string // default failing.URL
		// cancelInWait ends the request's context when the client starts
		// waiting before a retry, whenever that is (no timer that a loaded
		// machine could make fire before the first answer arrives).
		cancelInWait bool
	}{
		{name: "503 until retries run out", script: []step{{code: 503}}},
		{name: "hang-up until retries run out", script: []step{{code: hangUp}}},
		{name: "503 then 501", script: []step{{code: 503}, {code: 501}}},
		{name: "permanent error on the first attempt", url: "http://" + malformed + "/"},
		{name: "context ends during the wait", script: []step{{code: 429, retryAfter: "10"}}, cancelInWait: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shared := privateTransport(t)
			healthy.conns.Store(0)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var waits atomic.Int32
			cfg := RetryConfig{RetryMax: 2, WaitMin: time.Millisecond, WaitMax: time.Second}
			if tt.cancelInWait {
				cfg.Backoff = func(wmin, wmax time.Duration, attempt int, resp *http.Response) time.Duration {
					waits.Add(1)
					cancel()
					return wmax
				}
			}
			c := newRetryClient(t, shared, cfg)
			if code, _, err := get(t, c, healthy.URL); err != nil || code != 200 {
				t.Fatalf("GET healthy = %d, %v", code, err)
			}
			failing.reset(tt.script)
			target := tt.url
			if target == "" {
				target = failing.URL
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
			resp, err := c.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if tt.cancelInWait && (waits.Load() != 1 || !errors.Is(err, context.Canceled)) {
				t.Fatalf("waits before a retry = %d, error = %v; want 1 wait ended by the context", waits.Load(), err)
			}
			if code, _, err := get(t, c, healthy.URL); err != nil || code != 200 {
				t.Fatalf("GET healthy again = %d, %v", code, err)
			}
			if n := healthy.conns.Load(); n != 1 {
				t.Errorf("connections opened to the healthy server = %d, want 1 (the failure closed its idle connection)", n)
			}
			before := healthy.conns.Load()
			c.CloseIdleConnections()
			if code, _, err := get(t, c, healthy.URL); err != nil || code != 200 {
				t.Fatalf("GET healthy after CloseIdleConnections = %d, %v", code, err)
			}
			if n := healthy.conns.Load(); n != before+1 {
				t.Errorf("connections opened to the healthy server = %d, want %d: the client's CloseIdleConnections did not close the pool", n, before+1)
			}
		})
	}
}
