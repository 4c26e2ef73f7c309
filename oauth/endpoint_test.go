package oauth_test

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/oauth"
)

// TestEndpointHandsOutNoInternals: an Endpoint offers no accessor that
// returns its client secret in plaintext (the x/oauth2 configuration is
// unexported), printing it shows no secret, and the settings it returns are
// a copy (L6).
func TestEndpointHandsOutNoInternals(t *testing.T) {
	const secret = "endpoint-secret-4711"
	typ := connection.MustDeclare(connection.Type{Key: "acme", OAuth2: &connection.OAuth2{
		AuthorizeURL: "https://a.example/authorize", TokenURL: "https://a.example/token",
		AuthorizeParams: map[string]string{"prompt": "consent"}, Scopes: []string{"read"}}})
	ep, err := oauth.NewEndpoint(&typ, connection.ValuesOf(map[string]string{
		connection.FieldClientID: "c1", connection.FieldClientSecret: secret}), "https://app.example/cb")
	if err != nil {
		t.Fatal(err)
	}
	rt := reflect.TypeOf(ep)
	for i := range rt.NumMethod() {
		m := rt.Method(i)
		for j := range m.Type.NumOut() {
			if out := m.Type.Out(j); out.String() == "*oauth2.Config" || out.String() == "oauth2.Config" {
				t.Errorf("Endpoint.%s returns %s, which holds the plaintext client secret", m.Name, out)
			}
		}
	}
	for _, s := range []string{fmt.Sprintf("%v", ep), fmt.Sprintf("%+v", ep), fmt.Sprintf("%#v", ep), fmt.Sprintf("%+v", *ep)} {
		if strings.Contains(s, secret) {
			t.Errorf("printing the endpoint shows the secret: %s", s)
		}
	}
	o := ep.Settings()
	o.AuthorizeParams["prompt"] = "none"
	o.AuthorizeParams["evil"] = "1"
	o.Scopes[0] = "admin"
	o.ClientAuth = connection.ClientAuthBody
	u, err := url.Parse(ep.AuthCodeURL("st", ""))
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); q.Get("prompt") != "consent" || q.Has("evil") || q.Get("scope") != "read" {
		t.Errorf("changing Settings() changed the endpoint: %v", q)
	}
	if ep.Settings().ClientAuth != "" || typ.OAuth2.AuthorizeParams["prompt"] != "consent" {
		t.Error("changing Settings() changed the endpoint's settings or the type")
	}
}
