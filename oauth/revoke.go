package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/httpx"
)

// Token type hints of RFC 7009 section 2.1.
const (
	HintRefreshToken = "refresh_token"
	HintAccessToken  = "access_token"
)

// maxRevokeBody bounds how much of a revocation response is read.
const maxRevokeBody = 64 << 10

// Revoke revokes token at the endpoint's revocation URL (RFC 7009) with the
// given token_type_hint ([HintRefreshToken] or [HintAccessToken]),
// authenticating the client the way the type declares for the token
// endpoint (a client without secret sends its client_id). Retries are the
// client's business (see [NewHTTPClient]). A 200 answer is success, whether
// or not the provider knew the token; anything else is a *TokenError with
// Op "revoke" carrying the provider's error code and description, never
// the token. An endpoint without revocation URL is ErrMisconfigured.
func (e *Endpoint) Revoke(ctx context.Context, client *http.Client, token connection.Secret, hint string) error {
	if e.revokeURL == "" {
		return fmt.Errorf("oauth: no revocation URL: %w", ErrMisconfigured)
	}
	if token.IsZero() {
		return nil
	}
	if client == nil {
		client = NewHTTPClient(HTTPClientConfig{})
	}
	form := url.Values{"token": {token.Reveal()}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	secret := e.clientSecret.Reveal()
	basic := secret != "" && e.settings.ClientAuthOrDefault() == connection.ClientAuthBasic
	if !basic {
		form.Set("client_id", e.clientID)
		if secret != "" {
			form.Set("client_secret", secret)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.revokeURL, strings.NewReader(form.Encode()))
	if err != nil {
		return &TokenError{Op: "revoke", Err: fmt.Errorf("build request: %w", httpx.RedactError(err))}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		// RFC 6749 section 2.3.1: form-encode both before Basic.
		req.SetBasicAuth(url.QueryEscape(e.clientID), url.QueryEscape(secret))
	}
	secrets := e.secretForms(token)
	resp, err := client.Do(req)
	if err != nil {
		return &TokenError{Op: "revoke", Err: redactError(scrub(httpx.RedactError(err)), secrets)}
	}
	body, rerr := httpx.ReadBody(resp, maxRevokeBody)
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	te := &TokenError{Op: "revoke", StatusCode: resp.StatusCode}
	if d, ok := httpx.RetryAfter(resp.Header, e.clock()); ok {
		te.RetryAfter = d
	}
	if rerr == nil {
		var eb struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
		}
		if json.Unmarshal(body, &eb) == nil {
			te.Code = redactText(eb.Error, secrets, 64)
			te.Description = redactText(eb.ErrorDescription, secrets, maxDescription)
		}
	}
	return te
}
