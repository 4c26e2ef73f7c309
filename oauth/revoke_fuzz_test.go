package oauth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/oauth"
)

// Secrets of FuzzRevokeError's requests; "TOKEN" and "SECRET" in a fuzzed
// body are replaced by them, so the fuzzer can echo them.
const (
	fzRevokeToken  = "rt-Revoke/Me+42=="
	fzClientSecret = "cs-Fuzz/Secret&9"
)

// FuzzRevokeError serves an arbitrary revocation answer (status, body,
// Retry-After) to Endpoint.Revoke. Invariants: no panic; a 2xx answer is
// success; anything else is a *TokenError with Op "revoke" and the status,
// whose error code (at most 64 bytes) and description (at most 256) are
// printable ASCII; the token being revoked and the client secret (as is or
// form-encoded) appear neither in them nor in the error's text, however the
// body echoes them; RetryAfter is never negative.
func FuzzRevokeError(f *testing.F) {
	for _, s := range []struct {
		status     int
		body       string
		retryAfter string
	}{
		{200, ``, ``},
		{204, `garbage`, ``},
		{400, `{"error":"unsupported_token_type","error_description":"hint not supported"}`, ``},
		{400, `{"error":"invalid_request","error_description":"token TOKEN is malformed"}`, ``},
		{401, `{"error":"invalid_client","error_description":"client secret SECRET is wrong"}`, ``},
		{401, `{"error":"invalid_client SECRET","error_description":"\u0001SEC\u0002RET"}`, ``},
		{503, `{"error":"temporarily_unavailable"}`, `120`},
		{503, `<html>busy</html>`, `Wed, 21 Oct 2015 07:28:00 GMT`},
		{429, `{"error":42,"error_description":["x"]}`, `-5`},
		{500, `{"error_description":"` + strings.Repeat("A", 300) + `TOKEN"}`, ``},
		{302, ``, ``},
	} {
		f.Add(s.status, []byte(s.body), s.retryAfter)
	}
	typ := connection.MustDeclare(connection.Type{Key: "acme", OAuth2: &connection.OAuth2{
		AuthorizeURL: "https://p.example/authorize", TokenURL: "https://p.example/token", RevokeURL: "https://p.example/revoke"}})
	ep, err := oauth.NewEndpoint(&typ, connection.ValuesOf(map[string]string{
		connection.FieldClientID: "c1", connection.FieldClientSecret: fzClientSecret}), "")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter string) {
		if status < 100 || status > 599 {
			status = 400
		}
		text := strings.NewReplacer("TOKEN", fzRevokeToken, "SECRET", fzClientSecret,
			"ENCTOKEN", url.QueryEscape(fzRevokeToken), "ENCSECRET", url.QueryEscape(fzClientSecret)).Replace(string(body))
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			h := http.Header{"Content-Type": {"application/json"}}
			if retryAfter != "" {
				h.Set("Retry-After", retryAfter)
			}
			return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(text)), Request: r}, nil
		}), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		err := ep.Revoke(context.Background(), client, connection.NewSecret(fzRevokeToken), oauth.HintRefreshToken)
		if status >= 200 && status <= 299 {
			if err != nil {
				t.Fatalf("HTTP %d: %v", status, err)
			}
			return
		}
		var te *oauth.TokenError
		if !errors.As(err, &te) {
			t.Fatalf("HTTP %d: %v is not a *TokenError", status, err)
		}
		if te.Op != "revoke" || te.StatusCode != status || te.RetryAfter < 0 {
			t.Fatalf("TokenError %+v for HTTP %d", te, status)
		}
		if len(te.Code) > 64 || len(te.Description) > 256 || !printable(te.Code) || !printable(te.Description) {
			t.Fatalf("code %q, description %q", te.Code, te.Description)
		}
		for _, s := range []string{fzRevokeToken, fzClientSecret, url.QueryEscape(fzRevokeToken), url.QueryEscape(fzClientSecret)} {
			if strings.Contains(te.Code, s) || strings.Contains(te.Description, s) || strings.Contains(err.Error(), s) {
				t.Fatalf("a secret is in the error: code %q, description %q", te.Code, te.Description)
			}
		}
	})
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
