package salesforce_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/examples/components/internal/componenttest"
	"github.com/connkit/connkit/examples/components/salesforce"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	clientID     = "3MVG9-connected-app"
	clientSecret = "sf-client-secret-1234567890"
)

// fakeAPI is a Salesforce org's REST API: the query resource, answering
// only bearer tokens the fake authorization server issued and holds
// active, in two pages.
func fakeAPI(t *testing.T, auth **oauthtest.Server) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /services/data/v62.0/query", func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !(*auth).Active(tok) {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`)
			return
		}
		if got := r.URL.Query().Get("q"); got != "SELECT Id, Name FROM Account" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `[{"message":"unexpected query %q","errorCode":"MALFORMED_QUERY"}]`, got)
			return
		}
		fmt.Fprint(w, `{"totalSize":3,"done":false,"nextRecordsUrl":"/services/data/v62.0/query/01gD0000002HU6KIAW-2000","records":[
			{"attributes":{"type":"Account","url":"/services/data/v62.0/sobjects/Account/001A"},"Id":"001A","Name":"Acme"},
			{"attributes":{"type":"Account","url":"/services/data/v62.0/sobjects/Account/001B"},"Id":"001B","Name":"Globex"}]}`)
	})
	mux.HandleFunc("GET /services/data/v62.0/query/01gD0000002HU6KIAW-2000", func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !(*auth).Active(tok) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"totalSize":3,"done":true,"records":[
			{"attributes":{"type":"Account","url":"/services/data/v62.0/sobjects/Account/001C"},"Id":"001C","Name":"Initech"}]}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// newHarness connects through a fake Salesforce login server whose token
// responses carry extra fields; the client credentials and endpoints are
// the integration's (hidden variable defaults).
func newHarness(t *testing.T, extra map[string]any) *componenttest.Harness {
	return componenttest.New(t, componenttest.Config{
		Component: salesforce.Component(),
		Action:    "query",
		Auth: &oauthtest.Config{
			Clients:             []oauthtest.Client{{ID: clientID, Secret: clientSecret, AuthStyle: oauthtest.AuthStyleBody}},
			RequirePKCE:         true,
			RotateRefreshTokens: true,
			ExtraTokenFields:    extra,
		},
		Variable: func(h *componenttest.Harness, v *connection.Variable) {
			v.Defaults = connection.ValuesOf(map[string]string{
				connection.FieldClientID:     clientID,
				connection.FieldClientSecret: clientSecret,
				connection.FieldAuthorizeURL: h.Auth.AuthorizeURL(),
				connection.FieldTokenURL:     h.Auth.TokenURL(),
				connection.FieldRevokeURL:    h.Auth.RevokeURL(),
			})
			v.Visibility = map[string]connection.Visibility{}
			for _, k := range []string{connection.FieldClientID, connection.FieldClientSecret, connection.FieldAuthorizeURL,
				connection.FieldTokenURL, connection.FieldRevokeURL, connection.FieldScopes} {
				v.Visibility[k] = connection.Hidden
			}
		},
	})
}

func TestQueryAtInstanceURL(t *testing.T) {
	var auth *oauthtest.Server
	api := fakeAPI(t, &auth)
	h := newHarness(t, map[string]any{
		"instance_url": api.URL,
		"id":           "https://login.salesforce.com/id/00Dxx0000001gPL/005xx000001Sv6A",
	})
	auth = h.Auth

	h.Connect(t)
	reqs := auth.AuthorizeRequests()
	if len(reqs) != 1 || reqs[0].Scope != "api refresh_token" || reqs[0].CodeChallengeMethod != "S256" {
		t.Fatalf("authorize requests = %+v, want one with scope %q and PKCE S256", reqs, "api refresh_token")
	}
	if tr := auth.TokenRequests(); len(tr) != 1 || tr[0].HasBasic || tr[0].Form.Get("client_id") != clientID {
		t.Errorf("the code exchange must authenticate the client in the form body (client_secret_post)")
	}
	rec := h.Connection(t)
	if got := rec.Metadata[salesforce.MetaInstanceURL]; got != api.URL {
		t.Fatalf("metadata instance_url = %q, want %q", got, api.URL)
	}
	if got := h.Health(t).Status; got != connection.StatusConfigured {
		t.Errorf("status after CONNECT = %q, want configured (yellow)", got)
	}

	out, err := h.Run(t, map[string]any{"soql": "SELECT Id, Name FROM Account"})
	if err != nil {
		t.Fatal(err)
	}
	want := &salesforce.QueryResult{TotalSize: 3, Records: []salesforce.Record{
		{Type: "Account", ID: "001A", Fields: map[string]any{"Id": "001A", "Name": "Acme"}},
		{Type: "Account", ID: "001B", Fields: map[string]any{"Id": "001B", "Name": "Globex"}},
		{Type: "Account", ID: "001C", Fields: map[string]any{"Id": "001C", "Name": "Initech"}},
	}}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("query result (-want +got):\n%s", diff)
	}
	if got := h.Health(t).Status; got != connection.StatusWorking {
		t.Errorf("status after the step = %q, want working (green)", got)
	}

	// DISCONNECT revokes at the declared revocation endpoint, refresh token
	// first, and forgets instance_url with the tokens.
	res, err := h.Host.Disconnect(t.Context(), h.Ref())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{oauth.HintRefreshToken, oauth.HintAccessToken}, res.Revoked); diff != "" {
		t.Errorf("revoked (-want +got):\n%s", diff)
	}
	revs := auth.Revocations()
	if len(revs) != 2 || !revs[0].Known || !revs[1].Known || revs[0].ClientID != clientID {
		t.Errorf("revocations at the provider = %+v, want both tokens, known, by the client", revs)
	}
	if _, ok := h.Connection(t).Metadata[salesforce.MetaInstanceURL]; ok {
		t.Error("instance_url kept after DISCONNECT")
	}
	_, err = h.Run(t, map[string]any{"soql": "SELECT Id, Name FROM Account"})
	if !errors.Is(err, component.ErrNotConnected) {
		t.Errorf("step after DISCONNECT: err = %v, want ErrNotConnected", err)
	}
	componenttest.AssertNoSecret(t, "logs", h.LogText(t), clientSecret)
}

func TestQueryWithoutInstanceURL(t *testing.T) {
	h := newHarness(t, nil) // a token response without instance_url
	h.Connect(t)
	_, err := h.Run(t, nil)
	if !errors.Is(err, salesforce.ErrNoInstanceURL) {
		t.Fatalf("err = %v, want ErrNoInstanceURL", err)
	}
	var ce *component.ConnError
	if !errors.As(err, &ce) {
		t.Errorf("err = %v, want a connection-related error", err)
	}
	hl := h.Health(t)
	if hl.Status != connection.StatusError || !strings.Contains(hl.Reason, "instance_url") {
		t.Errorf("health = %+v, want error (red) naming instance_url", hl)
	}
}
