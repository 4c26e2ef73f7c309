package oauthtest_test

import (
	"context"
	"fmt"
	"log"

	"golang.org/x/oauth2"

	"github.com/connkit/connkit/internal/oauthtest"
)

// exampleT stands in for the *testing.T a real test passes.
type exampleT struct{ cleanups []func() }

func (*exampleT) Helper()            {}
func (t *exampleT) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) done() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// A whole authorization code flow with PKCE, then a refresh with rotation.
func Example() {
	t := &exampleT{} // in a test: the *testing.T
	defer t.done()
	s := oauthtest.New(t, oauthtest.Config{
		RotateRefreshTokens: true,
		Clients: []oauthtest.Client{{
			ID: "app", Secret: "secret", RedirectURIs: []string{"https://app.example/cb"},
			AuthStyle: oauthtest.AuthStyleHeader,
		}},
	})
	conf := &oauth2.Config{
		ClientID: "app", ClientSecret: "secret", RedirectURL: "https://app.example/cb",
		Endpoint: oauth2.Endpoint{AuthURL: s.AuthorizeURL(), TokenURL: s.TokenURL(), AuthStyle: oauth2.AuthStyleInHeader},
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, s.Client())

	verifier := oauth2.GenerateVerifier()
	callback, err := s.Authorize(ctx, conf.AuthCodeURL("xyz", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("state:", callback.Query().Get("state"))
	tok, err := conf.Exchange(ctx, callback.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("active:", s.Active(tok.AccessToken))

	tok.Expiry = tok.Expiry.AddDate(0, 0, -1) // make it stale
	fresh, err := conf.TokenSource(ctx, tok).Token()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("rotated:", fresh.RefreshToken != tok.RefreshToken)
	fmt.Println("token calls:", s.Calls(oauthtest.PathToken))
	// Output:
	// state: xyz
	// active: true
	// rotated: true
	// token calls: 2
}

// Faults: the next two token requests get 503 with Retry-After.
func ExampleServer_FailToken() {
	t := &exampleT{}
	defer t.done()
	s := oauthtest.NewUnstarted(t, oauthtest.Config{Clients: []oauthtest.Client{{ID: "app", Secret: "secret"}}})
	s.FailToken(2, oauthtest.Fault{Status: 503, RetryAfter: "1"})
	for range 3 {
		resp, err := s.Client().PostForm(s.TokenURL(), map[string][]string{
			"grant_type": {"client_credentials"}, "client_id": {"app"}, "client_secret": {"secret"},
		})
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Output:
	// 503 1
	// 503 1
	// 200
}
