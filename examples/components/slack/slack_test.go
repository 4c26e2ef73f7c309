package slack_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/examples/components/internal/componenttest"
	"github.com/connkit/connkit/examples/components/slack"
	"github.com/connkit/connkit/internal/oauthtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	clientID     = "1234567890.0987654321"
	clientSecret = "slack-client-secret-abcdef012345"
)

// fakeSlack is the Web API's conversations.list: HTTP 200 always, with
// "ok": false for a token the authorization server does not hold active,
// and two pages joined by a cursor.
type fakeSlack struct {
	mu    sync.Mutex
	auths []string
	srv   *httptest.Server
}

func newFakeSlack(t *testing.T, auth **oauthtest.Server) *fakeSlack {
	f := &fakeSlack{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		f.mu.Lock()
		f.auths = append(f.auths, strings.SplitN(r.Header.Get("Authorization"), " ", 2)[0])
		f.mu.Unlock()
		if r.URL.Path != "/conversations.list" {
			fmt.Fprint(w, `{"ok":false,"error":"unknown_method"}`)
			return
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		switch {
		case !ok:
			fmt.Fprint(w, `{"ok":false,"error":"not_authed"}`)
			return
		case !(*auth).Active(tok):
			fmt.Fprint(w, `{"ok":false,"error":"token_revoked"}`)
			return
		}
		if r.URL.Query().Get("cursor") == "" {
			fmt.Fprint(w, `{"ok":true,"channels":[{"id":"C01","name":"general","num_members":42},{"id":"C02","name":"random","num_members":40}],"response_metadata":{"next_cursor":"dGVhbTpDMDM="}}`)
			return
		}
		fmt.Fprint(w, `{"ok":true,"channels":[{"id":"C03","name":"deploys","num_members":7}],"response_metadata":{"next_cursor":""}}`)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// tokens records the access tokens the fake server issued.
type tokens struct {
	mu     sync.Mutex
	issued []string
}

// slackTokenResponse reshapes the fake server's token responses the way
// oauth.v2.access answers: "ok", a "bot" token type, comma-separated
// scopes, the bot user and app ids, the team as an object.
func (ts *tokens) slackTokenResponse(_ string, body map[string]any) {
	body["ok"] = true
	body["token_type"] = "bot"
	body["scope"] = "channels:read,chat:write"
	body["bot_user_id"] = "U0KRQLJ9H"
	body["app_id"] = "A0KRD7HC3"
	body["team"] = map[string]any{"id": "T9TK3CUKW", "name": "Example Team"}
	ts.mu.Lock()
	ts.issued = append(ts.issued, body["access_token"].(string))
	ts.mu.Unlock()
}

func newHarness(t *testing.T, apiURL string, ts *tokens) *componenttest.Harness {
	return componenttest.New(t, componenttest.Config{
		Component: slack.Component(slack.Options{BaseURL: apiURL}),
		Action:    "list-channels",
		Auth: &oauthtest.Config{
			Clients:          []oauthtest.Client{{ID: clientID, Secret: clientSecret}},
			OmitExpiresIn:    true,
			OmitRefreshToken: true,
			AccessTokenTTL:   -1, // bot tokens without rotation never expire
			TokenResponse:    ts.slackTokenResponse,
		},
		Variable: func(h *componenttest.Harness, v *connection.Variable) {
			v.Defaults = connection.ValuesOf(map[string]string{
				connection.FieldClientID:     clientID,
				connection.FieldClientSecret: clientSecret,
				connection.FieldAuthorizeURL: h.Auth.AuthorizeURL(),
				connection.FieldTokenURL:     h.Auth.TokenURL(),
			})
		},
	})
}

func TestListChannels(t *testing.T) {
	var auth *oauthtest.Server
	f := newFakeSlack(t, &auth)
	h := newHarness(t, f.srv.URL, &tokens{})
	auth = h.Auth
	h.Connect(t)

	reqs := auth.AuthorizeRequests()
	if len(reqs) != 1 || reqs[0].Scope != "channels:read,chat:write" {
		t.Fatalf("authorize requests = %+v, want scope %q (comma-separated)", reqs, "channels:read,chat:write")
	}
	rec := h.Connection(t)
	if rec.Metadata["bot_user_id"] != "U0KRQLJ9H" || rec.Metadata["app_id"] != "A0KRD7HC3" {
		t.Errorf("metadata = %v, want bot_user_id and app_id from the token response", rec.Metadata)
	}

	out, err := h.Run(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []slack.Channel{{ID: "C01", Name: "general", NumMembers: 42}, {ID: "C02", Name: "random", NumMembers: 40},
		{ID: "C03", Name: "deploys", NumMembers: 7}}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("channels (-want +got):\n%s", diff)
	}
	f.mu.Lock()
	schemes := f.auths
	f.mu.Unlock()
	if diff := cmp.Diff([]string{"Bearer", "Bearer"}, schemes); diff != "" {
		t.Errorf("Authorization schemes sent (-want +got):\n%s", diff)
	}
	if got := h.Health(t).Status; got != connection.StatusWorking {
		t.Errorf("status = %q, want working (green)", got)
	}
	componenttest.AssertNoSecret(t, "logs", h.LogText(t), clientSecret)
}

// A token revoked at Slack still gets HTTP 200, with "ok": false: the
// step reports a connection error and the connection turns red.
func TestListChannelsRevokedToken(t *testing.T) {
	var auth *oauthtest.Server
	f := newFakeSlack(t, &auth)
	ts := &tokens{}
	h := newHarness(t, f.srv.URL, ts)
	auth = h.Auth
	h.Connect(t)
	ts.mu.Lock()
	issued := ts.issued
	ts.mu.Unlock()
	if len(issued) != 1 || !auth.Revoke(issued[0]) {
		t.Fatalf("issued access tokens %d, want 1 to revoke out of band", len(issued))
	}
	_, err := h.Run(t, nil)
	var apiErr *slack.APIError
	var ce *component.ConnError
	if !errors.As(err, &apiErr) || apiErr.Code != "token_revoked" || !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a connection error wrapping Slack's token_revoked", err)
	}
	if hl := h.Health(t); hl.Status != connection.StatusError || !strings.Contains(hl.Reason, "token_revoked") {
		t.Errorf("health = %+v, want error (red) naming token_revoked", hl)
	}
}

func TestIsConnectionError(t *testing.T) {
	for code, want := range map[string]bool{"invalid_auth": true, "token_revoked": true, "channel_not_found": false, "ratelimited": false} {
		if got := slack.IsConnectionError(code); got != want {
			t.Errorf("IsConnectionError(%q) = %v, want %v", code, got, want)
		}
	}
}
