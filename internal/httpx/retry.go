package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-retryablehttp"
)

// Defaults applied by [NewRetryingClient] to zero fields of [RetryConfig].
const (
	DefaultRetryMax     = 3
	DefaultRetryWaitMin = 250 * time.Millisecond
	DefaultRetryWaitMax = 10 * time.Second
)

// RetryConfig configures [NewRetryingClient]. Its zero value retries
// idempotent requests up to [DefaultRetryMax] times with [RetryPolicy] and
// [Backoff], and logs nothing.
type RetryConfig struct {
	// RetryMax is the number of retries after the first attempt. Zero means
	// [DefaultRetryMax]; a negative value disables retries.
	RetryMax int
	// WaitMin and WaitMax bound the wait between attempts, including waits
	// asked for with Retry-After (defaults [DefaultRetryWaitMin] and
	// [DefaultRetryWaitMax]).
	WaitMin, WaitMax time.Duration
	// RetryNonIdempotent opts in to retrying requests whose method is not
	// idempotent (POST, PATCH) when their body can be replayed
	// (http.Request.GetBody is set, or there is no body). A body that cannot
	// be replayed is never retried, whatever the method.
	RetryNonIdempotent bool

	// CanRetry decides whether a request may be sent more than once at all.
	// Default: CanRetry(req, RetryNonIdempotent) (see the function
	// [CanRetry]). A request it refuses is sent exactly once, straight to
	// the base transport.
	CanRetry func(req *http.Request) bool
	// CheckRetry decides, after each attempt, whether to retry (default
	// [RetryPolicy]). A non-nil error it returns ends the request with that
	// error.
	CheckRetry retryablehttp.CheckRetry
	// Backoff computes the wait before the next attempt (default [Backoff]).
	Backoff retryablehttp.Backoff

	// Logger receives go-retryablehttp's request, retry and failure
	// records through [SlogLogger], which redacts URLs and never logs
	// headers. Nil disables logging.
	Logger *slog.Logger
}

