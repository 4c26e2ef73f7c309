package oauth

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/connkit/connkit/internal/httpx"
)

// Defaults of [HTTPClientConfig].
const (
	// DefaultTokenTimeout bounds one call to a token, revocation or
	// metadata endpoint, retries included.
	DefaultTokenTimeout = 30 * time.Second
	// DefaultTokenRetries is how many times a call is retried after the
	// first attempt.
	DefaultTokenRetries = 2
	// DefaultRetryWaitMax is the longest wait between two attempts, and the
	// longest Retry-After that is waited for.
	DefaultRetryWaitMax = 10 * time.Second
	// tokenHeaderTimeout bounds the wait for response headers of one
	// attempt over the default transport.
	tokenHeaderTimeout = 15 * time.Second
	// retryWaitMin is the shortest wait between two attempts.
	retryWaitMin = 250 * time.Millisecond
)

// HTTPClientConfig configures [NewHTTPClient]. The zero value is the client
// a [Flow] uses by default: SSRF guard on, retries, timeouts, no redirects.
type HTTPClientConfig struct {
	// Transport is the base transport; nil means a transport with the SSRF
	// guard of internal/httpx checking every dial after DNS resolution.
	// Tests pass an in-memory transport here.
	Transport http.RoundTripper
	// AllowPrivateNetworks lets the default transport reach loopback and
	// private addresses (tests, the example app, single-tenant hosts). A
	// multi-tenant host must leave it off: token URLs are tenant-supplied.
	AllowPrivateNetworks bool
	// Timeout bounds a whole call, retries included; zero means
	// [DefaultTokenTimeout].
	Timeout time.Duration
	// Retries is how many times a call is retried; zero means
	// [DefaultTokenRetries], a negative value disables retries.
	Retries int
	// RetryWaitMax is the longest wait between attempts; zero means
	// [DefaultRetryWaitMax]. A response asking (with Retry-After) for a
	// longer wait is not retried: it is returned, and the resulting
	// *TokenError carries the RetryAfter the provider asked for.
	RetryWaitMax time.Duration
	// Logger receives retry records with redacted URLs; nil discards them.
	Logger *slog.Logger
}

// NewHTTPClient returns the *http.Client connkit uses for token, revocation
// and metadata endpoints:
//
//   - every dial goes through the SSRF guard (unless cfg allows private
//     networks or brings its own Transport);
//   - 429 and 5xx answers (but 501) are retried with jittered backoff,
//     honouring Retry-After up to RetryWaitMax, except for the grants whose
//     credential is single-use (authorization_code: the code;
//     refresh_token: a refresh token that may rotate), which are retried
//     only on 429 and 503: a 500, 502 or 504 may come from a gateway whose
//     upstream already consumed the code or rotated the refresh token, and
//     replaying it would fail, or make the provider revoke the grant as
//     reused; a failed dial is retried,
//     while an error after the request may have reached the server is not
//     (a token request must not be replayed blindly: authorization codes
//     are single-use and refresh tokens may rotate);
//   - redirects are never followed (credentials are never re-sent
//     elsewhere): a 3xx answer fails the call;
//   - response bodies are capped at 1 MiB; x/oauth2 itself never reads
//     more than 1 MiB of a token response either;
//   - the whole call is bounded by Timeout.
func NewHTTPClient(cfg HTTPClientConfig) *http.Client {
	base := cfg.Transport
	if base == nil {
		base = httpx.NewTransport(httpx.Config{
			AllowPrivate:          cfg.AllowPrivateNetworks,
			ResponseHeaderTimeout: tokenHeaderTimeout,
		})
	}
	waitMax := cfg.RetryWaitMax
	if waitMax <= 0 {
		waitMax = DefaultRetryWaitMax
	}
	retries := cfg.Retries
	if retries == 0 {
		retries = DefaultTokenRetries
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTokenTimeout
	}
	rc := httpx.NewRetryingClient(capTransport{base}, httpx.RetryConfig{
		RetryMax:           retries,
		WaitMin:            min(retryWaitMin, waitMax),
		WaitMax:            waitMax,
		RetryNonIdempotent: true,
		CheckRetry:         tokenRetryPolicy(waitMax),
		Logger:             cfg.Logger,
	})
	return &http.Client{Transport: grantTransport{rc.Transport}, CheckRedirect: httpx.NoRedirect, Timeout: timeout}
}

// singleUseKey marks, in a request's context, a token request whose grant
// presents a single-use credential (see grantTransport).
type singleUseKey struct{}

// grantTransport reads the grant_type of form POSTs (token requests, from
// their replayable body) and marks the request's context when the grant is
// authorization_code or refresh_token, for tokenRetryPolicy.
type grantTransport struct{ base http.RoundTripper }

// maxGrantPeek bounds how much of a request body is read for its grant type.
const maxGrantPeek = 64 << 10

func (t grantTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && req.GetBody != nil &&
		strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if body, err := req.GetBody(); err == nil {
			b, _ := io.ReadAll(io.LimitReader(body, maxGrantPeek))
			_ = body.Close()
			if form, err := url.ParseQuery(string(b)); err == nil {
				switch form.Get("grant_type") {
				case "authorization_code", "refresh_token":
					req = req.WithContext(context.WithValue(req.Context(), singleUseKey{}, true))
				}
			}
		}
	}
	return t.base.RoundTrip(req)
}

// CloseIdleConnections closes the base transport's idle connections.
func (t grantTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// tokenRetryPolicy retries 429 and 5xx answers (but 501; for a single-use
// grant, see grantTransport, only 429 and 503) whose Retry-After, if any,
// is at most waitMax, and errors of a dial (the request never left).
func tokenRetryPolicy(waitMax time.Duration) func(context.Context, *http.Response, error) (bool, error) {
	return func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if err != nil {
			return dialFailed(err), nil
		}
		if resp == nil || !httpx.RetryableStatus(resp.StatusCode) {
			return false, nil
		}
		if single, _ := ctx.Value(singleUseKey{}).(bool); single &&
			resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
			return false, nil
		}
		if d, ok := httpx.RetryAfter(resp.Header, time.Now()); ok && d > waitMax {
			return false, nil
		}
		return true, nil
	}
}

// dialFailed reports whether err is a failure to connect, so the request was
// never sent. SSRF refusals are final.
func dialFailed(err error) bool {
	if errors.Is(err, httpx.ErrBlocked) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// capTransport caps every response body at httpx.TokenBodyLimit.
type capTransport struct{ base http.RoundTripper }

func (t capTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if resp != nil {
		httpx.LimitBody(resp, httpx.TokenBodyLimit)
	}
	return resp, err
}

// CloseIdleConnections closes the base transport's idle connections.
func (t capTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
