package component_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/httpx"
	"github.com/connkit/connkit/oauth"
)

const sentinel = "s3cr3t-SENTINEL-value"

// fakeTokens is an honest fake of an OAuth token source: it hands out the
// current token and, when the API rejects it, mints the next one.
type fakeTokens struct {
	mu          sync.Mutex
	n           int
	current     string
	cached      *oauth.Token // like the real source, a valid token is handed out without allocating
	invalidates int
	err         error
}

func (f *fakeTokens) Token(context.Context) (*oauth.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	if f.cached == nil || f.cached.AccessToken.Reveal() != f.current {
		f.cached = &oauth.Token{AccessToken: connection.NewSecret(f.current), TokenType: "bearer", Expiry: time.Now().Add(time.Hour)}
	}
	return f.cached, nil
}

func (f *fakeTokens) Invalidate(_ context.Context, rejected connection.Secret) (*oauth.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invalidates++
	if rejected.Reveal() == f.current {
		f.n++
		f.current = fmt.Sprintf("token-%d", f.n)
	}
	return &oauth.Token{AccessToken: connection.NewSecret(f.current), TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
}

var (
	bearerType = connection.MustDeclare(connection.Type{
		Key:    "acme-oauth",
		OAuth2: &connection.OAuth2{AuthorizeURL: "https://auth.example.com/authorize", TokenURL: "https://auth.example.com/token"},
	})
	headerType = connection.MustDeclare(connection.Type{
		Key:    "acme-key",
		Fields: []connection.Field{{Key: "apiKey", Kind: connection.KindPassword, Required: true}},
		Auth:   connection.Auth{Method: connection.AuthHeader, Field: "apiKey", Header: "X-API-Key", Prefix: "Key "},
	})
	queryType = connection.MustDeclare(connection.Type{
		Key:    "acme-query",
		Fields: []connection.Field{{Key: "apiKey", Kind: connection.KindPassword, Required: true}},
		Auth:   connection.Auth{Method: connection.AuthQuery, Field: "apiKey", Param: "api_key"},
	})
	basicType = connection.MustDeclare(connection.Type{
		Key: "acme-basic",
		Fields: []connection.Field{
			{Key: "username", Required: true},
			{Key: "password", Kind: connection.KindPassword, Required: true},
		},
		Auth: connection.Auth{Method: connection.AuthBasic, UsernameField: "username", PasswordField: "password"},
	})
)

// loopback lets the guarded transport reach httptest servers on 127.0.0.1.
func loopback() http.RoundTripper { return httpx.NewTransport(httpx.Config{AllowPrivate: true}) }

func newConn(t *testing.T, typ connection.Type, vals map[string]string, tokens component.TokenSource, exec *component.Execution, logger *slog.Logger) *component.Conn {
	t.Helper()
	tr := loopback()
	t.Cleanup(func() { tr.(*http.Transport).CloseIdleConnections() })
	return component.NewConn(component.ConnConfig{
		Ref:       connection.Ref{InstanceID: "inst-1", Variable: "Acme"},
		ID:        "conn-1",
		Type:      typ,
		Values:    connection.ValuesOf(vals),
		Tokens:    tokens,
		Transport: tr,
		Retry:     component.Retry{WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond},
		Execution: exec,
		Logger:    logger,
	})
}

func TestAuthMethodsApplied(t *testing.T) {
	type seen struct{ Auth, Key, Query string }
	var got seen
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = seen{Auth: r.Header.Get("Authorization"), Key: r.Header.Get("X-API-Key"), Query: r.URL.RawQuery}
	}))
	defer api.Close()
	cases := []struct {
		name string
		typ  connection.Type
		vals map[string]string
		want seen
	}{
		{"bearer", bearerType, nil, seen{Auth: "Bearer token-0"}},
		{"header", headerType, map[string]string{"apiKey": "k1"}, seen{Key: "Key k1"}},
		{"query", queryType, map[string]string{"apiKey": "k2"}, seen{Query: "api_key=k2&page=2"}},
		{"basic", basicType, map[string]string{"username": "u", "password": "p"}, seen{Auth: "Basic dTpw"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got = seen{}
			c := newConn(t, tc.typ, tc.vals, &fakeTokens{current: "token-0"}, nil, nil)
			req, _ := http.NewRequest(http.MethodGet, api.URL+"/v1/things?page=2", nil)
			before := req.URL.String()
			resp, err := c.HTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if tc.name != "query" {
				tc.want.Query = "page=2"
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("request seen by the API (-want +got):\n%s", diff)
			}
			if req.URL.String() != before || len(req.Header) != 0 {
				t.Errorf("caller's request was mutated: %s %v", req.URL, req.Header)
			}
		})
	}
}