// NewRetryingClient returns a plain *http.Client whose transport retries
// transient failures (per cfg) on top of base, using go-retryablehttp. A nil
// base means NewTransport(Config{}), i.e. a guarded transport.
//
// Behaviour:
//   - Retries happen per request (per redirect hop); redirects are followed
//     by the returned client, so its CheckRedirect (e.g. [NoRedirect]) is
//     honoured.
//   - The first attempt goes straight to base, with the request's own body;
//     only when its outcome is worth retrying (per CheckRetry) is the request
//     handed to go-retryablehttp for the remaining attempts, after the same
//     wait (Backoff, Retry-After) go-retryablehttp would have waited. The
//     attempts, waits, CheckRetry and Backoff calls, log records and errors
//     are those of go-retryablehttp running every attempt itself.
//   - Bodies are never buffered: every retry reads a fresh body from
//     GetBody, and a request without a replayable body gets exactly one
//     attempt.
//   - When retries are exhausted on a retryable status (429, 5xx), the last
//     response is returned with a nil error, as net/http would; the caller
//     inspects the status. When they are exhausted on an error, that error
//     is returned.
//   - Errors from the returned client are *url.Error values that carry the
//     request URL: pass them through [RedactError] before logging them.
//
// CloseIdleConnections on the client closes base's idle connections; a
// failed request does not (go-retryablehttp would, and base is usually
// shared by many clients).
func NewRetryingClient(base http.RoundTripper, cfg RetryConfig) *http.Client {
	if base == nil {
		base = NewTransport(Config{})
	}
	wmin := orDefaultDur(cfg.WaitMin, DefaultRetryWaitMin)
	wmax := max(orDefaultDur(cfg.WaitMax, DefaultRetryWaitMax), wmin)
	retryMax := cfg.RetryMax
	if retryMax == 0 {
		retryMax = DefaultRetryMax
	}
	t := &retryTransport{
		base: base,
		// The inner client never follows redirects: the outer client
		// does, with the caller's CheckRedirect. Nor can it close base's
		// idle connections, as go-retryablehttp does after a failed
		// request: base is shared by every connection of a host, and one
		// failing API must not empty the pool of all the others.
		inner:      &http.Client{Transport: keepIdle{base}, CheckRedirect: NoRedirect},
		retryMax:   max(retryMax, 0),
		wmin:       wmin,
		wmax:       wmax,
		checkRetry: cfg.CheckRetry,
		backoff:    cfg.Backoff,
		canRetry:   cfg.CanRetry,
	}
	if t.checkRetry == nil {
		t.checkRetry = RetryPolicy
	}
	if t.backoff == nil {
		t.backoff = Backoff
	}
	if t.canRetry == nil {
		nonIdem := cfg.RetryNonIdempotent
		t.canRetry = func(r *http.Request) bool { return CanRetry(r, nonIdem) }
	}
	if cfg.Logger != nil {
		t.log = cfg.Logger
		t.logger = SlogLogger(cfg.Logger)
	}
	if t.retryMax > 0 {
		// rest runs attempts 2..retryMax+1: its attempt i is attempt i+1
		// of the request, for the backoff and the attempt count alike.
		backoff := t.backoff
		t.rest = &retryablehttp.Client{
			HTTPClient:   t.inner,
			RetryWaitMin: wmin,
			RetryWaitMax: wmax,
			RetryMax:     t.retryMax - 1,
			CheckRetry:   t.checkRetry,
			Backoff: func(wmin, wmax time.Duration, attempt int, resp *http.Response) time.Duration {
				return backoff(wmin, wmax, attempt+1, resp)
			},
			ErrorHandler: func(resp *http.Response, err error, attempts int) (*http.Response, error) {
				return giveUp(resp, err, attempts+1)
			},
		}
		if t.logger != nil {
			// The first attempt already logged "performing request".
			t.rest.Logger = continuedLogger{t.logger}
		}
	}
	return &http.Client{Transport: t}
}

// retryTransport sends the first attempt of every request straight to base
// and hands requests whose first outcome is worth retrying (and that may be
// sent again) to go-retryablehttp for the rest.
type retryTransport struct {
	base       http.RoundTripper
	inner      *http.Client          // base, never following redirects
	rest       *retryablehttp.Client // attempts after the first; nil when retries are off
	retryMax   int
	wmin, wmax time.Duration
	checkRetry retryablehttp.CheckRetry
	backoff    retryablehttp.Backoff
	canRetry   func(*http.Request) bool
	log        *slog.Logger                // nil: no logs
	logger     retryablehttp.LeveledLogger // log, scrubbed
}

// RoundTrip implements http.RoundTripper.
//
// It does, for the first attempt, what go-retryablehttp's Client.Do does
// for every attempt (the retryablehttp references below are to v0.7.8's
// client.go), without its per-request setup: the request is not wrapped,
// there is no inner *http.Client call, and nothing is formatted for a
// logger that discards it. Unlike Client.Do, it never closes base's idle
// connections when a request fails (see keepIdle).
func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.retryMax <= 0 || !t.canRetry(req) {
		return t.base.RoundTrip(req)
	}
	ctx := req.Context()
	if t.enabled(slog.LevelDebug) {
		t.logger.Debug("performing request", "method", req.Method, "url", redactUserinfo(req.URL))
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp == nil {
		// What the inner *http.Client would have returned to
		// go-retryablehttp: no response, and the error in a *url.Error
		// (which CheckRetry and ErrorHandler are written against).
		if err == nil {
			err = fmt.Errorf("http: RoundTripper implementation (%T) returned a nil *Response with a nil error", t.base)
		} else if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		resp = nil
		err = &url.Error{Op: urlErrorOp(req.Method), URL: stripPassword(req.URL), Err: err}
		if t.enabled(slog.LevelError) {
			t.logger.Error("request failed", "error", err, "method", req.Method, "url", redactUserinfo(req.URL))
		}
	}
	retry, checkErr := t.checkRetry(ctx, resp, err)
	if !retry {
		if err == nil && checkErr == nil {
			return resp, nil
		}
		if checkErr != nil {
			err = checkErr
		}
		return giveUp(resp, err, 1)
	}
	// Retry: consume the response to reuse the connection, wait, and hand
	// the request to go-retryablehttp for the remaining attempts.
	if err == nil {
		t.drain(resp.Body)
	}
	wait := t.backoff(t.wmin, t.wmax, 0, resp)
	if t.enabled(slog.LevelDebug) {
		desc := req.Method + " " + redactUserinfo(req.URL)
		if resp != nil {
			desc += " (status: " + strconv.Itoa(resp.StatusCode) + ")"
		}
		t.logger.Debug("retrying request", "request", desc, "timeout", wait, "remaining", t.retryMax)
	}
	timer := time.NewTimer(wait)
	select {
	case <-ctx.Done():
		timer.Stop()
		return nil, ctx.Err()
	case <-timer.C:
	}
	return t.retry(req)
}

