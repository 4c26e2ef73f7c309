package component_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
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
	// invalidateErr, when set, is what Invalidate fails with.
	invalidateErr error
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
	if f.invalidateErr != nil {
		return nil, f.invalidateErr
	}
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
	// On testing/synctest's clock, with a base transport that needs no
	// sockets: the wait is measured exactly, however loaded the machine.
	t.Run("429 honours Retry-After then succeeds", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var times []time.Duration
			start := time.Now()
			base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				times = append(times, time.Since(start))
				if len(times) == 1 {
					return answer(r, http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}), nil
				}
				return answer(r, http.StatusOK, nil), nil
			})
			c := component.NewConn(component.ConnConfig{ID: "c", Type: headerType, Values: connection.ValuesOf(map[string]string{"apiKey": "k"}),
				Transport: base, Retry: component.Retry{WaitMin: time.Millisecond, WaitMax: 2 * time.Second}})
			resp, err := c.HTTPClient().Get("https://api.example.com/v1")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status %d, want 200", resp.StatusCode)
			}
			if diff := cmp.Diff([]time.Duration{0, time.Second}, times); diff != "" {
				t.Errorf("attempt times (-want +got), want the retry after Retry-After: 1s:\n%s", diff)
			}
		})
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
			// The provider echoes the client secret, which the Conn's
			// values hold, in its error code and description.
			{"provider error", bearerType, map[string]string{"clientId": "app", "clientSecret": sentinel},
				&fakeTokens{err: &oauth.TokenError{Op: "refresh", StatusCode: 400, Code: "bad_" + sentinel,
					Description: "client_secret " + sentinel + " is not valid"}}},
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

// roundTripFunc adapts a function to http.RoundTripper, as a base transport
// that needs no sockets (so testing/synctest's clock can advance).
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func answer(r *http.Request, code int, header http.Header) *http.Response {
	if header == nil {
		header = http.Header{}
	}
	return &http.Response{StatusCode: code, Header: header, Body: io.NopCloser(strings.NewReader("")), Request: r}
}

// The first attempt goes straight to the base transport; a retryable
// answer is then retried with the same waits and attempts as always, every
// attempt authenticated.
func TestFirstAttemptThenRetries(t *testing.T) {
	t.Run("Retry-After on the first answer", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var auths []string
			var times []time.Duration
			start := time.Now()
			base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				auths = append(auths, r.Header.Get("Authorization"))
				times = append(times, time.Since(start))
				if len(auths) == 1 {
					return answer(r, http.StatusServiceUnavailable, http.Header{"Retry-After": {"2"}}), nil
				}
				return answer(r, http.StatusOK, nil), nil
			})
			var statuses []connection.Status
			exec := component.NewExecution(func(_ context.Context, _ string, _ connection.Ref, s connection.Status, _ string) {
				statuses = append(statuses, s)
			})
			c := component.NewConn(component.ConnConfig{ID: "c", Type: bearerType, Tokens: &fakeTokens{current: "token-0"}, Transport: base,
				Retry: component.Retry{WaitMin: 10 * time.Millisecond, WaitMax: 5 * time.Second}, Execution: exec})
			resp, err := c.HTTPClient().Get("https://api.example.com/v1")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status %d, want 200", resp.StatusCode)
			}
			if diff := cmp.Diff([]time.Duration{0, 2 * time.Second}, times); diff != "" {
				t.Errorf("attempt times (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"Bearer token-0", "Bearer token-0"}, auths); diff != "" {
				t.Errorf("Authorization per attempt (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]connection.Status{connection.StatusWorking}, statuses); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
		})
	})
	t.Run("503 until retries run out", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var calls int
			base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				calls++
				return answer(r, http.StatusServiceUnavailable, nil), nil
			})
			var reports atomic.Int32
			exec := component.NewExecution(func(context.Context, string, connection.Ref, connection.Status, string) { reports.Add(1) })
			c := component.NewConn(component.ConnConfig{ID: "c", Type: headerType, Values: connection.ValuesOf(map[string]string{"apiKey": "k"}),
				Transport: base, Retry: component.Retry{WaitMin: time.Second, WaitMax: time.Second}, Execution: exec})
			start := time.Now()
			resp, err := c.HTTPClient().Get("https://api.example.com/v1")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable || calls != 4 {
				t.Errorf("status %d after %d calls, want the last 503 after 4 (1 + 3 retries)", resp.StatusCode, calls)
			}
			if d := time.Since(start); d != 3*time.Second {
				t.Errorf("took %v, want 3 waits of 1s", d)
			}
			if reports.Load() != 0 {
				t.Errorf("%d health reports for a 503, want none", reports.Load())
			}
		})
	})
}

