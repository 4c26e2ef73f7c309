package oauth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/httpx"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrNotConnected: the connection holds no token set (never connected,
	// or disconnected).
	ErrNotConnected = errors.New("oauth: connection is not connected")
	// ErrReconnect: the provider refused the refresh token (invalid_grant);
	// only a new CONNECT by the customer helps.
	ErrReconnect = errors.New("oauth: connection must be reconnected")
	// ErrMisconfigured: the provider refused the client (a *TokenError
	// with invalid_client or unauthorized_client), or connkit refused the
	// connection's OAuth settings itself, before sending anything (an error
	// that is not a *TokenError): no OAuth 2.0 settings, a missing client
	// id or URL, an endpoint URL that is not https or comes from a layer
	// not trusted with the client secret (see [FlowConfig]), or a token URL
	// changed since CONNECT ([*EndpointChangedError]). A failed refresh
	// reports the two apart: "invalid_client: the provider refused ..."
	// against "configuration refused locally: ...".
	ErrMisconfigured = errors.New("oauth: connection is misconfigured")
	// ErrUnboundConnect: [Flow.Start] was called, or a callback arrived for
	// a CONNECT begun without browser binding, while the flow requires it
	// (see FlowConfig.AllowUnboundConnect): use [Flow.StartRedirect].
	ErrUnboundConnect = errors.New("oauth: CONNECT is not bound to a browser")
	// ErrBadStartRequest: [Flow.StartRedirect] refused the browser's
	// request (not a POST, or not sent to the host of the RedirectURL) and
	// answered it itself.
	ErrBadStartRequest = errors.New("oauth: CONNECT start request refused")
	// ErrConfig: [NewFlow] or [NewTokens] refused its configuration (a
	// required field missing, an unusable RedirectURL or Metadata entry,
	// RefreshTimeout not shorter than LeaseTTL). Every error either returns
	// matches it; the message says which field is wrong.
	ErrConfig = errors.New("oauth: invalid configuration")
)

// TokenError is a failed call to a token (or revocation) endpoint. It carries
// the RFC 6749 section 5.2 error code and description the provider sent, never
// the raw response body and never a secret: a secret of the request (the
// client secret, also form-encoded or in base64, the refresh token, the
// authorization code, the PKCE verifier, the token being revoked) that the
// provider echoes in its code or description is replaced with
// connection.Redacted. It matches [ErrReconnect] for
// invalid_grant and [ErrMisconfigured] for invalid_client and
// unauthorized_client.
type TokenError struct {
	// Op is what was attempted: "exchange", "refresh", "client_credentials"
	// or "revoke".
	Op string
	// StatusCode is the HTTP status, 0 when no response arrived.
	StatusCode int
	// Code and Description are the provider's error and error_description,
	// printable ASCII only, with the request's secrets redacted.
	Code        string
	Description string
	// RetryAfter is the delay the provider asked for (429/503), or 0.
	RetryAfter time.Duration
	// Err is the underlying cause (a network error, a context error), or nil.
	Err error
}

// Error describes the failed call: operation, HTTP status, the provider's
// error code and (redacted) description, and the cause; never a secret.
func (e *TokenError) Error() string {
	var b strings.Builder
	b.WriteString("oauth: ")
	b.WriteString(e.Op)
	b.WriteString(" failed")
	if e.StatusCode != 0 {
		b.WriteString(": HTTP ")
		b.WriteString(strconv.Itoa(e.StatusCode))
	}
	if e.Code != "" {
		b.WriteString(": ")
		b.WriteString(e.Code)
	}
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *TokenError) Unwrap() error { return e.Err }

// Is matches ErrReconnect and ErrMisconfigured by error code.
func (e *TokenError) Is(target error) bool {
	switch target {
	case ErrReconnect:
		return e.Code == "invalid_grant"
	case ErrMisconfigured:
		return e.Code == "invalid_client" || e.Code == "unauthorized_client"
	}
	return false
}

// Temporary reports whether trying again later may succeed: no response
// (network error), 429, or a 5xx status. A cancelled call, a destination
// refused by the SSRF guard and an oversized response are not temporary.
func (e *TokenError) Temporary() bool {
	if e.Err != nil && (errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, httpx.ErrBlocked) || errors.Is(e.Err, httpx.ErrTooLarge)) {
		return false
	}
	return e.StatusCode == 0 || e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// maxDescription bounds how much of a provider's error_description is kept.
const maxDescription = 256

