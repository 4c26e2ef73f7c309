package component

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/httpx"
	"github.com/connkit/connkit/oauth"
)

// authTransport authenticates requests by the connection type's declared
// method. It follows the http.RoundTripper contract: the caller's request is
// never modified, and its body is closed on every path.
type authTransport struct {
	next http.RoundTripper
	conn *Conn
}

// RoundTrip implements http.RoundTripper.
func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := t.conn
	ctx := req.Context()
	if !sameOrigin(req) {
		// A redirect to another host: send it unauthenticated, as
		// net/http does with the Authorization header.
		return t.next.RoundTrip(req)
	}
	r2 := req.Clone(ctx)
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
				c.cfg.Execution.observe(ctx, c.cfg.ID, c.cfg.Ref, connection.StatusError, reason(err))
			}
			return nil, err
		}
		setBearer(r2, tok)
		secret = tok.AccessToken.Reveal()
	default:
		secret, err = t.apply(r2)
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
			c.cfg.Execution.observe(ctx, c.cfg.ID, c.cfg.Ref, connection.StatusError, reason(ierr))
			return nil, fmt.Errorf("component: connection %q: token rejected and not renewed: %w", c.cfg.Ref.Variable, ierr)
		}
		r3 := req.Clone(ctx)
		if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
			body, berr := req.GetBody()
			if berr != nil {
				return nil, fmt.Errorf("component: replay request body: %w", berr)
			}
			r3.Body = body
		}
		setBearer(r3, fresh)
		secret = fresh.AccessToken.Reveal()
		resp, err = t.next.RoundTrip(r3)
		if err != nil {
			return nil, scrubError(err, secret)
		}
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		c.cfg.Execution.observe(ctx, c.cfg.ID, c.cfg.Ref, connection.StatusError,
			fmt.Sprintf("%s answered HTTP %d", req.URL.Host, resp.StatusCode))
	case resp.StatusCode < 400:
		c.cfg.Execution.observe(ctx, c.cfg.ID, c.cfg.Ref, connection.StatusWorking, "")
	}
	return resp, nil
}

// apply adds non-OAuth credentials to r and returns the secret it added, so
// errors can be scrubbed of it.
func (t *authTransport) apply(r *http.Request) (string, error) {
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
		r.Header.Set(a.Header, a.Prefix+v)
		return v, nil
	case connection.AuthQuery:
		v, err := c.Field(a.Field)
		if err != nil {
			return "", err
		}
		q := r.URL.Query()
		q.Set(a.Param, v)
		r.URL.RawQuery = q.Encode()
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

// setBearer sends the access token in the Bearer scheme (RFC 6750). The
// token response's token_type is not used as the scheme: providers put
// names there that are not HTTP authentication schemes (Slack says "bot" or
// "user" for tokens its API accepts only as "Bearer").
func setBearer(r *http.Request, tok *oauth.Token) {
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken.Reveal())
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
