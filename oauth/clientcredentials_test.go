package oauth_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
)

func ccOptions() flowFxOptions {
	return flowFxOptions{
		server: oauthtest.Config{ExtraTokenFields: map[string]any{"instance_url": "https://na1.acme.example"}},
		oauth2: func(o *connection.OAuth2) {
			o.Grant = connection.GrantClientCredentials
			o.AuthorizeURL = ""
			o.RevokeURL = ""
			o.CallbackParams = nil
		},
	}
}

// TestClientCredentialsCachedAndRenewed: the token set is obtained without
// a browser and stored; while valid beyond the leeway it is served from the
// store without calling the provider; near expiry one new token is obtained
// however many callers ask at once.
func TestClientCredentialsCachedAndRenewed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, ccOptions())
		ctx := context.Background()
		if err := fx.flow.ConnectClientCredentials(ctx, fx.ref); err != nil {
			t.Fatal(err)
		}
		c := fx.conn(fx.ref)
		if c.Token == nil || c.Token.Refreshable || c.Health.Status != connection.StatusConfigured ||
			c.Metadata["instance_url"] != "https://na1.acme.example" {
			t.Fatalf("after ConnectClientCredentials: %+v", c)
		}
		first := fx.token(fx.ref)
		if !fx.srv.Active(first.AccessToken.Reveal()) || fx.srv.GrantCalls(oauthtest.GrantClientCredentials) != 1 {
			t.Fatalf("token not issued by the client credentials grant")
		}
		if n := len(fx.sched.ops()); n != 0 {
			t.Errorf("a token set without refresh token was scheduled (%v)", fx.sched.ops())
		}
		fx.lastEvent(c.ID, oauth.EventConnected)

		// Cached: 50 minutes later the token (1h, leeway 5 min) is reused.
		time.Sleep(50 * time.Minute)
		for range 3 {
			tok, err := fx.flow.ClientCredentialsToken(ctx, fx.ref)
			if err != nil {
				t.Fatal(err)
			}
			if !tok.AccessToken.Equal(first.AccessToken) {
				t.Fatal("a fresh token was replaced")
			}
		}
		if n := fx.tokenCalls(); n != 1 {
			t.Errorf("token calls while cached = %d, want 1", n)
		}

		// Renewed: within the leeway, ten concurrent callers share one grant.
		time.Sleep(6 * time.Minute)
		var wg sync.WaitGroup
		toks := make([]oauth.Token, 10)
		for i := range toks {
			wg.Go(func() {
				tok, err := fx.flow.ClientCredentialsToken(ctx, fx.ref)
				if err != nil {
					t.Error(err)
				}
				toks[i] = tok
			})
		}
		wg.Wait()
		if n := fx.tokenCalls(); n != 2 {
			t.Errorf("token calls after expiry = %d, want 2", n)
		}
		for _, tok := range toks {
			if tok.AccessToken.Equal(first.AccessToken) || !tok.AccessToken.Equal(toks[0].AccessToken) {
				t.Fatal("callers did not all get the one renewed token")
			}
		}
		if stored := fx.token(fx.ref); !stored.AccessToken.Equal(toks[0].AccessToken) || !stored.Expiry.Equal(time.Now().Add(time.Hour)) {
			t.Errorf("renewed token not stored (expiry %v)", stored.Expiry)
		}
		fx.lastEvent(c.ID, oauth.EventRefreshed)
	})
}

// TestClientCredentialsWithoutConnect: the first ClientCredentialsToken
// obtains and stores a token set.
func TestClientCredentialsWithoutConnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, ccOptions())
		tok, err := fx.flow.ClientCredentialsToken(context.Background(), fx.ref)
		if err != nil || !fx.srv.Active(tok.AccessToken.Reveal()) {
			t.Fatalf("ClientCredentialsToken = %v", err)
		}
		if stored := fx.token(fx.ref); !stored.AccessToken.Equal(tok.AccessToken) {
			t.Error("token not stored")
		}
	})
}

