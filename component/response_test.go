package component_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
)

// A response handed to a step carries the request the step made, never the
// copy that was sent with the credential: a step logging resp.Request.URL
// or resp.Request.Header must not log an API key or a token. (Review L7.)
func TestResponseRequestHasNoCredential(t *testing.T) {
	const key = "SUPERSECRET-api-key"
	// Path /503 answers 503 once, /401 answers 401 unless the token is
	// token-1, /redirect redirects to /final on the same host.
	var first503 atomic.Bool
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/503":
			if !first503.Swap(true) {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
		case "/401":
			if r.Header.Get("Authorization") != "Bearer token-1" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
		case "/redirect":
			http.Redirect(w, r, "/final?page=3", http.StatusFound)
			return
		}
		_, _ = fmt.Fprint(w, "ok")
	}))
	defer api.Close()

	types := []struct {
		name    string
		typ     connection.Type
		vals    map[string]string
		secrets []string // what must not appear on resp.Request
	}{
		{"query", queryType, map[string]string{"apiKey": key}, []string{key, "api_key"}},
		{"header", headerType, map[string]string{"apiKey": key}, []string{key}},
		{"basic", basicType, map[string]string{"username": "user", "password": key}, []string{key, "Basic "}},
		{"bearer", bearerType, nil, []string{"token-0", "token-1", "Bearer "}},
	}
	paths := []struct {
		name, path, wantPath string
		bearerOnly           bool
	}{
		{"first attempt", "/ok", "/ok", false},
		{"after a retried 503", "/503", "/503", false},
		{"after a same-host redirect", "/redirect", "/final", false},
		{"after the 401 retry with a new token", "/401", "/401", true},
	}
	for _, typ := range types {
		for _, p := range paths {
			if p.bearerOnly && typ.typ.Auth.Method != connection.AuthBearer {
				continue
			}
			t.Run(typ.name+"/"+p.name, func(t *testing.T) {
				first503.Store(false)
				c := newConn(t, typ.typ, typ.vals, &fakeTokens{current: "token-0"}, nil, nil)
				req, _ := http.NewRequest(http.MethodGet, api.URL+p.path+"?page=2", nil)
				req.Header.Set("Accept", "application/json")
				resp, err := c.HTTPClient().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d, want 200", resp.StatusCode)
				}
				got := resp.Request
				if got == nil {
					t.Fatal("resp.Request is nil")
				}
				if got.URL.Path != p.wantPath {
					t.Errorf("resp.Request.URL.Path = %q, want %q", got.URL.Path, p.wantPath)
				}
				if p.path == p.wantPath && got != req {
					t.Errorf("resp.Request is not the caller's request")
				}
				if v := got.URL.Query().Get("api_key"); v != "" {
					t.Errorf("resp.Request.URL carries api_key=%q", v)
				}
				for _, h := range []string{"Authorization", "X-Api-Key"} {
					if v := got.Header.Get(h); v != "" {
						t.Errorf("resp.Request.Header carries %s: %q", h, v)
					}
				}
				dump := fmt.Sprint(got.URL, " ", got.Header)
				for _, s := range typ.secrets {
					if strings.Contains(dump, s) {
						t.Errorf("resp.Request contains %q: %s", s, dump)
					}
				}
			})
		}
	}
}

func TestConnRedact(t *testing.T) {
	c := component.NewConn(component.ConnConfig{
		Type:   basicType,
		Values: connection.ValuesOf(map[string]string{"username": "alice", "password": "p@ss word"}),
	})
	basic := base64.StdEncoding.EncodeToString([]byte("alice:p@ss word"))
	in := "login alice failed: password p@ss word (p%40ss+word, " + basic + ")"
	got := c.Redact(in)
	for _, leak := range []string{"p@ss word", "p%40ss+word", basic} {
		if strings.Contains(got, leak) {
			t.Errorf("Redact(%q) = %q still contains %q", in, got, leak)
		}
	}
	if !strings.Contains(got, "login alice failed") {
		t.Errorf("Redact(%q) = %q removed a non-secret value", in, got)
	}
}