// retry sends req again through go-retryablehttp, for attempts 2 and up.
func (t *retryTransport) retry(req *http.Request) (*http.Response, error) {
	// Hand go-retryablehttp a shallow copy without a body, then give it
	// GetBody as its body source: it would otherwise read the whole body
	// into memory. The first attempt consumed (and the base transport
	// closed) the original body.
	r2 := req.WithContext(req.Context())
	r2.Body, r2.GetBody = nil, nil
	rreq, err := retryablehttp.FromRequest(r2)
	if err != nil {
		return nil, fmt.Errorf("httpx: prepare retryable request: %w", err)
	}
	if hasBody(req) {
		getBody := req.GetBody
		src := retryablehttp.ReaderFunc(func() (io.Reader, error) { return getBody() })
		if err := rreq.SetBody(src); err != nil {
			return nil, fmt.Errorf("httpx: replay request body: %w", err)
		}
		rreq.ContentLength = req.ContentLength
	}
	resp, err := t.rest.Do(rreq)
	if resp != nil {
		resp.Request = req
	}
	return resp, err
}

// enabled reports whether the logger records level; the attributes of a
// record are built only when it does.
func (t *retryTransport) enabled(level slog.Level) bool {
	return t.log != nil && t.log.Enabled(context.Background(), level)
}

// drain reads and closes a response body that will not be returned, as
// go-retryablehttp does before a retry, so the connection can be reused.
func (t *retryTransport) drain(body io.ReadCloser) {
	defer body.Close()
	_, err := io.Copy(io.Discard, io.LimitReader(body, 4096))
	if err != nil && t.enabled(slog.LevelError) {
		t.logger.Error("error reading response body", "error", err)
	}
}

