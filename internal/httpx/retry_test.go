package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fastRetry keeps real-socket retry tests quick; the timing itself is tested
// in synctest bubbles below.
var fastRetry = RetryConfig{WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond}

// statusSeq answers with codes in order (the last one repeats) and records
// every request body it receives.
type statusSeq struct {
	*hitServer
	mu     sync.Mutex
	bodies []string
	lens   []int64
}

func newStatusSeq(t *testing.T, codes ...int) *statusSeq {
	t.Helper()
	s := &statusSeq{}
	var n atomic.Int32
	s.hitServer = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, string(b))
		s.lens = append(s.lens, r.ContentLength)
		s.mu.Unlock()
		i := int(n.Add(1)) - 1
		code := codes[min(i, len(codes)-1)]
		w.WriteHeader(code)
		_, _ = io.WriteString(w, strconv.Itoa(code))
	})
	return s
}

func newRetryClient(t *testing.T, base http.RoundTripper, cfg RetryConfig) *http.Client {
	t.Helper()
	c := NewRetryingClient(base, cfg)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func privateTransport(t *testing.T) *http.Transport {
	return newTestTransport(t, Config{AllowPrivate: true})
}

func TestRetryStatuses(t *testing.T) {
	tests := []struct {
		name      string
		codes     []int
		wantCalls int32
		wantCode  int
	}{
		{"503 503 200 succeeds on the third call", []int{503, 503, 200}, 3, 200},
		{"429 then 200", []int{429, 200}, 2, 200},
		{"502 then 200", []int{502, 200}, 2, 200},
		{"400 is not retried", []int{400, 200}, 1, 400},
		{"404 is not retried", []int{404, 200}, 1, 404},
		{"501 is not retried", []int{501, 200}, 1, 501},
		{"exhausted retries return the last response", []int{503}, 4, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newStatusSeq(t, tt.codes...)
			c := newRetryClient(t, privateTransport(t), fastRetry)
			code, body, err := get(t, c, srv.URL)
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			if code != tt.wantCode || body != strconv.Itoa(tt.wantCode) {
				t.Errorf("GET = %d %q, want %d with its body", code, body, tt.wantCode)
			}
			if n := srv.hits.Load(); n != tt.wantCalls {
				t.Errorf("server calls = %d, want %d", n, tt.wantCalls)
			}
		})
	}
}

// oneShot is a request body that cannot be replayed: http.NewRequest does
// not know how to make GetBody for it.
type oneShot struct{ r io.Reader }

