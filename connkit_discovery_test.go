package connkit_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connkit/connkit"
	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/template"
)

// TestRefreshUsesIssuerMetadata: Config.Issuer and Config.Metadata reach the
// host's token sources, not only its CONNECT flow. The OAuth type declares
// no endpoint URLs; the issuer's metadata gives them. After CONNECT the
// host's clock moves on past the token's expiry, and the host's background
// refresher refreshes the connection at the metadata's token endpoint.
// Without the metadata reaching the token sources the refresh cannot build
// its endpoint and fails with ErrMisconfigured, sending nothing.
func TestRefreshUsesIssuerMetadata(t *testing.T) {
	ctx := t.Context()
	events := make(chan oauth.Event, 16)
	var skew atomic.Int64 // how far the host's clock is ahead
	w := newWorldWith(t, nil, func(w *world, c *connkit.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		c.Events = func(e oauth.Event) {
			select {
			case events <- e:
			default:
			}
		}
		issuer := w.auth.URL()
		c.Issuer = func(*template.Resolution) string { return issuer }
		c.Metadata = map[string]*oauth.Metadata{issuer: {
			Issuer:                issuer,
			AuthorizationEndpoint: w.auth.AuthorizeURL(),
			TokenEndpoint:         w.auth.TokenURL(),
			RevocationEndpoint:    w.auth.RevokeURL(),
		}}
	})
	comp := acme(w.auth, w.api.URL)
	typ := &comp.Connections[0]
	typ.OAuth2 = &connection.OAuth2{Scopes: []string{"read"}}
	typ.Fields = []connection.Field{
		{Key: connection.FieldAuthorizeURL, Kind: connection.KindURL, Required: true},
		{Key: connection.FieldTokenURL, Kind: connection.KindURL, Required: true},
	}
	c, err := w.host.Register(comp)
	if err != nil {
		t.Fatal(err)
	}
	b := component.NewBuilder("int-1", "Acme Sync", 1)
	if _, err := b.AddStep("token", c, "token", component.StepOptions{}); err != nil {
		t.Fatal(err)
	}
	_ = b.Variable(oauthRef.Variable, func(v *connection.Variable) {
		v.Defaults = connection.ValuesOf(map[string]string{connection.FieldClientID: "app-1", connection.FieldClientSecret: "app-secret"})
	})
	if err := w.host.RegisterIntegration(b); err != nil {
		t.Fatal(err)
	}
	inst := connection.Instance{ID: "inst-1", Name: "Customer One", IntegrationID: "int-1", IntegrationName: "Acme Sync", IntegrationVersion: 1}
	if err := w.host.Deploy(ctx, inst); err != nil {
		t.Fatal(err)
	}

	w.connect(t, oauthRef)
	calls := w.auth.Calls(oauthtest.PathToken)
	skew.Store(int64(2 * time.Hour)) // the CONNECT token (one hour) is due
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- w.host.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	select {
	case e := <-events:
		if e.Kind != oauth.Refreshed || e.Ref != oauthRef {
			t.Fatalf("first event %v for %s (%s, %v), want Refreshed for %s", e.Kind, e.Ref, e.Reason, e.Err, oauthRef)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no refresh event within 30s")
	}
	if n := w.auth.Calls(oauthtest.PathToken) - calls; n != 1 {
		t.Errorf("the refresh made %d token requests, want 1", n)
	}
	c2, err := w.st.GetConnection(ctx, oauthRef)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := oauth.OpenToken(w.sealer, c2.ID, c2.Token)
	if err != nil {
		t.Fatal(err)
	}
	if !w.auth.Active(tok.AccessToken.Reveal()) {
		t.Error("the stored token set is not one the provider considers active")
	}
	// A step uses the connection although its endpoint fields are empty:
	// the metadata fills them where they are needed.
	out, err := w.host.RunStep(ctx, "inst-1", "token", connkit.RunOptions{})
	if err != nil {
		t.Fatalf("step on a connection whose endpoints come from metadata: %v", err)
	}
	if out != tok.AccessToken.Reveal() {
		t.Error("the step did not get the refreshed token")
	}
}
