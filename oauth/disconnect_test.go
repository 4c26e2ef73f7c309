package oauth_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/template"
)

// TestDisconnect: the scheduler stops holding the connection, the token set
// and provider metadata are gone from the store, the refresh token is
// revoked before the access token (each with its hint), the provider no
// longer accepts either, and the log tells the story.
func TestDisconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{server: oauthtest.Config{
			ExtraTokenFields: map[string]any{"instance_url": "https://na1.acme.example"},
		}})
		fx.connect(fx.ref)
		tok := fx.token(fx.ref)
		id := fx.conn(fx.ref).ID
		if !fx.sched.holds(id) {
			t.Fatal("scheduler does not hold the connected connection")
		}
		res, err := fx.flow.Disconnect(context.Background(), fx.ref)
		if err != nil {
			t.Fatal(err)
		}
		want := &oauth.DisconnectResult{ConnectionID: id, Deleted: true,
			Revoked: []string{oauth.HintRefreshToken, oauth.HintAccessToken}}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
		if fx.sched.holds(id) {
			t.Error("scheduler still holds the connection")
		}
		c := fx.conn(fx.ref)
		if c.Token != nil || c.Metadata["instance_url"] != "" || c.ID != id {
			t.Errorf("after DISCONNECT: token %v metadata %v id %s", c.Token != nil, c.Metadata, c.ID)
		}
		if c.Health.Status != "" || c.Health.Reason != "disconnected" {
			t.Errorf("health = %+v", c.Health)
		}
		var got []oauthtest.Revocation
		for _, r := range fx.srv.Revocations() {
			got = append(got, oauthtest.Revocation{Token: r.Token, TokenTypeHint: r.TokenTypeHint, ClientID: r.ClientID, Status: r.Status, Known: r.Known})
		}
		wantRev := []oauthtest.Revocation{
			{Token: tok.RefreshToken.Reveal(), TokenTypeHint: "refresh_token", ClientID: fxClientID, Status: 200, Known: true},
			{Token: tok.AccessToken.Reveal(), TokenTypeHint: "access_token", ClientID: fxClientID, Status: 200, Known: true},
		}
		if diff := cmp.Diff(wantRev, got); diff != "" {
			t.Errorf("revocations (-want +got):\n%s", diff)
		}
		if fx.srv.Active(tok.AccessToken.Reveal()) || fx.srv.Active(tok.RefreshToken.Reveal()) {
			t.Error("the provider still accepts the tokens")
		}
		if diff := cmp.Diff([]string{template.EventValuesSet, oauth.EventConnectStarted, oauth.EventConnected, oauth.EventDisconnected,
			oauth.EventRevoked, oauth.EventRevoked}, fx.events(id)); diff != "" {
			t.Errorf("log (-want +got):\n%s", diff)
		}
	})
}

// TestDisconnectRevocationUnavailable: the revocation endpoint answers 503
// to every attempt (three per token: the first and two retries); the token
// set is deleted locally all the same and the result says nothing was
// revoked, with the provider's status.
func TestDisconnectRevocationUnavailable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{})
		fx.connect(fx.ref)
		fx.srv.FailRevoke(-1, oauthtest.Fault{Status: 503, RetryAfter: "1"})
		res, err := fx.flow.Disconnect(context.Background(), fx.ref)
		if err != nil {
			t.Fatal(err)
		}
		if n := fx.srv.Calls(oauthtest.PathRevoke); n != 6 {
			t.Errorf("revocation calls = %d, want 3 per token", n)
		}
		if !res.Deleted || len(res.Revoked) != 0 || !cmp.Equal(res.NotRevoked, []string{oauth.HintRefreshToken, oauth.HintAccessToken}) {
			t.Errorf("result = %+v", res)
		}
		var te *oauth.TokenError
		if !errors.As(res.RevokeErr, &te) || te.StatusCode != 503 || te.Op != "revoke" {
			t.Errorf("RevokeErr = %v", res.RevokeErr)
		}
		if c := fx.conn(fx.ref); c.Token != nil {
			t.Error("token set kept after a failed revocation")
		}
		if e := fx.lastEvent(res.ConnectionID, oauth.EventRevokeFailed); e.Attrs["http_status"] != "503" {
			t.Errorf("revoke_failed attrs = %v", e.Attrs)
		}
	})
}

