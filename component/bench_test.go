package component_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
// Authorization header, against one loopback server in the same run.
func BenchmarkClient(b *testing.B) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer api.Close()
	run := func(b *testing.B, do func() (*http.Response, error)) {
		b.ReportAllocs()
		for b.Loop() {
			resp, err := do()
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
		tr := loopback()
		defer tr.(*http.Transport).CloseIdleConnections()
		client := &http.Client{Transport: tr}
		run(b, func() (*http.Response, error) {
			req, _ := http.NewRequest(http.MethodGet, api.URL, nil)
			req.Header.Set("Authorization", "Bearer static-token")
			return client.Do(req)
		})
	})
	b.Run("connkit", func(b *testing.B) {
		tr := loopback()
		defer tr.(*http.Transport).CloseIdleConnections()
		c := component.NewConn(component.ConnConfig{ID: "c", Type: bearerType, Tokens: &fakeTokens{current: "static-token"}, Transport: tr,
			Execution: component.NewExecution(nil)})
		client := c.HTTPClient()
		run(b, func() (*http.Response, error) {
			req, _ := http.NewRequest(http.MethodGet, api.URL, nil)
			return client.Do(req)
		})
	})
}