// tokenError converts an error of x/oauth2 into a *TokenError that holds no
// response body. Errors from the HTTP client are kept as Err after the
// caller's transport has redacted URLs. secrets are the forms of the
// request's secrets (see secretForms): any of them the provider echoes in
// its error code or description is replaced with connection.Redacted. now
// is the caller's clock reading, against which a Retry-After given as an
// HTTP-date is turned into a delay.
func tokenError(op string, err error, secrets []string, now time.Time) *TokenError {
	if te, ok := errors.AsType[*TokenError](err); ok {
		return te
	}
	te := &TokenError{Op: op}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		te.Code = redactText(re.ErrorCode, secrets, 64)
		te.Description = redactText(re.ErrorDescription, secrets, maxDescription)
		if re.Response != nil {
			te.StatusCode = re.Response.StatusCode
			te.RetryAfter = retryAfter(re.Response.Header.Get("Retry-After"), now)
		}
		if te.Code == "" && te.StatusCode == 0 {
			te.Err = errors.New("unexpected response")
		}
		return te
	}
	// Errors of the HTTP client name the token URL: redact its query.
	te.Err = redactError(scrub(httpx.RedactError(err)), secrets)
	return te
}

// secretForms returns the strings a provider could echo back of a request's
// secrets: the client secret as sent in a form (and in a path), in base64
// alone and as the Basic credentials "id:secret" (form-encoded, RFC 6749
// section 2.3.1, and not), and every other secret (refresh token, code,
// verifier, token to revoke) as is and form-encoded. Percent-encodings
// also come with lower-case hex. Longest first, so that a longer form is
// replaced before a shorter one inside it; empty secrets give nothing.
func secretForms(clientID string, clientSecret connection.Secret, others ...connection.Secret) []string {
	var forms []string
	add := func(vs ...string) {
		for _, v := range vs {
			if v == "" {
				continue
			}
			forms = append(forms, v)
			if lower := lowerPercent(v); lower != v {
				forms = append(forms, lower)
			}
		}
	}
	if cs := clientSecret.Reveal(); cs != "" {
		add(cs, url.QueryEscape(cs), url.PathEscape(cs))
		for _, raw := range []string{cs, url.QueryEscape(clientID) + ":" + url.QueryEscape(cs), clientID + ":" + cs} {
			b := []byte(raw)
			add(base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
				base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b))
		}
	}
	for _, o := range others {
		if v := o.Reveal(); v != "" {
			add(v, url.QueryEscape(v))
		}
	}
	slices.SortFunc(forms, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return slices.Compact(forms)
}

var percentHex = regexp.MustCompile(`%[0-9A-F]{2}`)

// lowerPercent returns s with the hex digits of its percent-encodings in
// lower case (some servers decode and re-encode that way).
func lowerPercent(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	return percentHex.ReplaceAllStringFunc(s, strings.ToLower)
}

// redactText returns provider text safe to keep: every secret form
// replaced with connection.Redacted (before and after dropping
// non-printable characters, which could otherwise split a secret the
// first pass misses), printable ASCII only, at most n bytes, cut only after
// redaction so that no secret is ever kept in part.
func redactText(s string, secrets []string, n int) string {
	s = replaceSecrets(s, secrets)
	s = sanitize(s, len(s))
	s = replaceSecrets(s, secrets)
	if len(s) > n {
		s = s[:n]
	}
	return s
}

func replaceSecrets(s string, secrets []string) string {
	for _, f := range secrets {
		if f != "" && strings.Contains(s, f) {
			s = strings.ReplaceAll(s, f, connection.Redacted)
		}
	}
	return s
}

// redactError returns err, or when its text holds a secret form an error
// with that text redacted (context errors keep matching with errors.Is).
func redactError(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	red := replaceSecrets(msg, secrets)
	if red == msg {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", red, context.Canceled)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", red, context.DeadlineExceeded)
	}
	return errors.New(red)
}

// scrub removes x/oauth2's habit of embedding response bodies in messages.
func scrub(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := err.Error()
	if i := strings.Index(msg, "\nResponse:"); i >= 0 {
		return errors.New(msg[:i])
	}
	if strings.HasPrefix(msg, "oauth2: cannot parse json") || strings.HasPrefix(msg, "oauth2: cannot unmarshal") {
		return errors.New("oauth2: token response is not valid JSON")
	}
	return err
}

// sanitize keeps printable ASCII (RFC 6749 limits error and
// error_description to it) and truncates to n bytes.
func sanitize(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < n; i++ {
		c := s[i]
		if c >= 0x20 && c <= 0x7e {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// retryAfter parses a Retry-After header (seconds or HTTP-date); 0 when absent
// or unparsable.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
