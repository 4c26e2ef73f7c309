package component_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/connkit/connkit/component"
)

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// BenchmarkClient compares a request through a connection's authenticated
// client with the same request through a bare *http.Client that sets a static
// Authorization header, against one loopback server. Both run in the same
// loop, alternating, so machine load affects them alike; the benchmark
// reports each one's ns per request and their ratio.
func BenchmarkClient(b *testing.B) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer api.Close()
	bareTr, connTr := loopback().(*http.Transport), loopback().(*http.Transport)
	defer bareTr.CloseIdleConnections()
	defer connTr.CloseIdleConnections()
	bare := &http.Client{Transport: bareTr}
	c := component.NewConn(component.ConnConfig{ID: "c", Type: bearerType, Tokens: &fakeTokens{current: "static-token"}, Transport: connTr,
		Execution: component.NewExecution(nil)})
	authed := c.HTTPClient()
	do := func(client *http.Client, static bool) time.Duration {
		start := time.Now()
		req, _ := http.NewRequest(http.MethodGet, api.URL, nil)
		if static {
			req.Header.Set("Authorization", "Bearer static-token")
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return time.Since(start)
	}
	var tBare, tConn time.Duration
	i := 0
	for b.Loop() {
		if i%2 == 0 {
			tBare += do(bare, true)
			tConn += do(authed, false)
		} else {
			tConn += do(authed, false)
			tBare += do(bare, true)
		}
		i++
	}
	b.ReportMetric(float64(tBare.Nanoseconds())/float64(i), "bare-ns/req")
	b.ReportMetric(float64(tConn.Nanoseconds())/float64(i), "connkit-ns/req")
	b.ReportMetric(float64(tConn)/float64(tBare), "ratio")
}

// BenchmarkClientAllocs reports the allocations of one request through the
// authenticated client ("connkit") and, as the baseline, through a bare
// client that sets a static Authorization header ("bare"). Both counts
// include the loopback server's own allocations for the request, which are
// the same for both.
func BenchmarkClientAllocs(b *testing.B) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer api.Close()
	run := func(b *testing.B, client *http.Client, static bool) {
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequest(http.MethodGet, api.URL, nil)
			if static {
				req.Header.Set("Authorization", "Bearer static-token")
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	}
	b.Run("bare", func(b *testing.B) {
		tr := loopback().(*http.Transport)
		defer tr.CloseIdleConnections()
		run(b, &http.Client{Transport: tr}, true)
	})
	b.Run("connkit", func(b *testing.B) {
		tr := loopback().(*http.Transport)
		defer tr.CloseIdleConnections()
		c := component.NewConn(component.ConnConfig{ID: "c", Type: bearerType, Tokens: &fakeTokens{current: "static-token"}, Transport: tr,
			Execution: component.NewExecution(nil)})
		run(b, c.HTTPClient(), false)
	})
}

// BenchmarkClientOverhead measures what the authenticated client adds to a
// request without a network: both clients send to a transport that answers
// at once with a canned 200, so the difference between "bare" and
// "connkit" is the authenticated layers' own cost (authTransport, the
// retrying transport, the token source, health).
func BenchmarkClientOverhead(b *testing.B) {
	canned := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	})
	run := func(b *testing.B, client *http.Client, static bool) {
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/v1", nil)
			if static {
				req.Header.Set("Authorization", "Bearer static-token")
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	b.Run("bare", func(b *testing.B) { run(b, &http.Client{Transport: canned}, true) })
	b.Run("connkit", func(b *testing.B) {
		c := component.NewConn(component.ConnConfig{ID: "c", Type: bearerType, Tokens: &fakeTokens{current: "static-token"}, Transport: canned,
			Execution: component.NewExecution(nil)})
		run(b, c.HTTPClient(), false)
	})
}
