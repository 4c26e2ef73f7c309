package quickbooks_test

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
	"github.com/connkit/connkit/examples/components/quickbooks"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	clientID     = "ABqb-intuit-app"
	clientSecret = "intuit-client-secret-0987654321"
	realm        = "9130357766900456"
)

// fakeAPI is the Accounting API: CompanyInfo of one company, for bearer
// tokens the fake authorization server holds active.
func fakeAPI(t *testing.T, auth **oauthtest.Server) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v3/company/{realm}/companyinfo/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !(*auth).Active(tok) {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"Fault":{"Error":[{"Message":"message=AuthenticationFailed","code":"3200"}],"type":"AUTHENTICATION"}}`)
			return
		}
		if r.PathValue("realm") != realm || r.PathValue("id") != realm || r.URL.Query().Get("minorversion") == "" {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"Fault":{"Error":[{"Message":"ApplicationAuthorizationFailed","code":"003100"}],"type":"SERVICE"}}`)
			return
		}
		fmt.Fprintf(w, `{"CompanyInfo":{"Id":"1","CompanyName":"Sandbox Company_US_1","LegalName":"Sandbox Company_US_1","Country":"US","SyncToken":"4"},"time":"2025-06-01T10:00:00.000-07:00"}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func newHarness(t *testing.T, apiURL string, callbackParams map[string]string) *componenttest.Harness {
	return componenttest.New(t, componenttest.Config{
		Component: quickbooks.Component(quickbooks.Options{BaseURL: apiURL}),
		Action:    "company-info",
		Auth: &oauthtest.Config{
			Clients:             []oauthtest.Client{{ID: clientID, Secret: clientSecret, AuthStyle: oauthtest.AuthStyleHeader}},
			RequirePKCE:         true,
			RotateRefreshTokens: true,
			ExtraCallbackParams: callbackParams,
		},
		Variable: func(h *componenttest.Harness, v *connection.Variable) {
			v.Defaults = connection.ValuesOf(map[string]string{
				connection.FieldClientID:     clientID,
				connection.FieldClientSecret: clientSecret,
				connection.FieldAuthorizeURL: h.Auth.AuthorizeURL(),
				connection.FieldTokenURL:     h.Auth.TokenURL(),
				connection.FieldRevokeURL:    h.Auth.RevokeURL(),
			})
		},
	})
}

func TestCompanyInfoWithRealmID(t *testing.T) {
	var auth *oauthtest.Server
	api := fakeAPI(t, &auth)
	h := newHarness(t, api.URL, map[string]string{"realmId": realm})
	auth = h.Auth
	h.Connect(t)
	if got := h.Connection(t).Metadata[quickbooks.MetaRealmID]; got != realm {
		t.Fatalf("metadata realmId = %q, want %q (from the callback)", got, realm)
	}
	if tr := auth.TokenRequests(); len(tr) != 1 || !tr[0].HasBasic || tr[0].Form.Has("client_secret") {
		t.Error("the code exchange must authenticate the client with HTTP Basic only (client_secret_basic)")
	}
	out, err := h.Run(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := quickbooks.CompanyInfo{ID: "1", CompanyName: "Sandbox Company_US_1", LegalName: "Sandbox Company_US_1", Country: "US"}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("company info (-want +got):\n%s", diff)
	}
	if got := h.Health(t).Status; got != connection.StatusWorking {
		t.Errorf("status = %q, want working (green)", got)
	}

	res, err := h.Host.Disconnect(t.Context(), h.Ref())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{oauth.HintRefreshToken, oauth.HintAccessToken}, res.Revoked); diff != "" {
		t.Errorf("revoked (-want +got):\n%s", diff)
	}
	if res.RevokeErr != nil {
		t.Errorf("revocation error: %v", res.RevokeErr)
	}
	if _, ok := h.Connection(t).Metadata[quickbooks.MetaRealmID]; ok {
		t.Error("realmId kept after DISCONNECT")
	}
	if _, err := h.Run(t, nil); !errors.Is(err, component.ErrNotConnected) {
		t.Errorf("step after DISCONNECT: err = %v, want ErrNotConnected", err)
	}
	componenttest.AssertNoSecret(t, "logs", h.LogText(t), clientSecret)
}

func TestCompanyInfoWithoutRealmID(t *testing.T) {
	var auth *oauthtest.Server
	api := fakeAPI(t, &auth)
	h := newHarness(t, api.URL, nil)
	auth = h.Auth
	h.Connect(t)
	_, err := h.Run(t, nil)
	if !errors.Is(err, quickbooks.ErrNoRealm) {
		t.Fatalf("err = %v, want ErrNoRealm", err)
	}
	if hl := h.Health(t); hl.Status != connection.StatusError || !strings.Contains(hl.Reason, "realmId") {
		t.Errorf("health = %+v, want error (red) naming realmId", hl)
	}
}