func TestUnauthorizedRefreshesOnceAndRetries(t *testing.T) {
	var calls atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		if string(body) != "payload" {
			t.Errorf("body %q, want payload on every attempt", body)
		}
		if r.Header.Get("Authorization") != "Bearer token-1" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer api.Close()
	tokens := &fakeTokens{current: "token-0"}
	var statuses []connection.Status
	exec := component.NewExecution(func(_ context.Context, _ string, _ connection.Ref, s connection.Status, _ string) {
		statuses = append(statuses, s)
	})
	c := newConn(t, bearerType, nil, tokens, exec, nil)
	resp, err := c.HTTPClient().Post(api.URL, "text/plain", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || calls.Load() != 2 || tokens.invalidates != 1 {
		t.Fatalf("status %d, API calls %d, invalidations %d; want 200, 2, 1", resp.StatusCode, calls.Load(), tokens.invalidates)
	}
	if diff := cmp.Diff([]connection.Status{connection.StatusWorking}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

func TestUnauthorizedTwiceMarksRed(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer api.Close()
	var reasons []string
	exec := component.NewExecution(func(_ context.Context, _ string, _ connection.Ref, s connection.Status, reason string) {
		reasons = append(reasons, string(s)+": "+reason)
	})
	tokens := &fakeTokens{current: "token-0"}
	c := newConn(t, bearerType, nil, tokens, exec, nil)
	resp, err := c.HTTPClient().Get(api.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if tokens.invalidates != 1 {
		t.Errorf("invalidations = %d, want 1", tokens.invalidates)
	}
	host := strings.TrimPrefix(api.URL, "http://")
	if diff := cmp.Diff([]string{"error: " + host + " answered HTTP 401"}, reasons); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
}

func TestRetries(t *testing.T) {
	t.Run("429 honours Retry-After then succeeds", func(t *testing.T) {
		var calls atomic.Int32
		var first, second time.Time
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				first = time.Now()
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			second = time.Now()
		}))
		defer api.Close()
		tr := loopback()
		defer tr.(*http.Transport).CloseIdleConnections()
		c := component.NewConn(component.ConnConfig{ID: "c", Type: headerType, Values: connection.ValuesOf(map[string]string{"apiKey": "k"}),
			Transport: tr, Retry: component.Retry{WaitMin: time.Millisecond, WaitMax: 2 * time.Second}})
		resp, err := c.HTTPClient().Get(api.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if calls.Load() != 2 || resp.StatusCode != 200 {
			t.Fatalf("calls %d status %d, want 2 and 200", calls.Load(), resp.StatusCode)
		}
		if d := second.Sub(first); d < 900*time.Millisecond {
			t.Errorf("retried after %v, want about Retry-After: 1s", d)
		}
	})
	for _, tc := range []struct {
		name      string
		method    string
		body      io.Reader
		wantCalls int32
	}{
		{"GET 503 is retried", http.MethodGet, nil, 3},
		{"POST with a non-replayable body is not", http.MethodPost, io.NopCloser(strings.NewReader("x")), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) < 3 {
					w.WriteHeader(http.StatusServiceUnavailable)
				}
			}))
			defer api.Close()
			c := newConn(t, headerType, map[string]string{"apiKey": "k"}, nil, nil, nil)
			req, _ := http.NewRequest(tc.method, api.URL, tc.body)
			resp, err := c.HTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if calls.Load() != tc.wantCalls {
				t.Errorf("calls = %d, want %d", calls.Load(), tc.wantCalls)
			}
		})
	}
}

