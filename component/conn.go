package component

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/httpx"
	"github.com/connkit/connkit/oauth"
)

// TokenSource gives a connection's current OAuth 2.0 token.
// *oauth.TokenSource implements it.
type TokenSource interface {
	// Token returns a valid token, refreshing it when needed.
	Token(ctx context.Context) (*oauth.Token, error)
	// Invalidate reports that the API rejected the access token and returns
	// a new token when one can be had.
	Invalidate(ctx context.Context, rejected connection.Secret) (*oauth.Token, error)
}

// ConnConfig describes a resolved connection handed to a step. The host (the
// root connkit package) builds it; tests may build one directly.
type ConnConfig struct {
	// Ref and ID identify the connection.
	Ref connection.Ref
	ID  string
	// Type is the declared connection type.
	Type connection.Type
	// Values are the resolved field values.
	Values connection.Values
	// Metadata is non-secret provider data (instance_url, realmId).
	Metadata map[string]string
	// Tokens gives OAuth 2.0 tokens; required for types with OAuth 2.0.
	Tokens TokenSource
	// Transport is the base transport of the authenticated client. A host
	// should build one and share it across all its Conns, as the root
	// connkit package does: connections are then pooled and reused across
	// steps and executions, and the host decides the SSRF guard, egress
	// and timeouts once.
	//
	// Nil means a new SSRF-guarded transport for this Conn alone, with
	// internal/httpx's defaults (among them a 2 minute limit on waiting
	// for response headers). Fine for tests and one-off use, but costly
	// per step: every such Conn opens its own connections (a new TCP and
	// TLS handshake per Conn), and their idle keep-alive connections, each
	// with two goroutines, linger for up to 90 seconds after the step is
	// done, since a Conn has no Close. There is deliberately no shared
	// process-wide default: connkit holds no global mutable state.
	Transport http.RoundTripper
	// Retry configures retries of idempotent requests; the zero value
	// retries 3 times between 250ms and 10s.
	Retry Retry
	// Execution scopes health reports; nil reports nothing.
	Execution *Execution
	// Logger receives request retries and auth failures, redacted; nil
	// discards.
	Logger *slog.Logger
}

// Retry configures the retries of the authenticated client.
type Retry struct {
	// Max is the number of retries after the first attempt: 0 means 3, a
	// negative value disables retries.
	Max int
	// WaitMin and WaitMax bound the wait between attempts, Retry-After
	// included (defaults 250ms and 10s).
	WaitMin, WaitMax time.Duration
}

// Conn is a step's handle on one connection: its values, its token and an
// authenticated *http.Client. Safe for concurrent use.
type Conn struct {
	cfg        ConnConfig
	clientOnce sync.Once
	client     *http.Client
}

// NewConn returns a handle for a resolved connection.
func NewConn(cfg ConnConfig) *Conn {
	cfg.Values = cfg.Values.Clone()
	cfg.Metadata = maps.Clone(cfg.Metadata)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Conn{cfg: cfg}
}

// ID returns the connection's stable opaque id.
func (c *Conn) ID() string { return c.cfg.ID }

// Ref returns the connection's address.
func (c *Conn) Ref() connection.Ref { return c.cfg.Ref }

// Type returns the connection type.
func (c *Conn) Type() connection.Type { return c.cfg.Type }

// Values returns a copy of the resolved field values.
func (c *Conn) Values() connection.Values { return c.cfg.Values.Clone() }

// Field returns the value of a field. A field the type does not have, or one
// without a value, is an error naming the variable and the field.
func (c *Conn) Field(key string) (string, error) {
	if _, ok := c.cfg.Type.Field(key); !ok {
		return "", fmt.Errorf("component: connection %q has no field %q: %w", c.cfg.Ref.Variable, key, ErrNoValue)
	}
	v, ok := c.cfg.Values.Lookup(key)
	if !ok || v == "" {
		return "", fmt.Errorf("component: connection %q: field %q has no value: %w", c.cfg.Ref.Variable, key, ErrNoValue)
	}
	return v, nil
}

// Secret returns the value of a field as a Secret, with the errors of Field.
func (c *Conn) Secret(key string) (connection.Secret, error) {
	if _, err := c.Field(key); err != nil {
		return connection.Secret{}, err
	}
	return c.cfg.Values.Secret(key), nil
}

// Metadata returns a copy of the provider data kept with the connection
// (such as instance_url or realmId).
func (c *Conn) Metadata() map[string]string { return maps.Clone(c.cfg.Metadata) }

// Token returns the connection's current OAuth 2.0 token, refreshing it
// when needed. A connection that holds no token fails with ErrNotConnected.
// An error never contains a secret value of the connection, even one the
// provider echoed in its error description: it is replaced with
// connection.Redacted, also in the *oauth.TokenError that errors.As finds.
func (c *Conn) Token(ctx context.Context) (*oauth.Token, error) {
	if c.cfg.Tokens == nil {
		return nil, fmt.Errorf("component: connection %q has no OAuth 2.0 token source: %w", c.cfg.Ref.Variable, ErrNotConnected)
	}
	tok, err := c.cfg.Tokens.Token(ctx)
	if err != nil {
		err = c.redactTokenErr(err)
		if errors.Is(err, oauth.ErrNotConnected) {
			return nil, &notConnectedError{variable: c.cfg.Ref.Variable, err: err}
		}
		return nil, fmt.Errorf("component: connection %q: %w", c.cfg.Ref.Variable, err)
	}
	return tok, nil
}

// HTTPClient returns a plain *http.Client that authenticates every request by
// the type's declared method (OAuth 2.0 bearer, API key in a header or query
// parameter, HTTP Basic), refreshes OAuth tokens (on a 401 it invalidates the
// token and retries once), retries idempotent requests on network errors,
// 429 (honouring Retry-After) and 5xx with capped jittered backoff, and
// reports the connection's health to the execution. Credentials are sent
// only to the host of the original request, never to another host a
// redirect leads to. Errors and logs never contain a credential, and a
// response's Request is the request the step made, not the copy sent with
// the credential.
//
// The client has no overall Timeout, so long downloads and streamed bodies
// work: bound a call with the request's context. The wait for response
// headers is bounded by the base transport (see ConnConfig.Transport).
//
// The same client is returned on every call.
func (c *Conn) HTTPClient() *http.Client {
	c.clientOnce.Do(func() {
		base := c.cfg.Transport
		if base == nil {
			base = httpx.NewTransport(httpx.Config{})
		}
		retrying := httpx.NewRetryingClient(base, httpx.RetryConfig{
			RetryMax: c.cfg.Retry.Max,
			WaitMin:  c.cfg.Retry.WaitMin,
			WaitMax:  c.cfg.Retry.WaitMax,
			Logger:   c.cfg.Logger,
		})
		c.client = &http.Client{Transport: &authTransport{next: retrying.Transport, conn: c}}
	})
	return c.client
}

// notConnectedError says once that a connection is not connected; it
// matches ErrNotConnected and unwraps to the token source's error.
type notConnectedError struct {
	variable string
	err      error
}

func (e *notConnectedError) Error() string {
	return fmt.Sprintf("component: connection %q is not connected (CONNECT it first)", e.variable)
}

func (e *notConnectedError) Is(target error) bool { return target == ErrNotConnected }

func (e *notConnectedError) Unwrap() error { return e.err }