// The request authTransport sends is a copy: the caller's request, header
// values included, is the same afterwards, and nothing done to a returned
// response's Request reaches the next request.
func TestCallerRequestUntouched(t *testing.T) {
	type seen struct{ Auth, Trace, Accept string }
	var got []seen
	var mu sync.Mutex
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, seen{r.Header.Get("Authorization"), strings.Join(r.Header.Values("X-Trace"), ","), r.Header.Get("Accept")})
		mu.Unlock()
	}))
	defer api.Close()
	tokens := &fakeTokens{current: "token-A"}
	// The base transport (a host's, say) scribbles on the request it is
	// sent, after sending it: that must reach neither the caller's request
	// nor the next request.
	lb := loopback()
	t.Cleanup(lb.(*http.Transport).CloseIdleConnections)
	scribbler := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := lb.RoundTrip(r)
		r.Header["Authorization"][0] = "Bearer scribbled"
		r.Header["X-Trace"] = append(r.Header["X-Trace"], "appended")
		return resp, err
	})
	c := component.NewConn(component.ConnConfig{ID: "c", Type: bearerType, Tokens: tokens, Transport: scribbler, Retry: component.Retry{Max: -1}})
	trace := make([]string, 1, 4) // spare capacity an append could write into
	trace[0] = "t1"
	req, _ := http.NewRequest(http.MethodGet, api.URL+"/v1?x=1", nil)
	req.Header["X-Trace"] = trace
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer caller")
	wantHeader, wantURL := req.Header.Clone(), req.URL.String()
	resp, err := c.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if diff := cmp.Diff(wantHeader, req.Header); diff != "" || req.URL.String() != wantURL {
		t.Errorf("caller's request changed: URL %s, header (-before +after):\n%s", req.URL, diff)
	}
	if spare := trace[:2][1]; spare != "" {
		t.Errorf("append to the sent request's header reached the caller's backing array: %q", spare)
	}
	if resp.Request != req {
		t.Errorf("resp.Request is not the caller's request")
	}
	// Nor may a new token be ignored.
	tokens.mu.Lock()
	tokens.current = "token-B"
	tokens.mu.Unlock()
	for range 2 {
		r2, _ := http.NewRequest(http.MethodGet, api.URL, nil)
		resp, err := c.HTTPClient().Do(r2)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	want := []seen{
		{Auth: "Bearer token-A", Trace: "t1", Accept: "application/json"},
		{Auth: "Bearer token-B"},
		{Auth: "Bearer token-B"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests seen by the API (-want +got):\n%s", diff)
	}
}

// Health: only the first HTTP outcome that reports anything is written,
// whatever comes after it, in every order.
func TestHealthFirstOutcomeOnly(t *testing.T) {
	for _, tc := range []struct {
		name     string
		codes    []int
		tokenErr error // returned by the token source for the first request
		want     []string
	}{
		{"404 reports nothing, then 200 green, then 403 ignored", []int{404, 200, 403}, nil, []string{"working"}},
		{"403 red, then 200 ignored", []int{403, 200, 200}, nil, []string{"error"}},
		{"500 reports nothing", []int{500, 500}, nil, nil},
		{"refused refresh red, then 200 ignored", []int{200, 200}, oauth.ErrReconnect, []string{"error"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reports []string
			exec := component.NewExecution(func(_ context.Context, _ string, _ connection.Ref, s connection.Status, _ string) {
				reports = append(reports, string(s))
			})
			i := 0
			base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				code := tc.codes[i]
				i++
				return answer(r, code, nil), nil
			})
			tokens := &fakeTokens{current: "token-0", err: tc.tokenErr}
			c := component.NewConn(component.ConnConfig{ID: "c", Type: bearerType, Tokens: tokens, Transport: base,
				Retry: component.Retry{Max: -1}, Execution: exec})
			for range len(tc.codes) {
				resp, err := c.HTTPClient().Get("https://api.example.com/v1")
				if err == nil {
					resp.Body.Close()
				}
				tokens.mu.Lock()
				tokens.err = nil
				tokens.mu.Unlock()
			}
			if diff := cmp.Diff(tc.want, reports); diff != "" {
				t.Errorf("reports (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHappyPathAllocations holds the authenticated layers (authTransport
// and the retrying transport) to their allocation budget for a request that
// succeeds at once: the copy of the request (with the backing array of the
// credential header's value) and its header map. No closures, no
// formatting, no health bookkeeping.
func TestHappyPathAllocations(t *testing.T) {
	resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody}
	base := roundTripFunc(func(*http.Request) (*http.Response, error) { return resp, nil })
	for _, tc := range []struct {
		name   string
		typ    connection.Type
		vals   map[string]string
		tokens component.TokenSource
	}{
		{"bearer", bearerType, nil, &fakeTokens{current: "token-0"}},
		{"header", headerType, map[string]string{"apiKey": "k"}, nil},
	} {
		c := component.NewConn(component.ConnConfig{ID: "c", Type: tc.typ, Values: connection.ValuesOf(tc.vals), Tokens: tc.tokens, Transport: base,
			Execution: component.NewExecution(func(context.Context, string, connection.Ref, connection.Status, string) {})})
		tr := c.HTTPClient().Transport
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/v1", nil)
		req.Header.Set("Accept", "application/json")
		allocs := testing.AllocsPerRun(200, func() {
			if _, err := tr.RoundTrip(req); err != nil {
				t.Fatal(err)
			}
		})
		// The request copy, the header map and the map's first group.
		const budget = 3
		if allocs > budget {
			t.Errorf("%s: %v allocations per request, want at most %d", tc.name, allocs, budget)
		}
	}
}

// staticTokens hands out one token.
type staticTokens struct{ tok *oauth.Token }

func (s staticTokens) Token(context.Context) (*oauth.Token, error) { return s.tok, nil }
func (s staticTokens) Invalidate(context.Context, connection.Secret) (*oauth.Token, error) {
	return s.tok, nil
}

// The access token goes in the Bearer scheme whatever the token response's
// token_type says (Slack's "bot" tokens are accepted only as "Bearer").
func TestBearerSchemeWhateverTokenType(t *testing.T) {
	for _, typ := range []string{"", "bearer", "Bearer", "bot", "user", "MAC"} {
		var got string
		base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			got = r.Header.Get("Authorization")
			return answer(r, http.StatusOK, nil), nil
		})
		tok := &oauth.Token{AccessToken: connection.NewSecret("xoxb-1"), TokenType: typ, Expiry: time.Now().Add(time.Hour)}
		c := component.NewConn(component.ConnConfig{ID: "c", Type: bearerType, Tokens: staticTokens{tok}, Transport: base})
		resp, err := c.HTTPClient().Get("https://api.example.com/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got != "Bearer xoxb-1" {
			t.Errorf("token_type %q: Authorization %q, want %q", typ, got, "Bearer xoxb-1")
		}
	}
}

// A provider's error that echoes a secret the Conn knows (a secret field's
// value, in any encoding the provider may have seen, or the access token
// the API just rejected) reaches neither the step's error, nor the
// *oauth.TokenError errors.As finds in it, nor the reported health; the
// error still matches what it matched.
func TestProviderErrorsRedacted(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte("app:" + sentinel))
	vals := map[string]string{"clientId": "app", "clientSecret": sentinel}
	rejected := "at-" + sentinel
	for _, tc := range []struct {
		name    string
		tokens  *fakeTokens
		status  int // the API's answer
		wantIs  error
		wantErr string // in the error, after redaction
	}{
		{"refresh refused, secret in the description", &fakeTokens{err: &oauth.TokenError{Op: "refresh", StatusCode: 401,
			Code: "invalid_client", Description: "client_secret=" + sentinel + " unknown"}}, 200, oauth.ErrMisconfigured,
			"invalid_client: client_secret=" + connection.Redacted + " unknown"},
		{"refresh refused, Basic credentials in the description", &fakeTokens{err: &oauth.TokenError{Op: "refresh", StatusCode: 401,
			Code: "invalid_client", Description: "bad Authorization: Basic " + basic}}, 200, oauth.ErrMisconfigured,
			"Basic " + connection.Redacted},
		{"refresh refused, secret in the code", &fakeTokens{err: &oauth.TokenError{Op: "refresh", StatusCode: 400,
			Code: sentinel, Description: "what"}}, 200, nil, "refresh failed: HTTP 400: " + connection.Redacted},
		{"secret in the cause", &fakeTokens{err: &oauth.TokenError{Op: "refresh",
			Err: fmt.Errorf("dial: %w: %s", context.DeadlineExceeded, url.QueryEscape(sentinel))}}, 200, context.DeadlineExceeded,
			"dial: " + context.DeadlineExceeded.Error() + ": " + connection.Redacted},
		{"rejected access token echoed by the renewal", &fakeTokens{current: rejected, invalidateErr: &oauth.TokenError{Op: "refresh",
			StatusCode: 400, Code: "invalid_grant", Description: "token " + rejected + " revoked"}}, 401, oauth.ErrReconnect,
			"invalid_grant: token " + connection.Redacted + " revoked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tc.status) }))
			defer api.Close()
			var reasons []string
			exec := component.NewExecution(func(_ context.Context, _ string, _ connection.Ref, _ connection.Status, reason string) {
				reasons = append(reasons, reason)
			})
			var logs bytes.Buffer
			c := newConn(t, bearerType, vals, tc.tokens, exec, slog.New(slog.NewTextHandler(&logs, nil)))
			resp, err := c.HTTPClient().Get(api.URL)
			if err == nil {
				resp.Body.Close()
				t.Fatal("request succeeded, want the token source's error")
			}
			for what, s := range map[string]string{"error": err.Error(), "error %+v": fmt.Sprintf("%+v", err),
				"health reasons": strings.Join(reasons, "\n"), "logs": logs.String()} {
				if strings.Contains(s, sentinel) || strings.Contains(s, basic) || strings.Contains(s, url.QueryEscape(sentinel)) {
					t.Errorf("%s contains the secret: %s", what, s)
				}
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not say %q", err, tc.wantErr)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v does not match %v", err, tc.wantIs)
			}
			te, ok := errors.AsType[*oauth.TokenError](err)
			if !ok {
				t.Fatalf("error %v holds no *oauth.TokenError", err)
			}
			if s := fmt.Sprintf("%s %s %v", te.Code, te.Description, te.Err); strings.Contains(s, sentinel) || strings.Contains(s, basic) {
				t.Errorf("the *oauth.TokenError errors.As finds holds the secret: %s", s)
			}
			for e := error(err); e != nil; e = errors.Unwrap(e) {
				if strings.Contains(e.Error(), sentinel) {
					t.Errorf("the error chain holds %T with the secret: %v", e, e)
				}
			}
			// A refused client or grant turns the connection red (and its
			// reason was checked above); another failure reports nothing.
			wantReports := 0
			if errors.Is(tc.wantIs, oauth.ErrMisconfigured) || errors.Is(tc.wantIs, oauth.ErrReconnect) {
				wantReports = 1
			}
			if len(reasons) != wantReports {
				t.Errorf("health reasons %q, want %d", reasons, wantReports)
			}
		})
	}
}