// closeTracker records whether a request body was closed.
type closeTracker struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeTracker) Close() error { c.closed.Store(true); return nil }

func TestBodiesClosedOnEveryPath(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	defer api.Close()
	for _, tc := range []struct {
		name   string
		typ    connection.Type
		vals   map[string]string
		tokens component.TokenSource
	}{
		{"success", headerType, map[string]string{"apiKey": "k"}, nil},
		{"missing credential", headerType, nil, nil},
		{"token error", bearerType, nil, &fakeTokens{err: oauth.ErrNotConnected}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConn(t, tc.typ, tc.vals, tc.tokens, nil, nil)
			body := &closeTracker{Reader: strings.NewReader("data")}
			req, _ := http.NewRequest(http.MethodPost, api.URL, body)
			resp, err := c.HTTPClient().Do(req)
			if err == nil {
				resp.Body.Close()
			}
			if !body.closed.Load() {
				t.Error("request body not closed")
			}
		})
	}
}

func TestOneStatusWritePerExecution(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer api.Close()
	var writes atomic.Int32
	exec := component.NewExecution(func(context.Context, string, connection.Ref, connection.Status, string) { writes.Add(1) })
	c := newConn(t, headerType, map[string]string{"apiKey": "k"}, nil, exec, nil)
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			resp, err := c.HTTPClient().Get(api.URL)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	if writes.Load() != 1 {
		t.Fatalf("status writes = %d, want 1", writes.Load())
	}
	if exec.Reported("conn-1") != connection.StatusWorking {
		t.Errorf("reported %q, want working", exec.Reported("conn-1"))
	}
}

func TestSecretsNeverInErrorsOrLogs(t *testing.T) {
	// A closed port: every request fails at dial time.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		logger := slog.New(h)
		for _, tc := range []struct {
			name   string
			typ    connection.Type
			vals   map[string]string
			tokens component.TokenSource
		}{
			{"header", headerType, map[string]string{"apiKey": sentinel}, nil},
			{"query", queryType, map[string]string{"apiKey": sentinel}, nil},
			{"token", bearerType, nil, &fakeTokens{current: sentinel}},
			{"provider error", bearerType, nil, &fakeTokens{err: &oauth.TokenError{Op: "refresh", Code: "invalid_grant", Description: "bad"}}},
		} {
			c := newConn(t, tc.typ, tc.vals, tc.tokens, nil, logger)
			_, err := c.HTTPClient().Get(deadURL + "/x?user=" + "visible")
			if err == nil {
				t.Fatalf("%s: request to a closed port succeeded", tc.name)
			}
			if strings.Contains(err.Error(), sentinel) || strings.Contains(fmt.Sprintf("%+v", err), sentinel) {
				t.Errorf("%s: error contains the secret: %v", tc.name, err)
			}
		}
	}
	if strings.Contains(logs.String(), sentinel) {
		t.Errorf("logs contain the secret:\n%s", logs.String())
	}
	if logs.Len() == 0 {
		t.Error("expected retry logs from failed requests; got none (is the logger wired?)")
	}
}

func TestCredentialsNotSentToOtherHostOnRedirect(t *testing.T) {
	var leaked atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("X-API-Key") + r.Header.Get("Authorization"))
	}))
	defer other.Close()
	// 127.0.0.1 vs localhost: different hosts for the redirect policy.
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherURL+"/landing", http.StatusFound)
	}))
	defer api.Close()
	c := newConn(t, headerType, map[string]string{"apiKey": sentinel}, nil, nil, nil)
	resp, err := c.HTTPClient().Get(api.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if v, _ := leaked.Load().(string); v != "" {
		t.Fatalf("credential sent to the redirect target: %q", v)
	}
}

func TestGuardedByDefault(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer api.Close()
	c := component.NewConn(component.ConnConfig{ID: "c", Type: headerType, Values: connection.ValuesOf(map[string]string{"apiKey": "k"}),
		Retry: component.Retry{Max: -1}})
	_, err := c.HTTPClient().Get(api.URL)
	if !errors.Is(err, httpx.ErrBlocked) {
		t.Fatalf("request to loopback with the default transport: err = %v, want ErrBlocked", err)
	}
}