// TestDisconnectRevocationRecovers: two 503s then success is retried.
func TestDisconnectRevocationRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{})
		fx.connect(fx.ref)
		fx.srv.FailRevoke(2, oauthtest.Fault{Status: 503})
		res, err := fx.flow.Disconnect(context.Background(), fx.ref)
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(res.Revoked, []string{oauth.HintRefreshToken, oauth.HintAccessToken}) || res.RevokeErr != nil {
			t.Errorf("result = %+v", res)
		}
		if n := fx.srv.Calls(oauthtest.PathRevoke); n != 4 {
			t.Errorf("revocation calls = %d, want 4", n)
		}
	})
}

// TestDisconnectWithoutRevokeURL deletes locally and calls nobody.
func TestDisconnectWithoutRevokeURL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{oauth2: func(o *connection.OAuth2) { o.RevokeURL = "" }})
		fx.connect(fx.ref)
		res, err := fx.flow.Disconnect(context.Background(), fx.ref)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Deleted || res.Revoked != nil || res.NotRevoked != nil || res.RevokeErr != nil {
			t.Errorf("result = %+v", res)
		}
		if n := fx.srv.Calls(oauthtest.PathRevoke); n != 0 {
			t.Errorf("revocation calls = %d", n)
		}
	})
}

// TestDisconnectNotConnected is a no-op that succeeds.
func TestDisconnectNotConnected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{noValues: true})
		res, err := fx.flow.Disconnect(context.Background(), fx.ref)
		if err != nil || res.ConnectionID != "" || res.Deleted {
			t.Errorf("Disconnect of a missing connection = %+v, %v", res, err)
		}
		fx.setValues(fx.ref, map[string]string{connection.FieldClientID: fxClientID})
		res, err = fx.flow.Disconnect(context.Background(), fx.ref)
		if err != nil || res.ConnectionID == "" || res.Deleted {
			t.Errorf("Disconnect of an unconnected connection = %+v, %v", res, err)
		}
		if _, err := fx.flow.Disconnect(context.Background(), connection.Ref{}); !errors.Is(err, connection.ErrBadRef) {
			t.Errorf("Disconnect of a bad ref = %v", err)
		}
	})
}

// TestConnectAfterDisconnect: a second CONNECT works, keeps the connection's
// id and log, and schedules it again.
func TestConnectAfterDisconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{})
		fx.connect(fx.ref)
		first := fx.token(fx.ref)
		id := fx.conn(fx.ref).ID
		if _, err := fx.flow.Disconnect(context.Background(), fx.ref); err != nil {
			t.Fatal(err)
		}
		fx.connect(fx.ref)
		c := fx.conn(fx.ref)
		second := fx.token(fx.ref)
		if c.ID != id || second.AccessToken.Equal(first.AccessToken) || !fx.srv.Active(second.AccessToken.Reveal()) {
			t.Errorf("second CONNECT: id %s (was %s), new token active %v", c.ID, id, fx.srv.Active(second.AccessToken.Reveal()))
		}
		if c.Health.Status != connection.StatusConfigured || !fx.sched.holds(id) {
			t.Errorf("health %+v, scheduled %v", c.Health, fx.sched.holds(id))
		}
		if diff := cmp.Diff([]string{"schedule", "unschedule", "schedule"}, fx.sched.ops()); diff != "" {
			t.Errorf("scheduler calls (-want +got):\n%s", diff)
		}
		n := 0
		for _, e := range fx.events(id) {
			if e == oauth.EventConnected {
				n++
			}
		}
		if n != 2 {
			t.Errorf("log has %d connected entries: %v", n, fx.events(id))
		}
	})
}

// TestDisconnectClientAuthBody: a client_secret_post client authenticates
// to the revocation endpoint with its form credentials too.
func TestDisconnectClientAuthBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{style: oauthtest.AuthStyleBody})
		fx.connect(fx.ref)
		res, err := fx.flow.Disconnect(context.Background(), fx.ref)
		if err != nil || len(res.Revoked) != 2 {
			t.Fatalf("Disconnect = %+v, %v", res, err)
		}
		for _, r := range fx.srv.Revocations() {
			if r.ClientID != fxClientID || r.Status != 200 {
				t.Errorf("revocation %s: client %q status %d", r.TokenTypeHint, r.ClientID, r.Status)
			}
		}
	})
}
