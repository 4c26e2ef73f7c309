package component

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/httpx"
	"github.com/connkit/connkit/oauth"
)

// authTransport authenticates requests by the connection type's declared
// method. It follows the http.RoundTripper contract: the caller's request is
// never modified, and its body is closed on every path.
//
// The happy path (credential at hand, 2xx) costs one request copy with its
// header map, and nothing else of note: the Authorization value of a token
// is built once per token, and once the execution holds a status for the
// connection, health reporting is one atomic load.
type authTransport struct {
	next http.RoundTripper
	conn *Conn

	// settled is set once the execution has been told of an HTTP outcome
	// for this connection (see [Execution.observe]): it then holds a status
	// for it, and every later observe would be a no-op.
	settled atomic.Bool
	// bearer and apiKey cache the last credential header value built.
	bearer, apiKey atomic.Pointer[headerValue]
	// headerKey is the canonical form of the type's API key header name.
	keyOnce   sync.Once
	headerKey string
}

// headerValue is a credential header value, prefix+secret, with what it was
// built from.
type headerValue struct{ secret, prefix, value string }

// cachedValue returns prefix+secret from cache, building (and caching) it
// when the cache holds another value.
func cachedValue(cache *atomic.Pointer[headerValue], prefix, secret string) string {
	if v := cache.Load(); v != nil && v.secret == secret && v.prefix == prefix {
		return v.value
	}
	v := &headerValue{secret: secret, prefix: prefix, value: prefix + secret}
	cache.Store(v)
	return v.value
}

// RoundTrip implements http.RoundTripper. The response it returns carries
// req as its Request (as http.Transport's do), never the copy that was sent
// with the credential.
func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := t.conn
	ctx := req.Context()
	if !sameOrigin(req) {
		// A redirect to another host: send it unauthenticated, as
		// net/http does with the Authorization header.
		return t.next.RoundTrip(req)
	}
	r2, authSlot := outgoing(req)
	var (
		tok    *oauth.Token
		err    error
		secret string
	)
	switch c.cfg.Type.Auth.Method {
	case connection.AuthBearer:
		tok, err = c.Token(ctx)
		if err != nil {
			closeBody(req)
			if errors.Is(err, oauth.ErrReconnect) || errors.Is(err, oauth.ErrMisconfigured) {
				t.observe(ctx, connection.StatusError, reason(err))
			}
			return nil, err
		}
		t.setBearer(r2, authSlot, tok)
		secret = tok.AccessToken.Reveal()
	default:
		secret, err = t.apply(r2, authSlot)
		if err != nil {
			closeBody(req)
			return nil, err
		}
	}
	resp, err := t.next.RoundTrip(r2)
	if err != nil {
		return nil, scrubError(err, secret)
	}
	if resp.StatusCode == http.StatusUnauthorized && tok != nil && replayable(req) {
		// The access token was rejected (revoked, or killed by a refresh
		// in another replica): invalidate it once and retry once.
		drain(resp)
		fresh, ierr := c.cfg.Tokens.Invalidate(ctx, tok.AccessToken)
		if ierr != nil {
			ierr = c.redactTokenErr(ierr, tok.AccessToken)
			t.observe(ctx, connection.StatusError, reason(ierr))
			return nil, fmt.Errorf("component: connection %q: token rejected and not renewed: %w", c.cfg.Ref.Variable, ierr)
		}
		r3, slot3 := outgoing(req)
		if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
			body, berr := req.GetBody()
			if berr != nil {
				return nil, fmt.Errorf("component: replay request body: %w", berr)
			}
			r3.Body = body
		}
		t.setBearer(r3, slot3, fresh)
		secret = fresh.AccessToken.Reveal()
		resp, err = t.next.RoundTrip(r3)
		if err != nil {
			return nil, scrubError(err, secret)
		}
	}
	// The response carries the caller's request, not the credentialed
	// copy that was sent: a step logging resp.Request.URL or its header
	// must not log the credential.
	resp.Request = req
	if !t.settled.Load() {
		switch {
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			t.observe(ctx, connection.StatusError, req.URL.Host+" answered HTTP "+strconv.Itoa(resp.StatusCode))
		case resp.StatusCode < 400:
			t.observe(ctx, connection.StatusWorking, "")
		}
	}
	return resp, nil
}

