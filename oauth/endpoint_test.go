package oauth_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
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
			// An endpoint the flows checked cannot be re-pointed
			// elsewhere (review2 N14: WithTokenURL is gone).
			if out := m.Type.Out(j); out == rt {
				t.Errorf("Endpoint.%s returns another *Endpoint: a checked endpoint could be re-pointed", m.Name)
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

// TestNewEndpointSkipsFlowChecks (review L6/N14): NewEndpoint applies
// neither the origin check nor the scheme check (they run inside Flow and
// Tokens, which never use its endpoints), and its documentation says so
// loudly, so that no host mistakes it for the checked way in.
func TestNewEndpointSkipsFlowChecks(t *testing.T) {
	typ := connection.MustDeclare(connection.Type{Key: "acme", OAuth2: &connection.OAuth2{
		AuthorizeURL: "https://a.example/authorize", TokenURL: "https://a.example/token"}})
	ep, err := oauth.NewEndpoint(&typ, connection.ValuesOf(map[string]string{
		connection.FieldClientID: "c1", connection.FieldClientSecret: "s1",
		connection.FieldTokenURL: "http://user:pw@elsewhere.example/token"}), "https://app.example/cb")
	if err != nil || ep.TokenURL() != "http://user:pw@elsewhere.example/token" {
		t.Fatalf("NewEndpoint with a plain-http token URL = %v: it checks URLs after all; fix its documentation", err)
	}
	if _, err := oauth.NewEndpoint(&typ, connection.Values{}, ""); !errors.Is(err, oauth.ErrMisconfigured) {
		t.Errorf("NewEndpoint without a client id = %v, want ErrMisconfigured", err)
	}

	f, err := parser.ParseFile(token.NewFileSet(), "endpoint.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var doc string
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == "NewEndpoint" {
			doc = fd.Doc.Text()
		}
	}
	for _, want := range []string{"does NOT apply", "no origin check", "no scheme check", "[Flow] and [Tokens]"} {
		if !strings.Contains(doc, want) {
			t.Errorf("NewEndpoint's documentation lacks %q:\n%s", want, doc)
		}
	}
}