func (o *oneShot) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestRetryRequestBodies(t *testing.T) {
	const payload = "grant_type=client_credentials&x=1"
	tests := []struct {
		name       string
		method     string
		replayable bool
		optIn      bool
		header     string
		wantCalls  int32
	}{
		{"POST non-replayable", http.MethodPost, false, false, "", 1},
		{"POST non-replayable even with opt-in", http.MethodPost, false, true, "", 1},
		{"POST replayable without opt-in", http.MethodPost, true, false, "", 1},
		{"POST replayable with opt-in", http.MethodPost, true, true, "", 3},
		{"POST replayable with Idempotency-Key", http.MethodPost, true, false, "Idempotency-Key", 3},
		{"PUT replayable", http.MethodPut, true, false, "", 3},
		{"PUT non-replayable", http.MethodPut, false, false, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newStatusSeq(t, 503, 503, 200)
			cfg := fastRetry
			cfg.RetryNonIdempotent = tt.optIn
			c := newRetryClient(t, privateTransport(t), cfg)
			var body io.Reader = strings.NewReader(payload)
			if !tt.replayable {
				body = &oneShot{r: body}
			}
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL, body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.header != "" {
				req.Header.Set(tt.header, "k-1")
			}
			if got := req.GetBody != nil; got != tt.replayable {
				t.Fatalf("test setup: GetBody set = %v, want %v", got, tt.replayable)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			_ = resp.Body.Close()
			if n := srv.hits.Load(); n != tt.wantCalls {
				t.Errorf("server calls = %d, want %d", n, tt.wantCalls)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			for i, b := range srv.bodies {
				if b != payload {
					t.Errorf("call %d body = %q, want %q", i+1, b, payload)
				}
				if tt.replayable && srv.lens[i] != int64(len(payload)) {
					t.Errorf("call %d Content-Length = %d, want %d", i+1, srv.lens[i], len(payload))
				}
			}
		})
	}
}

func TestCanRetry(t *testing.T) {
	mk := func(method string, body io.Reader, hdr string) *http.Request {
		r, err := http.NewRequest(method, "http://x.test/", body)
		if err != nil {
			t.Fatal(err)
		}
		if hdr != "" {
			r.Header[hdr] = nil
		}
		return r
	}
	tests := []struct {
		name  string
		req   *http.Request
		optIn bool
		want  bool
	}{
		{"GET", mk(http.MethodGet, nil, ""), false, true},
		{"HEAD", mk(http.MethodHead, nil, ""), false, true},
		{"OPTIONS", mk(http.MethodOptions, nil, ""), false, true},
		{"DELETE", mk(http.MethodDelete, nil, ""), false, true},
		{"PUT bytes", mk(http.MethodPut, strings.NewReader("x"), ""), false, true},
		{"PUT one-shot", mk(http.MethodPut, &oneShot{strings.NewReader("x")}, ""), true, false},
		{"POST no body", mk(http.MethodPost, nil, ""), false, false},
		{"POST no body opt-in", mk(http.MethodPost, nil, ""), true, true},
		{"PATCH bytes opt-in", mk(http.MethodPatch, strings.NewReader("x"), ""), true, true},
		{"POST one-shot opt-in", mk(http.MethodPost, &oneShot{strings.NewReader("x")}, ""), true, false},
		{"POST X-Idempotency-Key", mk(http.MethodPost, strings.NewReader("x"), "X-Idempotency-Key"), false, true},
	}
	for _, tt := range tests {
		if got := CanRetry(tt.req, tt.optIn); got != tt.want {
			t.Errorf("%s: CanRetry = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRetryNetworkErrors(t *testing.T) {
	base := &countingRT{base: privateTransport(t)}
	cfg := fastRetry
	cfg.RetryMax = 2
	c := newRetryClient(t, base, cfg)
	target := "http://127.0.0.1:" + closedPort(t) + "/"
	_, _, err := get(t, c, target)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("GET closed port = %v, want ECONNREFUSED", err)
	}
	if !strings.Contains(err.Error(), "giving up after 3 attempts") {
		t.Errorf("error %q does not report the attempts", err)
	}
	if n := strings.Count(err.Error(), target); n != 1 {
		t.Errorf("error %q names the URL %d times, want once (from the outer *url.Error)", err, n)
	}
	if n := base.calls.Load(); n != 3 {
		t.Errorf("round trips = %d, want 3", n)
	}
}

func TestRetryNeverRetriesBlocked(t *testing.T) {
	srv := newServer(t, okHandler)
	base := &countingRT{base: newTestTransport(t, Config{})}
	c := newRetryClient(t, base, fastRetry)
	_, _, err := get(t, c, srv.URL)
	var be *BlockedError
	if !errors.As(err, &be) || be.Host != "127.0.0.1" {
		t.Fatalf("GET = %v, want *BlockedError for 127.0.0.1", err)
	}
	if n := base.calls.Load(); n != 1 {
		t.Errorf("round trips = %d, want 1", n)
	}
}

func TestRetryRedirects(t *testing.T) {
	final := newStatusSeq(t, 503, 200)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, final.URL, http.StatusFound)
	})
	t.Run("followed by the outer client, retried per hop", func(t *testing.T) {
		c := newRetryClient(t, privateTransport(t), fastRetry)
		code, _, err := get(t, c, srv.URL)
		if err != nil || code != http.StatusOK {
			t.Fatalf("GET = %d %v, want 200", code, err)
		}
		if got := [2]int32{srv.hits.Load(), final.hits.Load()}; got != [2]int32{1, 2} {
			t.Errorf("hits (redirector, target) = %v, want [1 2]", got)
		}
	})
	t.Run("NoRedirect on the returned client is honoured", func(t *testing.T) {
		c := newRetryClient(t, privateTransport(t), fastRetry)
		c.CheckRedirect = NoRedirect
		before := final.hits.Load()
		code, _, err := get(t, c, srv.URL)
		if err != nil || code != http.StatusFound {
			t.Fatalf("GET = %d %v, want the 302 itself", code, err)
		}
		if final.hits.Load() != before {
			t.Errorf("redirect target was called")
		}
	})
}

func TestRetryDisabled(t *testing.T) {
	srv := newStatusSeq(t, 503, 200)
	c := newRetryClient(t, privateTransport(t), RetryConfig{RetryMax: -1})
	if code, _, err := get(t, c, srv.URL); err != nil || code != 503 {
		t.Fatalf("GET = %d %v, want 503", code, err)
	}
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("server calls = %d, want 1", n)
	}
}