// CloseIdleConnections closes the base transport's idle connections.
func (t *retryTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// keepIdle hides base's CloseIdleConnections from the inner client (and so
// from go-retryablehttp), which would otherwise close every idle connection
// of the shared base after each failed request.
type keepIdle struct{ base http.RoundTripper }

func (k keepIdle) RoundTrip(req *http.Request) (*http.Response, error) { return k.base.RoundTrip(req) }

// continuedLogger is the logger of the go-retryablehttp client that runs
// the attempts after the first: the request's "performing request" record
// was already written when the first attempt was made.
type continuedLogger struct{ retryablehttp.LeveledLogger }

func (l continuedLogger) Debug(msg string, kv ...any) {
	if msg == "performing request" {
		return
	}
	l.LeveledLogger.Debug(msg, kv...)
}

// redactUserinfo renders u as go-retryablehttp does in its log records,
// with any password replaced. (SlogLogger redacts the result further.)
func redactUserinfo(u *url.URL) string {
	if u == nil {
		return ""
	}
	ru := *u
	if _, has := ru.User.Password(); has {
		ru.User = url.UserPassword(ru.User.Username(), "xxxxx")
	}
	return ru.String()
}

// urlErrorOp and stripPassword give the Op and URL of the *url.Error that
// net/http's Client returns for a failed request.
func urlErrorOp(method string) string {
	if method == "" {
		return "Get"
	}
	for i := 0; i < len(method); i++ {
		if method[i] >= utf8.RuneSelf {
			return method
		}
	}
	return method[:1] + strings.ToLower(method[1:])
}

func stripPassword(u *url.URL) string {
	if _, ok := u.User.Password(); ok {
		return strings.Replace(u.String(), u.User.String()+"@", u.User.Username()+":***@", 1)
	}
	return u.String()
}

// giveUp is the go-retryablehttp ErrorHandler: it returns the last response
// when retries ran out on a status, and otherwise an error without the
// request URL (the outer *http.Client adds it in a *url.Error).
func giveUp(resp *http.Response, err error, attempts int) (*http.Response, error) {
	if err == nil && resp != nil {
		return resp, nil
	}
	if resp != nil && resp.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
	}
	if err == nil {
		err = errors.New("httpx: request failed")
	}
	// The inner client wraps transport errors in a *url.Error naming the
	// URL; the outer client adds its own.
	if ue, ok := err.(*url.Error); ok {
		err = ue.Err
	}
	if attempts > 1 {
		return nil, fmt.Errorf("httpx: giving up after %d attempts: %w", attempts, err)
	}
	return nil, err
}

// CanRetry reports whether req may be sent more than once: its body must be
// replayable (no body, http.NoBody, or GetBody set) and its method
// idempotent (GET, HEAD, OPTIONS, PUT, DELETE), or the request carries an
// Idempotency-Key or X-Idempotency-Key header (as net/http also assumes), or
// nonIdempotent is set.
func CanRetry(req *http.Request, nonIdempotent bool) bool {
	if hasBody(req) && req.GetBody == nil {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	if _, ok := req.Header["Idempotency-Key"]; ok {
		return true
	}
	if _, ok := req.Header["X-Idempotency-Key"]; ok {
		return true
	}
	return nonIdempotent
}

// RetryPolicy is the default go-retryablehttp CheckRetry: it stops when ctx
// is done (returning ctx's error), retries network errors (see
// [RetryableError]) and 429 and 5xx responses except 501 (see
// [RetryableStatus]), and never returns an error otherwise.
func RetryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		return RetryableError(err), nil
	}
	return resp != nil && RetryableStatus(resp.StatusCode), nil
}

// RetryableStatus reports whether a response status is worth retrying:
// 429 Too Many Requests and every 5xx except 501 Not Implemented.
func RetryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || (code >= 500 && code <= 599 && code != http.StatusNotImplemented)
}

// RetryableError reports whether a transport error is a transient network
// failure worth retrying: failed dials (refused, timed out, DNS failures
// other than "no such host"), reset or broken connections, timeouts (the
// wait for response headers included), and connections closed before or
// during the response (EOF). Everything else is permanent, among it SSRF
// refusals ([ErrBlocked]), oversized bodies ([ErrTooLarge]), context
// cancellation and expiry, TLS and certificate failures, an HTTP answer to
// an HTTPS request, unsupported URL schemes, malformed addresses and
// malformed HTTP responses (headers over the size cap included).
//
// A *url.Error (what an *http.Client returns) is judged by the error it
// carries: it is a net.Error itself, whatever it wraps.
func RetryableError(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrBlocked) || errors.Is(err, ErrTooLarge) || errors.Is(err, context.Canceled) {
		return false
	}
	var (
		certErr   *tls.CertificateVerificationError
		alertErr  tls.AlertError
		recordErr tls.RecordHeaderError
		authErr   x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invErr    x509.CertificateInvalidError
		dnsErr    *net.DNSError
		addrErr   *net.AddrError
		netUnk    net.UnknownNetworkError
	)
	if errors.As(err, &certErr) || errors.As(err, &alertErr) || errors.As(err, &recordErr) ||
		errors.As(err, &authErr) || errors.As(err, &hostErr) || errors.As(err, &invErr) {
		return false
	}
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return false
	}
	if errors.As(err, &addrErr) || errors.As(err, &netUnk) {
		return false
	}
	if contextExpired(err) {
		// The context's own deadline, as opposed to a transport timeout
		// that merely matches context.DeadlineExceeded.
		return false
	}
	if timedOut(err) || isNetError(err) {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE)
}