// TestClientCredentialsFailure: a refused grant is a *TokenError carrying
// the provider's code, is logged, and keeps the stored token set.
func TestClientCredentialsFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, ccOptions())
		ctx := context.Background()
		if err := fx.flow.ConnectClientCredentials(ctx, fx.ref); err != nil {
			t.Fatal(err)
		}
		first := fx.token(fx.ref)
		fx.srv.FailToken(1, oauthtest.Fault{Error: "invalid_client", Description: "Client authentication failed"})
		err := fx.flow.ConnectClientCredentials(ctx, fx.ref)
		var te *oauth.TokenError
		if !errors.As(err, &te) || te.Code != "invalid_client" || !errors.Is(err, oauth.ErrMisconfigured) {
			t.Fatalf("ConnectClientCredentials = %v", err)
		}
		if !fx.token(fx.ref).AccessToken.Equal(first.AccessToken) || fx.conn(fx.ref).Health.Status != connection.StatusConfigured {
			t.Error("failed grant replaced the token set or its status")
		}
		e := fx.lastEvent(fx.conn(fx.ref).ID, oauth.EventConnectFailed)
		if e.Attrs["error"] != "invalid_client" || e.Attrs["error_description"] != "Client authentication failed" {
			t.Errorf("connect_failed attrs = %v", e.Attrs)
		}
		// An authorization-code type has no client credentials grant.
		code := newFlowFx(t, flowFxOptions{})
		if err := code.flow.ConnectClientCredentials(ctx, code.ref); !errors.Is(err, oauth.ErrMisconfigured) {
			t.Errorf("ConnectClientCredentials of a code type = %v", err)
		}
	})
}

// TestClientCredentialsCallersLeaveAlone (review L2): concurrent renewals
// share one token request, but each caller waits only as long as its own
// ctx allows; the one that started the request leaving does not fail the
// others.
func TestClientCredentialsCallersLeaveAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, ccOptions())
		release := make(chan struct{})
		fx.srv.FailToken(1, oauthtest.Fault{GrantType: oauthtest.GrantClientCredentials, Hang: true, Release: release})
		type result struct {
			tok oauth.Token
			err error
		}
		call := func(ctx context.Context) chan result {
			ch := make(chan result, 1)
			go func() {
				tok, err := fx.flow.ClientCredentialsToken(ctx, fx.ref)
				ch <- result{tok, err}
			}()
			synctest.Wait()
			return ch
		}
		firstCtx, cancelFirst := context.WithCancel(context.Background())
		defer cancelFirst()
		first := call(firstCtx) // its token request hangs at the provider
		joined := call(context.Background())

		cancelFirst()
		synctest.Wait()
		select {
		case r := <-first:
			if !errors.Is(r.err, context.Canceled) {
				t.Fatalf("the first caller, cancelled: %v", r.err)
			}
		default:
			t.Fatal("the first caller could not leave while the token request hangs")
		}
		close(release)
		r := <-joined
		if r.err != nil || !fx.srv.Active(r.tok.AccessToken.Reveal()) {
			t.Fatalf("the joined caller: %v", r.err)
		}
		if n := fx.srv.GrantCalls(oauthtest.GrantClientCredentials); n != 1 {
			t.Errorf("%d token requests, want 1 (shared)", n)
		}
	})
}

// TestClientCredentialsFlowClock (review L14): the token set obtained is
// stamped with the Flow's clock, not the machine's.
func TestClientCredentialsFlowClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		skew := 72 * time.Hour
		opts := ccOptions()
		opts.flow = func(c *oauth.FlowConfig) { c.Now = func() time.Time { return time.Now().Add(skew) } }
		fx := newFlowFx(t, opts)
		if err := fx.flow.ConnectClientCredentials(context.Background(), fx.ref); err != nil {
			t.Fatal(err)
		}
		tok := fx.token(fx.ref)
		now := time.Now().Add(skew)
		if !tok.ObtainedAt.Equal(now) || !tok.Expiry.Equal(now.Add(time.Hour)) {
			t.Errorf("token obtained at %v, expiring at %v; want the flow's clock %v and an hour later", tok.ObtainedAt, tok.Expiry, now)
		}
	})
}