// TestRetryAfter runs in a testing/synctest bubble so waits are measured on
// the fake clock, exactly and without sleeping. httptest servers use real
// sockets, and a goroutine blocked on socket I/O is not "durably blocked",
// so the bubble's clock would never advance; the server here is a real
// http.Server served over an in-memory net.Pipe network instead (see
// servePipe), as the testing/synctest documentation recommends.
func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter func(now time.Time) string
		waitMax    time.Duration
		want       time.Duration
	}{
		{"seconds honoured", func(time.Time) string { return "1" }, 5 * time.Second, time.Second},
		{"HTTP-date honoured", func(now time.Time) string { return now.Add(3 * time.Second).UTC().Format(http.TimeFormat) }, 5 * time.Second, 3 * time.Second},
		{"capped at WaitMax", func(time.Time) string { return "30" }, 2 * time.Second, 2 * time.Second},
		{"zero raised to WaitMin", func(time.Time) string { return "0" }, 5 * time.Second, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var calls atomic.Int32
				base := servePipe(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					if calls.Add(1) == 1 {
						w.Header().Set("Retry-After", tt.retryAfter(time.Now()))
						w.WriteHeader(http.StatusTooManyRequests)
						return
					}
					_, _ = io.WriteString(w, "ok")
				}))
				c := NewRetryingClient(base, RetryConfig{WaitMin: 10 * time.Millisecond, WaitMax: tt.waitMax})
				start := time.Now()
				code, body, err := get(t, c, "http://api.test/")
				elapsed := time.Since(start)
				if err != nil || code != http.StatusOK || body != "ok" {
					t.Fatalf("GET = %d %q %v, want 200 ok", code, body, err)
				}
				if calls.Load() != 2 {
					t.Errorf("calls = %d, want 2", calls.Load())
				}
				if elapsed != tt.want {
					t.Errorf("waited %v, want exactly %v", elapsed, tt.want)
				}
			})
		})
	}
}

func TestRetryWaitHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := servePipe(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		c := NewRetryingClient(base, RetryConfig{WaitMin: time.Minute, WaitMax: time.Minute})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://api.test/", nil)
		start := time.Now()
		resp, err := c.Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Do = %v, want context.DeadlineExceeded", err)
		}
		if elapsed := time.Since(start); elapsed != 5*time.Second {
			t.Errorf("returned after %v, want 5s (the context deadline)", elapsed)
		}
	})
}

func TestBackoffJitter(t *testing.T) {
	const wmin, wmax = 100 * time.Millisecond, time.Second
	ceilings := []time.Duration{100, 200, 400, 800, 1000, 1000, 1000}
	for attempt, c := range ceilings {
		ceiling := c * time.Millisecond
		floor := max(ceiling/2, wmin)
		seen := map[time.Duration]bool{}
		for range 200 {
			d := Backoff(wmin, wmax, attempt, nil)
			if d < floor || d > ceiling {
				t.Fatalf("Backoff(attempt %d) = %v, want within [%v, %v]", attempt, d, floor, ceiling)
			}
			seen[d] = true
		}
		if attempt > 0 && len(seen) < 2 {
			t.Errorf("Backoff(attempt %d) is not jittered: %v", attempt, seen)
		}
	}
	if d := Backoff(wmin, wmax, 1000, nil); d < wmax/2 || d > wmax {
		t.Errorf("Backoff(huge attempt) = %v, want capped near %v", d, wmax)
	}
	resp := &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"7"}}}
	if d := Backoff(wmin, 10*time.Second, 0, resp); d != 7*time.Second {
		t.Errorf("Backoff with Retry-After: 7 = %v, want 7s", d)
	}
	if d := Backoff(wmin, wmax, 0, resp); d != wmax {
		t.Errorf("Backoff with Retry-After above WaitMax = %v, want %v", d, wmax)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value  string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"120", 2 * time.Minute, true},
		{" 5 ", 5 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"1.5", 0, false},
		{"Sun, 01 Mar 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Sunday, 01-Mar-26 12:01:00 GMT", time.Minute, true}, // RFC 850
		{"Sun Mar  1 12:00:10 2026", 10 * time.Second, true},  // ANSI C
		{"Sun, 01 Mar 2026 11:00:00 GMT", 0, true},            // past
		{"99999999999999", MaxRetryAfter, true},
		{"99999999999999999999", MaxRetryAfter, true}, // beyond int64
		{"-99999999999999999999", 0, false},
		{"Fri, 31 Dec 9999 23:59:59 GMT", MaxRetryAfter, true},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.value != "" {
			h.Set("Retry-After", tt.value)
		}
		d, ok := RetryAfter(h, now)
		if d != tt.want || ok != tt.wantOK {
			t.Errorf("RetryAfter(%q) = %v, %v; want %v, %v", tt.value, d, ok, tt.want, tt.wantOK)
		}
	}
}

