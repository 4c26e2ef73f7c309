package oauth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
)

// TestLocalRefusalReportedAsLocal (review2 N2): a refresh that connkit
// refuses itself, before any request (the origin check, the https check, a
// missing value, a token URL changed since CONNECT), is reported as such:
// the status reason reads "refresh failed: configuration refused locally:
// <what>", and the connection log's refresh_failed entry and the
// RefreshFailed event say so too; none of them claims that the provider
// refused the client, and nothing reaches any token endpoint. A real
// invalid_client answer still reads "invalid_client: the provider refused
// ...". Every failure matches ErrMisconfigured and keeps the refresh token.
func TestLocalRefusalReportedAsLocal(t *testing.T) {
	const local = "configuration refused locally: "
	for _, tc := range []struct {
		name string
		// origin: the host's client as hidden variable defaults, the token
		// URL listed for the customer; otherwise the host's client as
		// instance values and the endpoints Embedded (host-settable).
		origin bool
		change func(t *testing.T, fx *flowFx) // after CONNECT
		// provider: the token endpoint answers invalid_client.
		provider bool
		want     string // the status reason after "refresh failed: "
	}{
		{
			name:   "customer-set token URL with the host's secret",
			origin: true,
			change: func(t *testing.T, fx *flowFx) {
				if err := fx.setCustomer(map[string]string{connection.FieldTokenURL: movedTokenURL}); err != nil {
					t.Fatal(err)
				}
			},
			want: local + "the token URL was set by the customer, who did not provide the client secret it would be sent with",
		},
		{
			name: "token URL not https",
			change: func(t *testing.T, fx *flowFx) {
				fx.setValues(fx.ref, map[string]string{connection.FieldTokenURL: "http://" + attackerHost + "/token"})
			},
			want: local + "the token URL must use https",
		},
		{
			name: "client id removed",
			change: func(t *testing.T, fx *flowFx) {
				fx.setValues(fx.ref, map[string]string{connection.FieldClientID: ""})
			},
			want: local + "no value for " + connection.FieldClientID,
		},
		{
			name: "token URL changed since CONNECT",
			change: func(t *testing.T, fx *flowFx) {
				fx.setValues(fx.ref, map[string]string{connection.FieldTokenURL: movedTokenURL})
			},
			want: local + "the token URL changed since CONNECT: the customer must reconnect",
		},
		{
			name:     "the provider refuses the client",
			provider: true,
			want:     "invalid_client: the provider refused the OAuth client configuration",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				att := &attacker{}
				var fx *flowFx
				if tc.origin {
					fx = newOriginFx(t, att, flowFxOptions{noValues: true, variable: hostClient(connection.FieldTokenURL)})
				} else {
					fx = newPinFx(t, att, flowFxOptions{})
				}
				fx.connect(fx.ref)
				id := fx.conn(fx.ref).ID
				if tc.change != nil {
					tc.change(t, fx)
				}
				if tc.provider {
					fx.srv.FailToken(1, oauthtest.Fault{GrantType: oauthtest.GrantRefreshToken, Error: "invalid_client"})
				}
				calls := fx.tokenCalls()
				events := &tkEvents{}
				tk, err := oauth.NewTokens(oauth.TokensConfig{Store: fx.store, Sealer: fx.seal, Resolver: fx.mgr,
					HTTPClient: fx.flow.HTTPClient(), Events: events.add})
				if err != nil {
					t.Fatal(err)
				}
				defer closeTokens(t, tk)

				time.Sleep(2 * time.Hour)
				if _, err := tk.Source(fx.ref).Token(context.Background()); !errors.Is(err, oauth.ErrMisconfigured) {
					t.Fatalf("Token = %v, want ErrMisconfigured", err)
				}
				synctest.Wait() // the log entry and the event follow the result

				c := fx.conn(fx.ref)
				if c.Health.Status != connection.StatusError || c.Health.Reason != "refresh failed: "+tc.want {
					t.Errorf("health = %q %q, want red with %q", c.Health.Status, c.Health.Reason, "refresh failed: "+tc.want)
				}
				if !c.Token.Refreshable {
					t.Error("the refresh token was dropped")
				}
				entry := fx.lastEvent(id, oauth.EventRefreshFailed)
				var reasons []string
				for _, ev := range events.all() {
					if ev.Kind == oauth.RefreshFailed {
						reasons = append(reasons, ev.Reason)
					}
				}
				if len(reasons) != 1 {
					t.Fatalf("RefreshFailed events %q, want one", reasons)
				}
				n := fx.tokenCalls() - calls
				if tc.provider {
					if !strings.Contains(entry.Message, "the provider refused the OAuth client") || strings.Contains(entry.Message, "locally") {
						t.Errorf("log message %q, want the provider's refusal", entry.Message)
					}
					if n != 1 {
						t.Errorf("%d token requests, want 1", n)
					}
					return
				}
				what := strings.TrimSuffix(tc.want, ": the customer must reconnect")
				if !strings.HasPrefix(entry.Message, what) || strings.Contains(entry.Message, "provider refused") {
					t.Errorf("log message %q, want it to start with %q", entry.Message, what)
				}
				if reasons[0] != what {
					t.Errorf("event reason %q, want %q", reasons[0], what)
				}
				if n != 0 || len(att.requests()) != 0 {
					t.Errorf("%d requests to the token URL of CONNECT and %d to the new one, want none", n, len(att.requests()))
				}
			})
		})
	}
}
