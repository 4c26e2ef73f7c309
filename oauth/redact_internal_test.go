package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/connkit/connkit/connection"
)

// TestRedactText: every form in which a provider could echo a request's
// secrets is replaced, also when control characters split it, and no
// secret is ever cut in part by the length limit.
func TestRedactText(t *testing.T) {
	const id, secret = "client-1", "s3cret/+&=XYZ"
	rt := connection.NewSecret("rt-abcdef123456")
	forms := secretForms(id, connection.NewSecret(secret), rt, connection.Secret{})
	basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
	for _, tc := range []struct{ name, in string }{
		{"plain", "bad secret " + secret},
		{"form-encoded", "client_secret=" + url.QueryEscape(secret)},
		{"form-encoded, lower-case hex", "client_secret=" + strings.NewReplacer("%2F", "%2f", "%2B", "%2b", "%3D", "%3d").Replace(url.QueryEscape(secret))},
		{"path-escaped", "/x/" + url.PathEscape(secret)},
		{"base64", base64.StdEncoding.EncodeToString([]byte(secret))},
		{"base64url", base64.RawURLEncoding.EncodeToString([]byte(secret))},
		{"Basic credentials", "Authorization: Basic " + basic},
		{"raw Basic credentials", base64.StdEncoding.EncodeToString([]byte(id + ":" + secret))},
		{"split by a control character", "bad " + secret[:4] + "\x01" + secret[4:]},
		{"refresh token", "token " + rt.Reveal() + " is revoked"},
		{"refresh token at the end of a long text", strings.Repeat("x", 250) + rt.Reveal()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := redactText(tc.in, forms, 256)
			for _, s := range []string{secret, url.QueryEscape(secret), basic, rt.Reveal(), rt.Reveal()[:8], secret[:8]} {
				if strings.Contains(got, s) {
					t.Errorf("redactText(%q) = %q, still holds %q", tc.in, got, s)
				}
			}
			if !strings.Contains(got, connection.Redacted[:6]) {
				t.Errorf("redactText(%q) = %q: nothing redacted", tc.in, got)
			}
			if len(got) > 256 {
				t.Errorf("len = %d", len(got))
			}
		})
	}
	if got := redactText("invalid_grant", forms, 64); got != "invalid_grant" {
		t.Errorf("an error code without secrets = %q", got)
	}
	if got := secretForms("", connection.Secret{}); len(got) != 0 {
		t.Errorf("secretForms of nothing = %q", got)
	}
}

// TestRedactError: a transport error whose text holds a secret is replaced,
// keeping context errors matchable.
func TestRedactError(t *testing.T) {
	forms := secretForms("id", connection.NewSecret("topsecret"))
	err := redactError(errors.Join(errors.New("dial topsecret.example"), context.Canceled), forms)
	if strings.Contains(err.Error(), "topsecret") || !errors.Is(err, context.Canceled) {
		t.Errorf("redactError = %v (canceled: %v)", err, errors.Is(err, context.Canceled))
	}
	plain := errors.New("connection refused")
	if got := redactError(plain, forms); got != plain {
		t.Errorf("an error without secrets was replaced: %v", got)
	}
}

// TestRevokeErrorRedacted: a revocation endpoint echoing the token being
// revoked and the client secret gets both redacted in the *TokenError.
func TestRevokeErrorRedacted(t *testing.T) {
	typ := connection.MustDeclare(connection.Type{Key: "acme", OAuth2: &connection.OAuth2{
		AuthorizeURL: "https://p.example/authorize", TokenURL: "https://p.example/token", RevokeURL: "https://p.example/revoke",
		ClientAuth: connection.ClientAuthBody}})
	const secret = "the-client-secret"
	ep, err := NewEndpoint(&typ, connection.ValuesOf(map[string]string{
		connection.FieldClientID: "c1", connection.FieldClientSecret: secret}), "")
	if err != nil {
		t.Fatal(err)
	}
	echo := roundTrip(func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(b))
		rec := httptest.NewRecorder()
		rec.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(rec).Encode(map[string]string{
			"error":             "invalid_request " + form.Get("token"),
			"error_description": "token " + form.Get("token") + " of client " + form.Get("client_secret") + " unknown",
		})
		return rec.Result(), nil
	})
	err = ep.Revoke(context.Background(), &http.Client{Transport: echo}, connection.NewSecret("rt-to-revoke-42"), HintRefreshToken)
	te, ok := errors.AsType[*TokenError](err)
	if !ok {
		t.Fatalf("Revoke = %v", err)
	}
	if strings.Contains(err.Error(), "rt-to-revoke-42") || strings.Contains(err.Error(), secret) ||
		te.Description != "token [REDACTED] of client [REDACTED] unknown" || te.Code != "invalid_request [REDACTED]" {
		t.Errorf("TokenError code %q, description %q", te.Code, te.Description)
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
