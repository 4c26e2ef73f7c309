package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-retryablehttp"
)

// The retrying transport sends the first attempt of a request straight to
// the base transport and hands only retryable outcomes to go-retryablehttp.
// The tests here hold it to what it replaced: legacyRetryingClient is the
// previous implementation, in which go-retryablehttp ran every attempt,
// kept verbatim as the reference.

// legacyRetryingClient is NewRetryingClient as it was before the first
// attempt went straight to base.
func legacyRetryingClient(base http.RoundTripper, cfg RetryConfig) *http.Client {
	wmin := orDefaultDur(cfg.WaitMin, DefaultRetryWaitMin)
	wmax := max(orDefaultDur(cfg.WaitMax, DefaultRetryWaitMax), wmin)
	retryMax := cfg.RetryMax
	if retryMax == 0 {
		retryMax = DefaultRetryMax
	}
	rc := &retryablehttp.Client{
		HTTPClient:   &http.Client{Transport: base, CheckRedirect: NoRedirect},
		RetryWaitMin: wmin,
		RetryWaitMax: wmax,
		RetryMax:     max(retryMax, 0),
		CheckRetry:   cfg.CheckRetry,
		Backoff:      cfg.Backoff,
		ErrorHandler: giveUp,
	}
	if rc.CheckRetry == nil {
		rc.CheckRetry = RetryPolicy
	}
	if rc.Backoff == nil {
		rc.Backoff = Backoff
	}
	if cfg.Logger != nil {
		rc.Logger = SlogLogger(cfg.Logger)
	}
	canRetry := cfg.CanRetry
	if canRetry == nil {
		nonIdem := cfg.RetryNonIdempotent
		canRetry = func(r *http.Request) bool { return CanRetry(r, nonIdem) }
	}
	return &http.Client{Transport: &legacyRetryTransport{base: base, rc: rc, canRetry: canRetry}}
}

type legacyRetryTransport struct {
	base     http.RoundTripper
	rc       *retryablehttp.Client
	canRetry func(*http.Request) bool
}

func (t *legacyRetryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.rc.RetryMax <= 0 || !t.canRetry(req) {
		return t.base.RoundTrip(req)
	}
	r2 := req.WithContext(req.Context())
	r2.Body, r2.GetBody = nil, nil
	rreq, err := retryablehttp.FromRequest(r2)
	if err != nil {
		closeBody(req)
		return nil, fmt.Errorf("httpx: prepare retryable request: %w", err)
	}
	if hasBody(req) {
		getBody := req.GetBody
		src := retryablehttp.ReaderFunc(func() (io.Reader, error) { return getBody() })
		if err := rreq.SetBody(src); err != nil {
			closeBody(req)
			return nil, fmt.Errorf("httpx: replay request body: %w", err)
		}
		rreq.ContentLength = req.ContentLength
		closeBody(req)
	}
	resp, err := t.rc.Do(rreq)
	if resp != nil {
		resp.Request = req
	}
	return resp, err
}

// step is one scripted answer of scriptServer: a status (with an optional
// Retry-After), or hangUp to close the connection without answering.
type step struct {
	code       int
	retryAfter string
}

const hangUp = -1

// scriptServer answers the requests of one run with its script, in order
// (the last step repeats), and records each request's body.
type scriptServer struct {
	*httptest.Server
	mu     sync.Mutex
	script []step
	bodies []string
}

func newScriptServer(t *testing.T) *scriptServer {
	t.Helper()
	s := &scriptServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		st := s.script[min(len(s.bodies), len(s.script)-1)]
		s.bodies = append(s.bodies, string(b))
		s.mu.Unlock()
		if st.code == hangUp {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		if st.retryAfter != "" {
			w.Header().Set("Retry-After", st.retryAfter)
		}
		w.WriteHeader(st.code)
		_, _ = fmt.Fprintf(w, "answer %d", len(s.bodies))
	}))
	t.Cleanup(s.Close)
	return s
}

// reset starts a new run.
func (s *scriptServer) reset(script []step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script, s.bodies = script, nil
}

func (s *scriptServer) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.bodies)
}

// recordHandler is a slog.Handler that keeps each record as a line of its
// message and attributes.
type recordHandler struct {
	mu    *sync.Mutex
	lines *[]string
}

func newRecordHandler() recordHandler {
	return recordHandler{mu: new(sync.Mutex), lines: new([]string)}
}

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h recordHandler) WithGroup(string) slog.Handler            { return h }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	line := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.String()
		return true
	})
	h.mu.Lock()
	*h.lines = append(*h.lines, line)
	h.mu.Unlock()
	return nil
}

// closeTracker is a request body that records being closed.
type closeTracker struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeTracker) Close() error { c.closed.Store(true); return nil }

// runOutcome is everything observable about one request through a
// retrying client.
type runOutcome struct {
	Received   []string // request bodies the server got, one per attempt
	Checks     []string // CheckRetry's arguments, one per call
	Backoffs   []string // Backoff's attempt and status, one per call
	Code       int
	Body       string
	Err        string
	Logs       []string
	BodyClosed bool
	CloseIdle  int32 // calls to the base's CloseIdleConnections (compared apart)
}