// isNetError reports whether err's chain holds a net.Error other than a
// *url.Error, which is one whatever it wraps.
func isNetError(err error) bool {
	for err != nil {
		var ne net.Error
		if !errors.As(err, &ne) {
			return false
		}
		ue, ok := ne.(*url.Error)
		if !ok {
			return true
		}
		err = ue.Err
	}
	return false
}

// timedOut reports whether err's chain holds an error that says it is a
// timeout (Timeout() true), looking through *url.Error, whose own Timeout
// only repeats what it wraps. net/http's "timeout awaiting response
// headers" is such an error without being a net.Error.
func timedOut(err error) bool {
	for err != nil {
		var te interface{ Timeout() bool }
		if !errors.As(err, &te) {
			return false
		}
		ue, ok := te.(*url.Error)
		if !ok {
			return te.Timeout()
		}
		err = ue.Err
	}
	return false
}

// contextExpired reports whether err's chain holds context.DeadlineExceeded
// itself (an expired context), rather than an error that only matches it
// with errors.Is.
func contextExpired(err error) bool {
	for err != nil {
		if err == context.DeadlineExceeded { // identity, not errors.Is
			return true
		}
		switch e := err.(type) {
		case interface{ Unwrap() error }:
			err = e.Unwrap()
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				if contextExpired(inner) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}

// Backoff is the default go-retryablehttp Backoff. When resp carries a
// Retry-After header (seconds or HTTP-date) it waits that long, clamped to
// [wmin, wmax]; otherwise it waits a jittered exponential backoff: the
// attempt's ceiling wmin*2^attempt (capped at wmax), less a random amount
// of up to half of it, and never less than wmin.
func Backoff(wmin, wmax time.Duration, attempt int, resp *http.Response) time.Duration {
	wmin = max(wmin, 0)
	wmax = max(wmax, wmin)
	if resp != nil {
		if d, ok := RetryAfter(resp.Header, time.Now()); ok {
			return min(max(d, wmin), wmax)
		}
	}
	d := wmin
	for i := 0; i < attempt && d < wmax; i++ {
		if d > wmax/2 {
			d = wmax
			break
		}
		d *= 2
	}
	d = min(d, wmax)
	if half := d / 2; half > 0 {
		d = half + rand.N(d-half+1)
	}
	return max(d, wmin)
}

// MaxRetryAfter caps what [RetryAfter] returns: a server asking for a
// longer wait, in either form, is read as asking for a year.
const MaxRetryAfter = 365 * 24 * time.Hour

// RetryAfter parses a Retry-After header in either form: delay-seconds
// ("120") or an HTTP-date ("Fri, 31 Dec 1999 23:59:59 GMT", relative to
// now; a date in the past is zero). ok is false when the header is absent
// or malformed (a negative delay included). When ok, d is within
// [0, MaxRetryAfter].
func RetryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, int64(MaxRetryAfter/time.Second))) * time.Second, true
	} else if errors.Is(err, strconv.ErrRange) && v[0] != '-' {
		return MaxRetryAfter, true // more seconds than an int64 holds
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), MaxRetryAfter), true
}

func hasBody(req *http.Request) bool {
	return req.Body != nil && req.Body != http.NoBody
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
