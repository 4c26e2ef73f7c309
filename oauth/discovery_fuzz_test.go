package oauth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/connkit/connkit/oauth"
)

// FuzzDiscoverMetadata serves an arbitrary metadata document (with an
// arbitrary status) for an arbitrary issuer path and runs Discover, which
// decodes it and checks it (Metadata.check). Invariants: no panic; an error
// matches ErrMetadata or ErrIssuerMismatch; accepted metadata names exactly
// the issuer asked for, has a token endpoint, and every endpoint it names is
// an absolute http(s) URL with a host and without user information or
// fragment.
func FuzzDiscoverMetadata(f *testing.F) {
	for _, s := range []struct {
		path   string
		status int
		body   string
	}{
		{"", 200, `{"issuer":"https://as.example","authorization_endpoint":"https://as.example/authorize","token_endpoint":"https://as.example/token","revocation_endpoint":"https://as.example/revoke","code_challenge_methods_supported":["S256"],"authorization_response_iss_parameter_supported":true}`},
		{"/tenant", 200, `{"issuer":"https://as.example/tenant","token_endpoint":"https://as.example/tenant/token"}`},
		{"", 200, `{"issuer":"https://evil.example","token_endpoint":"https://evil.example/token"}`},
		{"", 200, `{"issuer":"https://as.example","token_endpoint":"javascript:alert(1)"}`},
		{"", 200, `{"issuer":"https://as.example","token_endpoint":"https://u:p@as.example/token"}`},
		{"", 200, `{"issuer":"https://as.example","token_endpoint":"https://as.example/token#frag"}`},
		{"", 200, `{"issuer":"https://as.example"}`},
		{"", 200, `{"issuer":"https://as.example","token_endpoint":"/token"}`},
		{"", 200, `{"issuer":"https://as.example","token_endpoint":"https://as.example/token","code_challenge_methods_supported":"S256"}`},
		{"", 200, `[]`},
		{"", 200, `null`},
		{"", 404, `not found`},
		{"", 500, `{"issuer":"https://as.example","token_endpoint":"https://as.example/token"}`},
		{"/a/../b", 200, `{"issuer":"https://as.example/a/../b","token_endpoint":"https://as.example/t"}`},
	} {
		f.Add(s.path, s.status, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, path string, status int, body []byte) {
		if status < 100 || status > 599 {
			status = 200
		}
		issuer := "https://as.example" + path
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(string(body))), Request: r}, nil
		})}
		md, err := oauth.Discover(context.Background(), client, issuer)
		if err != nil {
			if !errors.Is(err, oauth.ErrMetadata) && !errors.Is(err, oauth.ErrIssuerMismatch) {
				t.Fatalf("Discover error %v matches neither ErrMetadata nor ErrIssuerMismatch", err)
			}
			if md != nil {
				t.Fatalf("Discover returned metadata with an error: %+v", md)
			}
			return
		}
		if status != http.StatusOK {
			t.Fatalf("metadata accepted from an HTTP %d answer", status)
		}
		if md.Issuer != issuer {
			t.Fatalf("metadata for %q names issuer %q", issuer, md.Issuer)
		}
		if md.TokenEndpoint == "" {
			t.Fatal("metadata without token endpoint accepted")
		}
		for _, e := range []string{md.AuthorizationEndpoint, md.TokenEndpoint, md.RevocationEndpoint} {
			if e == "" {
				continue
			}
			u, err := url.Parse(e)
			if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.Fragment != "" {
				t.Fatalf("metadata endpoint %q accepted", e)
			}
		}
	})
}
