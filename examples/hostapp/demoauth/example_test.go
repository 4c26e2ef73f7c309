package demoauth_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/examples/hostapp/demoauth"
)

// Mount the demo provider and open its login and consent page the way
// CONNECT sends a browser there.
func Example() {
	srv, err := demoauth.New(demoauth.Config{
		Key:     []byte("use 32 or more random bytes here"),
		Clients: []demoauth.Client{{ID: "app", Secret: connection.NewSecret("app-secret"), Name: "Example App", RedirectURIs: []string{"http://127.0.0.1:9/cb"}}},
		Users:   []demoauth.User{{Username: "demo", Password: connection.NewSecret("demo")}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ts := httptest.NewServer(http.StripPrefix("/oauth", srv.Handler()))
	defer ts.Close()

	q := url.Values{"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {"http://127.0.0.1:9/cb"},
		"state": {"xyz"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
	resp, err := http.Get(ts.URL + "/oauth" + demoauth.PathAuthorize + "?" + q.Encode())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.Contains(resp.Header.Get("Content-Security-Policy"), "form-action 'self' http://127.0.0.1:9"))

	_, ok := srv.Introspect("not-a-token")
	fmt.Println("valid:", ok)
	// Output:
	// 200 true
	// valid: false
}
