package oauthtest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/connkit/connkit/internal/oauthtest"
)

func fuzzServer(f *testing.F) *oauthtest.Server {
	return oauthtest.NewUnstarted(f, oauthtest.Config{Clients: []oauthtest.Client{
		{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}},
		{ID: "pub", RedirectURIs: []string{redirectURI, "https://app.example/other?x=1"}},
	}})
}

// FuzzTokenEndpoint checks that any token request gets a JSON answer with
// either an access token or an RFC 6749 error, never a panic or a 5xx.
func FuzzTokenEndpoint(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "grant_type=client_credentials", clientID, clientSecret)
	f.Add("application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=x&client_id=pub", "", "")
	f.Add("application/x-www-form-urlencoded", "grant_type=authorization_code&code=ac_x&code_verifier=abc", "pub", "")
	f.Add("application/json", `{"grant_type":"client_credentials"}`, clientID, clientSecret)
	f.Add("application/x-www-form-urlencoded; charset=utf-8", "grant_type=client_credentials&client_id=client-1&client_secret=s3cret%2F%2B%26%3D", "", "")
	s := fuzzServer(f)
	f.Fuzz(func(t *testing.T, contentType, body, user, pass string) {
		req := httptest.NewRequest(http.MethodPost, oauthtest.PathToken, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if user != "" || pass != "" {
			req.SetBasicAuth(user, pass)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		var resp map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("status %d, body %q is not JSON: %v", rec.Code, rec.Body, err)
		}
		switch rec.Code {
		case http.StatusOK:
			if at, _ := resp["access_token"].(string); at == "" {
				t.Fatalf("200 without access_token: %v", resp)
			}
		case http.StatusBadRequest, http.StatusUnauthorized:
			if e, _ := resp["error"].(string); e == "" {
				t.Fatalf("%d without error: %v", rec.Code, resp)
			}
		default:
			t.Fatalf("status %d: %v", rec.Code, resp)
		}
	})
}

// FuzzAuthorizeEndpoint checks that the authorization endpoint never
// redirects anywhere but a registered redirect URI (no open redirect), and
// otherwise answers 400.
func FuzzAuthorizeEndpoint(f *testing.F) {
	f.Add("client_id=client-1&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback&response_type=code&state=s")
	f.Add("client_id=pub&response_type=code")
	f.Add("client_id=pub&redirect_uri=https%3A%2F%2Fapp.example%2Fother%3Fx%3D1&response_type=code&code_challenge=" + strings.Repeat("a", 43))
	f.Add("client_id=client-1&redirect_uri=https%3A%2F%2Fevil.example%2F&response_type=code")
	f.Add("client_id=client-1&response_type=token&scope=a%20b")
	s := fuzzServer(f)
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest(http.MethodGet, oauthtest.PathAuthorize, nil)
		req.URL.RawQuery = query
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusFound:
			loc, err := url.Parse(rec.Header().Get("Location"))
			if err != nil {
				t.Fatalf("bad Location %q: %v", rec.Header().Get("Location"), err)
			}
			target := loc.Scheme + "://" + loc.Host + loc.Path
			if target != redirectURI && target != "https://app.example/other" {
				t.Fatalf("redirected to unregistered %q", loc)
			}
			q := loc.Query()
			if q.Has("code") == q.Has("error") {
				t.Fatalf("redirect must carry exactly one of code and error: %v", q)
			}
		case http.StatusBadRequest:
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}
