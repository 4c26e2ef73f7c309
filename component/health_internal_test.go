package component

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/connkit/connkit/connection"
)

type stubRT func(*http.Request) (*http.Response, error)

func (f stubRT) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// After its first report, a connection's client no longer consults the
// execution at all: requests go through while the execution's lock is held.
func TestHealthReportedOnceThenLockFree(t *testing.T) {
	base := stubRT(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	})
	reports := 0
	exec := NewExecution(func(context.Context, string, connection.Ref, connection.Status, string) { reports++ })
	typ := connection.MustDeclare(connection.Type{
		Key:    "k",
		Fields: []connection.Field{{Key: "apiKey", Kind: connection.KindPassword, Required: true}},
		Auth:   connection.Auth{Method: connection.AuthHeader, Field: "apiKey", Header: "X-API-Key"},
	})
	c := NewConn(ConnConfig{ID: "c", Type: typ, Values: connection.ValuesOf(map[string]string{"apiKey": "k"}), Transport: base, Execution: exec})
	get := func() error {
		resp, err := c.HTTPClient().Get("https://api.example.com/")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}
	if reports != 1 || exec.Reported("c") != connection.StatusWorking {
		t.Fatalf("after the first request: %d reports, status %q; want 1, working", reports, exec.Reported("c"))
	}
	exec.mu.Lock()
	done := make(chan error, 1)
	go func() { done <- get() }()
	select {
	case err := <-done:
		exec.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		// Real time, not testing/synctest: a goroutine waiting for a
		// sync.Mutex is not durably blocked, so a bubble's clock would
		// never reach the bound. A request that waits for the lock waits
		// forever, so a generous bound catches it as surely as a short one.
		exec.mu.Unlock()
		<-done
		t.Fatal("a request after the first report waited for the execution's lock")
	}
	if reports != 1 {
		t.Errorf("%d reports, want 1", reports)
	}
}
