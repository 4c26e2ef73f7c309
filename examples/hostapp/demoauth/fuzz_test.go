package demoauth_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/examples/hostapp/demoauth"
)

func fuzzServer(f *testing.F) *demoauth.Server {
	srv, err := demoauth.New(demoauth.Config{
		Key:     testKey,
		Clients: []demoauth.Client{{ID: clientID, Secret: connection.NewSecret(clientSecret), RedirectURIs: []string{redirectURI}}},
		Users:   []demoauth.User{{Username: "demo", Password: connection.NewSecret("demo")}},
	})
	if err != nil {
		f.Fatal(err)
	}
	return srv
}

// Introspect parses bearer tokens from API requests: outside input. It must
// never panic and never accept what this server did not sign.
func FuzzIntrospect(f *testing.F) {
	srv := fuzzServer(f)
	f.Add("dc1.eyJrIjoiYXQifQ.AAAA")
	f.Add("dc1..")
	f.Add("dc1.")
	f.Add("Bearer x")
	f.Fuzz(func(t *testing.T, tok string) {
		if g, ok := srv.Introspect(tok); ok {
			t.Fatalf("accepted a token it did not issue: %q -> %+v", tok, g)
		}
	})
}

// The authorization endpoint never redirects anywhere but the registered
// redirect URI, whatever the query.
func FuzzAuthorize(f *testing.F) {
	srv := fuzzServer(f)
	f.Add("client_id=" + clientID + "&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Foauth%2Fcallback&response_type=code")
	f.Add("client_id=" + clientID + "&redirect_uri=http%3A%2F%2Fevil.example%2F&response_type=token")
	f.Add("client_id=" + clientID + "&response_type=code&code_challenge=x&code_challenge_method=S256&scope=a%20b")
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest(http.MethodGet, "/authorize", nil)
		req.URL.RawQuery = query
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		if loc := rec.Header().Get("Location"); loc != "" && !strings.HasPrefix(loc, redirectURI+"?") {
			t.Fatalf("redirected to %q", loc)
		}
	})
}
