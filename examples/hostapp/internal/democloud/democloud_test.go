package democloud_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/examples/hostapp/demoauth"
	"github.com/connkit/connkit/examples/hostapp/internal/democloud"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// tokens is a fixed introspector: one token with the scope, one without.
type tokens map[string]demoauth.Grant

func (t tokens) Introspect(tok string) (demoauth.Grant, bool) {
	g, ok := t[tok]
	return g, ok
}

func TestAPI(t *testing.T) {
	api := httptest.NewServer(democloud.API(tokens{
		"good":    {User: "demo", Scopes: []string{democloud.Scope}, Expiry: time.Now().Add(time.Hour)},
		"noscope": {User: "demo", Scopes: []string{"other"}, Expiry: time.Now().Add(time.Hour)},
	}))
	t.Cleanup(api.Close)
	for _, tc := range []struct {
		path, header, value string
		want                int
	}{
		{"/projects?workspace=acme", "Authorization", "Bearer good", http.StatusOK},
		{"/projects?workspace=acme", "Authorization", "Bearer noscope", http.StatusForbidden},
		{"/projects?workspace=acme", "Authorization", "Bearer forged", http.StatusUnauthorized},
		{"/projects?workspace=acme", "Authorization", "bot good", http.StatusUnauthorized},
		{"/projects", "Authorization", "Bearer good", http.StatusBadRequest},
		{"/whoami", "X-Demo-Key", democloud.DemoAPIKey, http.StatusOK},
		{"/whoami", "X-Demo-Key", "nope", http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(http.MethodGet, api.URL+tc.path, nil)
		req.Header.Set(tc.header, tc.value)
		resp, err := api.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s with %s: %q: %d, want %d", tc.path, tc.header, tc.value, resp.StatusCode, tc.want)
		}
	}
}

func TestComponentDeclares(t *testing.T) {
	c, err := component.Declare(democloud.Component(democloud.Options{
		ProviderURL: "http://127.0.0.1:8080/demo/oauth", APIURL: "http://127.0.0.1:8080/demo/api"}))
	if err != nil {
		t.Fatal(err)
	}
	typ, ok := c.ConnectionType(democloud.TypeOAuth)
	if !ok || typ.OAuth2.RevokeURL != "http://127.0.0.1:8080/demo/oauth"+demoauth.PathRevoke {
		t.Errorf("OAuth type = %+v, want the demo provider's revocation endpoint", typ.OAuth2)
	}
}