// idleCounter counts calls to CloseIdleConnections of its transport.
type idleCounter struct {
	*http.Transport
	closes atomic.Int32
}

func (c *idleCounter) CloseIdleConnections() {
	c.closes.Add(1)
	c.Transport.CloseIdleConnections()
}

func TestFirstAttemptDirectMatchesRetryablehttp(t *testing.T) {
	srv := newScriptServer(t)
	dead := "http://127.0.0.1:" + closedPort(t) + "/gone?key=secret"
	tests := []struct {
		name     string
		script   []step
		retryMax int
		method   string
		body     string // sent replayable (GetBody set) unless oneShot
		oneShot  bool
		target   string // default: srv.URL
		cancel   bool   // the request's context is canceled before sending
		teapot   bool   // CheckRetry ends the request with an error on 418
	}{
		{name: "200 at once", script: []step{{code: 200}}},
		{name: "404 is final", script: []step{{code: 404}}},
		{name: "501 is final", script: []step{{code: 501}}},
		{name: "503 then 200", script: []step{{code: 503}, {code: 200}}},
		{name: "503 503 200", script: []step{{code: 503}, {code: 503}, {code: 200}}},
		{name: "429 with Retry-After then 200", script: []step{{code: 429, retryAfter: "0"}, {code: 200}}},
		{name: "503 until retries run out", script: []step{{code: 503}}},
		{name: "500 then 501", script: []step{{code: 500}, {code: 501}}},
		{name: "hang-up then 200", script: []step{{code: hangUp}, {code: 200}}},
		{name: "hang-up until retries run out", script: []step{{code: hangUp}}},
		{name: "RetryMax 1: 503 until retries run out", script: []step{{code: 503}}, retryMax: 1},
		{name: "RetryMax 1: hang-up until retries run out", script: []step{{code: hangUp}}, retryMax: 1},
		{name: "RetryMax 1: 503 then 200", script: []step{{code: 503}, {code: 200}}, retryMax: 1},
		{name: "CheckRetry error on the first response", script: []step{{code: 418}}, teapot: true},
		{name: "CheckRetry error on a retry", script: []step{{code: 503}, {code: 418}}, teapot: true},
		{name: "refused connection", target: dead},
		{name: "canceled context", script: []step{{code: 200}}, cancel: true},
		{name: "PUT replayable body 503 503 200", script: []step{{code: 503}, {code: 503}, {code: 200}}, method: http.MethodPut, body: "payload"},
		{name: "PUT replayable body until retries run out", script: []step{{code: 502}}, method: http.MethodPut, body: "payload"},
		{name: "PUT replayable body 200", script: []step{{code: 200}}, method: http.MethodPut, body: "payload"},
		{name: "PUT one-shot body is sent once", script: []step{{code: 503}}, method: http.MethodPut, body: "payload", oneShot: true},
		{name: "POST is sent once", script: []step{{code: 503}}, method: http.MethodPost, body: "payload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := func(newClient func(http.RoundTripper, RetryConfig) *http.Client) runOutcome {
				t.Helper()
				srv.reset(tt.script)
				var out runOutcome
				var mu sync.Mutex
				logs := newRecordHandler()
				cfg := RetryConfig{
					RetryMax: tt.retryMax,
					WaitMin:  time.Millisecond,
					WaitMax:  5 * time.Millisecond,
					CheckRetry: func(ctx context.Context, resp *http.Response, err error) (bool, error) {
						arg := fmt.Sprintf("resp=%v err=%v", resp != nil, err)
						if resp != nil {
							arg = fmt.Sprintf("status=%d err=%v", resp.StatusCode, err)
						}
						mu.Lock()
						out.Checks = append(out.Checks, arg)
						mu.Unlock()
						if tt.teapot && resp != nil && resp.StatusCode == http.StatusTeapot {
							return false, errors.New("teapot refused")
						}
						return RetryPolicy(ctx, resp, err)
					},
					Backoff: func(wmin, wmax time.Duration, attempt int, resp *http.Response) time.Duration {
						arg := fmt.Sprintf("attempt=%d", attempt)
						if resp != nil {
							arg += fmt.Sprintf(" status=%d retry-after=%q", resp.StatusCode, resp.Header.Get("Retry-After"))
						}
						mu.Lock()
						out.Backoffs = append(out.Backoffs, arg)
						mu.Unlock()
						return time.Duration(attempt+1) * time.Millisecond
					},
					Logger: slog.New(logs),
				}
				base := &idleCounter{Transport: NewTransport(Config{AllowPrivate: true})}
				defer base.Transport.CloseIdleConnections()
				c := newClient(base, cfg)
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				if tt.cancel {
					cancel()
				}
				method := tt.method
				if method == "" {
					method = http.MethodGet
				}
				target := tt.target
				if target == "" {
					target = srv.URL + "/things?key=secret"
				}
				var body *closeTracker
				var reqBody io.Reader
				if tt.body != "" {
					body = &closeTracker{Reader: strings.NewReader(tt.body)}
					reqBody = body
				}
				req, err := http.NewRequestWithContext(ctx, method, target, reqBody)
				if err != nil {
					t.Fatal(err)
				}
				if tt.body != "" {
					req.ContentLength = int64(len(tt.body))
					if !tt.oneShot {
						payload := tt.body
						req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(payload)), nil }
					}
				}
				resp, err := c.Do(req)
				if err != nil {
					out.Err = err.Error()
				} else {
					b, _ := io.ReadAll(resp.Body)
					_ = resp.Body.Close()
					out.Code, out.Body = resp.StatusCode, string(b)
					if resp.Request != req {
						t.Errorf("resp.Request is not the caller's request")
					}
				}
				if tt.target == "" {
					out.Received = srv.received()
				}
				out.Logs = *logs.lines
				out.BodyClosed = body == nil || body.closed.Load()
				out.CloseIdle = base.closes.Load()
				return out
			}
			want := run(legacyRetryingClient)
			got := run(NewRetryingClient)
			// One deliberate difference: a failed request no longer closes
			// the shared base's idle connections (see
			// TestFailureKeepsOtherIdleConnections).
			if got.CloseIdle != 0 {
				t.Errorf("base's CloseIdleConnections called %d times, want 0", got.CloseIdle)
			}
			want.CloseIdle, got.CloseIdle = 0, 0
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("first attempt direct differs from go-retryablehttp running every attempt (-legacy +direct):\n%s", diff)
			}
			if !got.BodyClosed {
				t.Errorf("request body not closed")
			}
			if logs := strings.Join(got.Logs, "\n"); strings.Contains(logs, "secret") {
				t.Errorf("query value leaked into logs:\n%s", logs)
			}
		})
	}
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestFirstAttemptGoesStraightToBase(t *testing.T) {
	var (
		mu       sync.Mutex
		seen     []*http.Request
		bodies   []string
		getBodys atomic.Int32
		checks   atomic.Int32
		backoffs []int
	)
	codes := []int{503, 429, 200}
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		_ = r.Body.Close()
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r)
		bodies = append(bodies, string(b))
		code := codes[len(seen)-1]
		return &http.Response{StatusCode: code, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	})
	tr := NewRetryingClient(base, RetryConfig{
		CheckRetry: func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			checks.Add(1)
			return RetryPolicy(ctx, resp, err)
		},
		Backoff: func(_, _ time.Duration, attempt int, _ *http.Response) time.Duration {
			mu.Lock()
			backoffs = append(backoffs, attempt)
			mu.Unlock()
			return 0
		},
	}).Transport
	original := &closeTracker{Reader: strings.NewReader("original")}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, "http://api.test/x", original)
	req.ContentLength = int64(len("original"))
	req.GetBody = func() (io.ReadCloser, error) {
		getBodys.Add(1)
		return io.NopCloser(strings.NewReader("replayed")), nil
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request != req {
		t.Errorf("response status %d, Request is caller's: %v; want 200, true", resp.StatusCode, resp.Request == req)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 || seen[0] != req || seen[1] == req || seen[2] == req {
		t.Errorf("base got %d requests, the first one the caller's: %v; want 3, only the first the caller's", len(seen), len(seen) > 0 && seen[0] == req)
	}
	if diff := cmp.Diff([]string{"original", "replayed", "replayed"}, bodies); diff != "" {
		t.Errorf("bodies sent (-want +got):\n%s", diff)
	}
	if !original.closed.Load() {
		t.Error("the original body was not closed")
	}
	// GetBody: never for the first attempt; go-retryablehttp calls it once
	// when given the body (to learn its length) and once per attempt it
	// makes (two).
	got := []int{int(getBodys.Load()), int(checks.Load())}
	if diff := cmp.Diff([]int{3, 3}, got); diff != "" {
		t.Errorf("(GetBody calls, CheckRetry calls) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{0, 1}, backoffs); diff != "" {
		t.Errorf("Backoff attempts (-want +got):\n%s", diff)
	}
}

// TestFirstAttemptAllocations: a request whose first answer is final costs
// the retrying layer no allocation, with a logger that does not record
// debug records too.
func TestFirstAttemptAllocations(t *testing.T) {
	resp := &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody}
	base := roundTripFunc(func(*http.Request) (*http.Response, error) { return resp, nil })
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://api.test/x", nil)
	for _, logger := range []*slog.Logger{nil, slog.New(slog.DiscardHandler), slog.New(slog.NewTextHandler(io.Discard, nil))} {
		tr := NewRetryingClient(base, RetryConfig{Logger: logger}).Transport
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := tr.RoundTrip(req); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("logger %v: %v allocations per request, want 0", logger != nil, allocs)
		}
	}
}
