package oauth_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/store/keyring"
	"github.com/connkit/connkit/store/memory"
	"github.com/connkit/connkit/template"
)

// Example shows a host application wiring a Flow, mounting its callback
// handler and running a CONNECT. A stand-in provider on loopback plays the
// token endpoint; a real one would also show the customer a consent page.
func Example() {
	ctx := context.Background()

	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, _ := r.BasicAuth()
		if r.URL.Path != "/token" || id != "my-client" || secret != "my-secret" ||
			r.PostFormValue("code") != "code-from-provider" || r.PostFormValue("code_verifier") == "" {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"at-1","refresh_token":"rt-1","token_type":"Bearer","expires_in":3600}`)
	}))
	defer provider.Close()

	// Storage, sealing and the integration's connection config variable.
	st := memory.New(memory.Options{})
	key, err := keyring.GenerateKey(1)
	if err != nil {
		log.Fatal(err)
	}
	sealer, err := keyring.New(key)
	if err != nil {
		log.Fatal(err)
	}
	mgr := template.New(st, sealer, template.Options{})
	acme := connection.MustDeclare(connection.Type{Key: "acme", Label: "Acme CRM", OAuth2: &connection.OAuth2{
		AuthorizeURL: provider.URL + "/authorize",
		TokenURL:     provider.URL + "/token",
		Scopes:       []string{"contacts.read"},
	}})
	if err := mgr.Register(template.Integration{ID: "crm-sync", Name: "CRM sync", Version: 1,
		Variables: []connection.Variable{{Key: "Acme", Type: acme}}}); err != nil {
		log.Fatal(err)
	}
	if err := mgr.Deploy(ctx, connection.Instance{ID: "inst-42", Name: "Globex", IntegrationID: "crm-sync", IntegrationVersion: 1}); err != nil {
		log.Fatal(err)
	}
	ref := connection.Ref{InstanceID: "inst-42", Variable: "Acme"}
	if err := mgr.SetValues(ctx, ref, template.AudienceCustomer, connection.ValuesOf(map[string]string{
		connection.FieldClientID: "my-client", connection.FieldClientSecret: "my-secret"})); err != nil {
		log.Fatal(err)
	}

	flow, err := oauth.NewFlow(oauth.FlowConfig{
		Store:       st,
		Sealer:      sealer,
		Resolver:    mgr,
		RedirectURL: "https://host.example/oauth/callback",
		// Only because the stand-in provider listens on loopback over http.
		AllowPrivateNetworks: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer flow.HTTPClient().CloseIdleConnections()

	// The host mounts the callback handler at its redirect URL's path and
	// its CONNECT endpoint, on the same host: a POST from the customer's
	// browser (behind the host's authentication and CSRF protection) that
	// StartRedirect answers with a redirect to the authorize URL, binding
	// the CONNECT to that browser with a cookie.
	mux := http.NewServeMux()
	mux.Handle("GET /oauth/callback", flow)
	mux.HandleFunc("POST /connections/acme/connect", func(w http.ResponseWriter, r *http.Request) {
		if err := flow.StartRedirect(w, r, ref); err != nil {
			log.Print(err)
		}
	})

	// CONNECT: the customer's browser posts the form.
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "https://host.example/connections/acme/connect", nil))
	started := rec.Result()
	u, _ := url.Parse(started.Header.Get("Location"))
	q := u.Query()
	fmt.Println("authorize:", started.StatusCode, u.Path, q.Get("client_id"), q.Get("scope"), q.Get("code_challenge_method"))

	// The provider sends the browser back with a code and the state; the
	// browser sends the binding cookie along.
	callback := httptest.NewRequest(http.MethodGet, "https://host.example/oauth/callback?"+url.Values{
		"code": {"code-from-provider"}, "state": {q.Get("state")}}.Encode(), nil)
	for _, c := range started.Cookies() {
		callback.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, callback)
	body := rec.Body.String()
	title := body[strings.Index(body, "<h1>")+4 : strings.Index(body, "</h1>")]
	fmt.Println("callback:", rec.Code, title)

	c, err := st.GetConnection(ctx, ref)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("status:", c.Health.Status.Color(), "refreshable:", c.Token.Refreshable)

	// Output:
	// authorize: 303 /authorize my-client contacts.read S256
	// callback: 200 Authorization completed successfully
	// status: yellow refreshable: true
}