func TestRetryPolicy(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	opErr := func(err error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: err} }
	tests := []struct {
		name    string
		ctx     context.Context
		status  int
		err     error
		want    bool
		wantErr bool
	}{
		{"200", context.Background(), 200, nil, false, false},
		{"400", context.Background(), 400, nil, false, false},
		{"429", context.Background(), 429, nil, true, false},
		{"500", context.Background(), 500, nil, true, false},
		{"501", context.Background(), 501, nil, false, false},
		{"503", context.Background(), 503, nil, true, false},
		{"599", context.Background(), 599, nil, true, false},
		{"context canceled", canceled, 503, nil, false, true},
		{"connection refused", context.Background(), 0, opErr(syscall.ECONNREFUSED), true, false},
		{"connection reset", context.Background(), 0, syscall.ECONNRESET, true, false},
		{"unexpected EOF", context.Background(), 0, io.ErrUnexpectedEOF, true, false},
		{"DNS temporary", context.Background(), 0, &net.DNSError{Err: "timeout", IsTimeout: true}, true, false},
		{"DNS not found", context.Background(), 0, &net.DNSError{Err: "no such host", IsNotFound: true}, false, false},
		{"blocked", context.Background(), 0, opErr(&BlockedError{Host: "h", Addr: netip.MustParseAddr("10.0.0.1")}), false, false},
		{"too large", context.Background(), 0, &TooLargeError{Limit: 1}, false, false},
		{"unknown CA", context.Background(), 0, &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, false, false},
		{"TLS alert", context.Background(), 0, opErr(tls.AlertError(42)), false, false},
		{"plain error", context.Background(), 0, errors.New("unsupported protocol scheme"), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp *http.Response
			if tt.err == nil {
				resp = &http.Response{StatusCode: tt.status}
			}
			got, err := RetryPolicy(tt.ctx, resp, tt.err)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("RetryPolicy = %v, %v; want %v, err=%v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRetryConfigPolicies(t *testing.T) {
	srv := newStatusSeq(t, 400, 200)
	var checks, backoffs atomic.Int32
	cfg := RetryConfig{
		CheckRetry: func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			checks.Add(1)
			if resp != nil && resp.StatusCode == 400 {
				return true, nil
			}
			return RetryPolicy(ctx, resp, err)
		},
		Backoff: func(_, _ time.Duration, _ int, _ *http.Response) time.Duration {
			backoffs.Add(1)
			return 0
		},
	}
	c := newRetryClient(t, privateTransport(t), cfg)
	if code, _, err := get(t, c, srv.URL); err != nil || code != 200 {
		t.Fatalf("GET = %d %v, want 200 via the custom policy", code, err)
	}
	got := []int32{srv.hits.Load(), checks.Load(), backoffs.Load()}
	if diff := cmp.Diff([]int32{2, 2, 1}, got); diff != "" {
		t.Errorf("(calls, checks, backoffs) (-want +got):\n%s", diff)
	}
}

// TestRetryConcurrent shares one retrying client between goroutines (run
// with -race). Each request's first attempt fails with 502 and its retry
// succeeds: which attempt fails is decided per request (by its path), not
// by the order in which a loaded machine happens to deliver the requests,
// so no request can run out of retries.
func TestRetryConcurrent(t *testing.T) {
	const n = 32
	var mu sync.Mutex
	attempts := map[string]int{}
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if b, _ := io.ReadAll(r.Body); string(b) != "payload" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		attempts[r.URL.Path]++
		first := attempts[r.URL.Path] == 1
		mu.Unlock()
		if first {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	c := newRetryClient(t, privateTransport(t), fastRetry)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, srv.URL+"/"+strconv.Itoa(i), strings.NewReader("payload"))
			resp, err := c.Do(req)
			if err != nil {
				errs <- err
				return
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- errors.New(resp.Status)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent PUT: %v", err)
	}
	want := map[string]int{}
	for i := range n {
		want["/"+strconv.Itoa(i)] = 2
	}
	if diff := cmp.Diff(want, attempts); diff != "" {
		t.Errorf("attempts per request (-want +got):\n%s", diff)
	}
}
