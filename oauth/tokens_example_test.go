package oauth_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/store/keyring"
	"github.com/connkit/connkit/store/memory"
	"github.com/connkit/connkit/template"
)

// exampleCleanup runs the cleanups oauthtest registers, for examples that
// have no *testing.T.
type exampleCleanup struct{ fns []func() }

func (c *exampleCleanup) Helper()           {}
func (c *exampleCleanup) Cleanup(fn func()) { c.fns = append(c.fns, fn) }
func (c *exampleCleanup) run() {
	for i := len(c.fns) - 1; i >= 0; i-- {
		c.fns[i]()
	}
}

// ExampleTokens shows a host process's token sources: a step gets the
// connection's access token (from memory while it is valid), and after an
// API answered 401 it asks for a replacement, which costs one refresh no
// matter how many steps ask. The Refresher keeps tokens fresh in the
// background; the CONNECT callback tells it of new connections.
func ExampleTokens() {
	ctx := context.Background()
	var cleanup exampleCleanup
	defer cleanup.run()

	// A fake provider that rotates refresh tokens, served in memory.
	provider := oauthtest.NewUnstarted(&cleanup, oauthtest.Config{
		Clients:             []oauthtest.Client{{ID: "my-client", Secret: "my-secret", RedirectURIs: []string{"https://host.example/oauth/callback"}}},
		RotateRefreshTokens: true,
	})
	client := oauth.NewHTTPClient(oauth.HTTPClientConfig{Transport: provider.Transport()})

	// Storage, sealing, and an integration with one connection variable.
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
	acme := connection.MustDeclare(connection.Type{Key: "acme", OAuth2: &connection.OAuth2{
		AuthorizeURL: provider.AuthorizeURL(), TokenURL: provider.TokenURL(),
	}})
	if err := mgr.Register(template.Integration{ID: "crm-sync", Name: "CRM sync", Version: 1,
		Variables: []connection.Variable{{Key: "Acme", Type: acme}}}); err != nil {
		log.Fatal(err)
	}
	if err := mgr.Deploy(ctx, connection.Instance{ID: "inst-42", IntegrationID: "crm-sync", IntegrationVersion: 1}); err != nil {
		log.Fatal(err)
	}
	ref := connection.Ref{InstanceID: "inst-42", Variable: "Acme"}
	if err := mgr.SetValues(ctx, ref, template.AudienceCustomer, connection.ValuesOf(map[string]string{
		connection.FieldClientID: "my-client", connection.FieldClientSecret: "my-secret"})); err != nil {
		log.Fatal(err)
	}

	// One Tokens and one Refresher per host process.
	tokens, err := oauth.NewTokens(oauth.TokensConfig{Store: st, Sealer: sealer, Resolver: mgr, HTTPClient: client})
	if err != nil {
		log.Fatal(err)
	}
	defer tokens.Close(ctx)
	refresher := oauth.NewRefresher(tokens, oauth.RefresherConfig{})
	// go refresher.Run(ctx) in a real host.

	// CONNECT, with the refresher as the flow's scheduler.
	flow, err := oauth.NewFlow(oauth.FlowConfig{Store: st, Sealer: sealer, Resolver: mgr,
		RedirectURL: "https://host.example/oauth/callback", HTTPClient: client, Scheduler: refresher})
	if err != nil {
		log.Fatal(err)
	}
	// The browser POSTs to the host's CONNECT endpoint, which answers
	// with StartRedirect; the binding cookie comes back with the callback.
	rec := httptest.NewRecorder()
	if err := flow.StartRedirect(rec, httptest.NewRequest(http.MethodPost, "https://host.example/connect", nil), ref); err != nil {
		log.Fatal(err)
	}
	started := rec.Result()
	back, err := provider.Authorize(ctx, started.Header.Get("Location"))
	if err != nil {
		log.Fatal(err)
	}
	cb := httptest.NewRequest(http.MethodGet, back.String(), nil)
	for _, c := range started.Cookies() {
		cb.AddCookie(c)
	}
	flow.ServeHTTP(httptest.NewRecorder(), cb)
	fmt.Println("scheduled for refresh:", refresher.Len())

	// A step.
	src := tokens.Source(ref)
	tok, err := src.Token(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("token works:", provider.Active(tok.AccessToken.Reveal()))

	// The provider revokes the token; the API answers 401; the step asks
	// for a replacement.
	provider.Revoke(tok.AccessToken.Reveal())
	tok, err = src.Invalidate(ctx, tok.AccessToken)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("new token works:", provider.Active(tok.AccessToken.Reveal()))
	fmt.Println("refresh requests:", provider.GrantCalls(oauthtest.GrantRefreshToken))

	// Output:
	// scheduled for refresh: 1
	// token works: true
	// new token works: true
	// refresh requests: 1
}
