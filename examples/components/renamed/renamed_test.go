package renamed_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/examples/components/internal/componenttest"
	"github.com/connkit/connkit/examples/components/renamed"
	"github.com/connkit/connkit/internal/oauthtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	appID     = "1234567890123456"
	appSecret = "meta-app-secret-fedcba9876543210"
)

func TestRelabelKeepsKeys(t *testing.T) {
	generic, typ := renamed.GenericOAuth2(), renamed.Type()
	for _, tc := range []struct{ key, generic, renamed string }{
		{connection.FieldClientID, "Client ID", "App ID"},
		{connection.FieldClientSecret, "Client Secret", "App Secret"},
		{connection.FieldScopes, "Scopes", "Scopes"},
	} {
		g, _ := generic.Field(tc.key)
		r, ok := typ.Field(tc.key)
		if !ok || g.Label != tc.generic || r.Label != tc.renamed {
			t.Errorf("field %q: labels %q -> %q, want %q -> %q", tc.key, g.Label, r.Label, tc.generic, tc.renamed)
		}
		if r.Required != g.Required || r.IsSecret() != g.IsSecret() || r.Kind != g.Kind {
			t.Errorf("field %q changed more than its label", tc.key)
		}
	}
}

// The customer brings their own Meta app: they see "App ID" and "App
// Secret", enter them under the standard keys, and CONNECT sends them as
// the OAuth 2.0 client id and secret.
func TestCustomerSeesAppIDAndConnects(t *testing.T) {
	var auth *oauthtest.Server
	graph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !auth.Active(tok) {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190}}`)
			return
		}
		if r.URL.Path != "/me" || r.URL.Query().Get("fields") != "id,name" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"message":"Unknown path","type":"GraphMethodException","code":100}}`)
			return
		}
		fmt.Fprint(w, `{"id":"10158","name":"Jane Doe"}`)
	}))
	t.Cleanup(graph.Close)

	h := componenttest.New(t, componenttest.Config{
		Component: renamed.Component(renamed.Options{GraphURL: graph.URL}),
		Action:    "me",
		Auth: &oauthtest.Config{
			Clients: []oauthtest.Client{{ID: appID, Secret: appSecret, AuthStyle: oauthtest.AuthStyleBody}},
		},
		Variable: func(h *componenttest.Harness, v *connection.Variable) {
			v.Defaults = connection.ValuesOf(map[string]string{
				connection.FieldAuthorizeURL: h.Auth.AuthorizeURL(),
				connection.FieldTokenURL:     h.Auth.TokenURL(),
			})
			v.Visibility = map[string]connection.Visibility{
				connection.FieldAuthorizeURL: connection.Hidden,
				connection.FieldTokenURL:     connection.Hidden,
				connection.FieldScopes:       connection.Hidden,
			}
		},
	})
	auth = h.Auth

	view, err := h.Host.Templates().CustomerView(t.Context(), h.Ref())
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, f := range view.Fields {
		labels = append(labels, f.Key+"="+f.Label)
	}
	if diff := cmp.Diff([]string{"clientId=App ID", "clientSecret=App Secret"}, labels); diff != "" {
		t.Errorf("customer form (-want +got):\n%s", diff)
	}

	h.SetValues(t, map[string]string{connection.FieldClientID: appID, connection.FieldClientSecret: appSecret})
	h.Connect(t)
	if reqs := auth.AuthorizeRequests(); len(reqs) != 1 || reqs[0].ClientID != appID || reqs[0].Scope != "public_profile,pages_show_list" {
		t.Fatalf("authorize requests = %+v, want the App ID as client_id and comma-separated scopes", reqs)
	}
	out, err := h.Run(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(renamed.User{ID: "10158", Name: "Jane Doe"}, out); diff != "" {
		t.Errorf("user (-want +got):\n%s", diff)
	}
	if got := h.Health(t).Status; got != connection.StatusWorking {
		t.Errorf("status = %q, want working (green)", got)
	}
	componenttest.AssertNoSecret(t, "logs", h.LogText(t), appSecret)
}