// observe reports an HTTP outcome to the execution unless one was already
// reported through this transport: after its first observe, the execution
// holds a status for the connection and ignores every later observe.
func (t *authTransport) observe(ctx context.Context, status connection.Status, reason string) {
	if t.settled.Load() {
		return
	}
	c := t.conn
	c.cfg.Execution.observe(ctx, c.cfg.ID, c.cfg.Ref, status, reason)
	t.settled.Store(true)
}

// outRequest is the request authTransport sends: a shallow copy of the
// caller's, allocated together with the backing array of the credential
// header's value.
type outRequest struct {
	req  http.Request
	slot [1]string
}

// outgoing returns a copy of req that can be given credentials without
// touching req: a shallow copy with its own header map, whose value slices
// are shared with req's but capped at their length, so that neither an
// append nor a Set on the copy can reach req's. Fields that authTransport
// changes beyond the header (the URL for query-parameter keys, the body for
// a replay) are replaced, never written through. slot is the backing array
// for the credential header's value.
func outgoing(req *http.Request) (*http.Request, []string) {
	o := &outRequest{req: *req}
	h := make(http.Header, len(req.Header)+1)
	for k, v := range req.Header {
		h[k] = v[:len(v):len(v)]
	}
	o.req.Header = h
	return &o.req, o.slot[:0:1]
}

// apply adds non-OAuth credentials to r and returns the secret it added, so
// errors can be scrubbed of it. slot is the backing array for the header
// value it sets.
func (t *authTransport) apply(r *http.Request, slot []string) (string, error) {
	c := t.conn
	a := c.cfg.Type.Auth
	switch a.Method {
	case connection.AuthNone, "":
		return "", nil
	case connection.AuthHeader:
		v, err := c.Field(a.Field)
		if err != nil {
			return "", err
		}
		t.keyOnce.Do(func() { t.headerKey = http.CanonicalHeaderKey(a.Header) })
		r.Header[t.headerKey] = append(slot, cachedValue(&t.apiKey, a.Prefix, v))
		return v, nil
	case connection.AuthQuery:
		v, err := c.Field(a.Field)
		if err != nil {
			return "", err
		}
		u := *r.URL
		q := u.Query()
		q.Set(a.Param, v)
		u.RawQuery = q.Encode()
		r.URL = &u
		return v, nil
	case connection.AuthBasic:
		user, err := c.Field(a.UsernameField)
		if err != nil {
			return "", err
		}
		pass := c.cfg.Values.String(a.PasswordField)
		r.SetBasicAuth(user, pass)
		return pass, nil
	}
	return "", fmt.Errorf("component: connection %q: unsupported auth method %q", c.cfg.Ref.Variable, a.Method)
}

// setBearer sends the access token in the Bearer scheme (RFC 6750), in
// slot. The token response's token_type is not used as the scheme:
// providers put names there that are not HTTP authentication schemes (Slack
// says "bot" or "user" for tokens its API accepts only as "Bearer").
func (t *authTransport) setBearer(r *http.Request, slot []string, tok *oauth.Token) {
	r.Header["Authorization"] = append(slot, cachedValue(&t.bearer, "Bearer ", tok.AccessToken.Reveal()))
}

// sameOrigin reports whether req is the original request or a redirect to
// the same scheme and host as the original.
func sameOrigin(req *http.Request) bool {
	if req.Response == nil {
		return true
	}
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	return first.URL.Scheme == req.URL.Scheme && first.URL.Host == req.URL.Host
}

// replayable reports whether req can be sent again.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// reason is a short, secret-free status reason for an error.
func reason(err error) string {
	var te *oauth.TokenError
	if errors.As(err, &te) {
		if te.Code != "" {
			return te.Op + " failed: " + te.Code
		}
		return te.Op + " failed"
	}
	if errors.Is(err, oauth.ErrNotConnected) {
		return "not connected"
	}
	return "authentication failed"
}

// scrubError redacts URLs in err and, should the credential appear in its
// message anyway, replaces the error with one that does not contain it.
func scrubError(err error, secret string) error {
	err = httpx.RedactError(err)
	if secret != "" && strings.Contains(err.Error(), secret) {
		return &redactedError{msg: strings.ReplaceAll(err.Error(), secret, connection.Redacted), err: err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
