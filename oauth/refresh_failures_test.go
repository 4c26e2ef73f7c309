package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
)

// The failure classes of the refresh protocol.

// TestInvalidGrant: the provider refuses the refresh token. Exactly one
// call, the connection turns red with the reason, the host hears of it, the
// refresher drops it and no further call is made.
func TestInvalidGrant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Hour}, nil, nil)
		ref := tkRef(0)
		id := k.connect(t, ref)
		events := &tkEvents{}
		tk := k.tokens(t, tkOptions{events: events})
		defer closeTokens(t, tk)
		ref2 := tkRef(1)
		id2 := k.connect(t, ref2)
		r := oauth.NewRefresher(tk, oauth.RefresherConfig{})
		r.Schedule(id, ref, time.Now().Add(time.Hour))
		r.Schedule(id2, ref2, time.Now().Add(time.Hour))

		k.srv.FailToken(1, oauthtest.Fault{GrantType: oauthtest.GrantRefreshToken, Error: "invalid_grant", Description: "token revoked by the user"})
		time.Sleep(time.Hour)
		_, err := tk.Source(ref).Token(context.Background())
		if !errors.Is(err, oauth.ErrReconnect) {
			t.Fatalf("Token: %v, want ErrReconnect", err)
		}
		var te *oauth.TokenError
		if !errors.As(err, &te) || te.Code != "invalid_grant" {
			t.Fatalf("error %v is not the provider's invalid_grant", err)
		}
		if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 1 {
			t.Fatalf("%d refresh requests, want 1", n)
		}
		c, st := k.stored(t, ref)
		if c.Health.Status != connection.StatusError || !strings.Contains(c.Health.Reason, "invalid_grant") {
			t.Fatalf("health %+v, want red with invalid_grant", c.Health)
		}
		if !st.RefreshToken.IsZero() || c.Token.Refreshable {
			t.Error("the refused refresh token is still stored")
		}
		synctest.Wait() // events are emitted after callers have their result
		if diff := cmp.Diff([]oauth.EventKind{oauth.RefreshFailed, oauth.Disconnected}, events.kinds(id)); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		for _, ev := range events.all() {
			if ev.ConnectionID == id && (ev.Ref != ref || !errors.Is(ev.Err, oauth.ErrReconnect) || ev.Reason == "") {
				t.Errorf("event %+v lacks its identity or reason", ev)
			}
		}
		if r.Len() != 1 {
			t.Errorf("refresher holds %d connections, want 1 (the failed one dropped)", r.Len())
		}

		// No more calls: not right away, not after the cooldown, not from
		// another process.
		for range 3 {
			if _, err := tk.Source(ref).Token(context.Background()); !errors.Is(err, oauth.ErrReconnect) {
				t.Fatalf("Token again: %v, want ErrReconnect", err)
			}
			time.Sleep(10 * time.Minute)
		}
		other := k.tokens(t, tkOptions{})
		defer closeTokens(t, other)
		if _, err := other.Source(ref).Token(context.Background()); !errors.Is(err, oauth.ErrReconnect) {
			t.Fatalf("another process: %v, want ErrReconnect", err)
		}
		if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 1 {
			t.Fatalf("%d refresh requests after the refusal, want still 1", n)
		}
		synctest.Wait() // events are emitted after callers have their result
		if got := events.kinds(id); len(got) != 2 {
			t.Errorf("events %v: the refusal must be reported once", got)
		}

		// A new CONNECT brings the connection back.
		k.connect(t, ref)
		r.Schedule(id, ref, time.Now().Add(time.Hour))
		tok, err := tk.Source(ref).Token(context.Background())
		if err != nil || !k.srv.Active(tok.AccessToken.Reveal()) {
			t.Fatalf("after a new CONNECT: %v", err)
		}
	})
}

// TestTemporaryFailures: 503, 503, 200 succeeds after backoff within one
// Token call; a 400 costs one call and is not retried during the cooldown.
func TestTemporaryFailures(t *testing.T) {
	t.Run("503 503 200", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			times := &tkTokenRequestTimes{}
			k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, Intercept: times.intercept}, nil, nil)
			ref := tkRef(0)
			id := k.connect(t, ref)
			events := &tkEvents{}
			tk := k.tokens(t, tkOptions{events: events})
			defer closeTokens(t, tk)
			k.srv.FailToken(2, oauthtest.Fault{GrantType: oauthtest.GrantRefreshToken, Status: http.StatusServiceUnavailable})
			time.Sleep(time.Hour)
			tok, err := tk.Source(ref).Token(context.Background())
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if !k.srv.Active(tok.AccessToken.Reveal()) {
				t.Fatal("token not active")
			}
			if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 3 {
				t.Fatalf("%d refresh requests, want 3", n)
			}
			ts := times.all()[1:] // [0] is the code exchange
			for i := 1; i < len(ts); i++ {
				if gap := ts[i].Sub(ts[i-1]); gap <= 0 {
					t.Errorf("attempt %d came %v after the previous one: no backoff", i+1, gap)
				}
			}
			synctest.Wait() // events are emitted after callers have their result
			if diff := cmp.Diff([]oauth.EventKind{oauth.Refreshed}, events.kinds(id)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	})
	t.Run("400", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true}, nil, nil)
			ref := tkRef(0)
			id := k.connect(t, ref)
			events := &tkEvents{}
			tk := k.tokens(t, tkOptions{events: events})
			defer closeTokens(t, tk)
			k.srv.FailToken(1, oauthtest.Fault{GrantType: oauthtest.GrantRefreshToken, Status: http.StatusBadRequest, Error: "invalid_request"})
			time.Sleep(time.Hour)
			_, err := tk.Source(ref).Token(context.Background())
			var te *oauth.TokenError
			if !errors.As(err, &te) || te.StatusCode != http.StatusBadRequest || errors.Is(err, oauth.ErrReconnect) {
				t.Fatalf("Token: %v, want the provider's 400", err)
			}
			if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 1 {
				t.Fatalf("%d refresh requests, want 1", n)
			}
			// Within the cooldown: the failure again, no call.
			time.Sleep(oauth.DefaultCooldown / 4)
			if _, err := tk.Source(ref).Token(context.Background()); !errors.As(err, &te) {
				t.Fatalf("Token during the cooldown: %v", err)
			}
			if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 1 {
				t.Fatalf("%d refresh requests during the cooldown, want 1", n)
			}
			c, _ := k.stored(t, ref)
			if c.Health.Status != connection.StatusError {
				t.Errorf("health %+v: an expired token that cannot be refreshed is red", c.Health)
			}
			// After it: success, and the status recovers.
			time.Sleep(oauth.DefaultCooldown)
			if _, err := tk.Source(ref).Token(context.Background()); err != nil {
				t.Fatalf("Token after the cooldown: %v", err)
			}
			if c, _ := k.stored(t, ref); c.Health.Status != connection.StatusConfigured {
				t.Errorf("health %+v after recovery, want configured", c.Health)
			}
			synctest.Wait() // events are emitted after callers have their result
			if diff := cmp.Diff([]oauth.EventKind{oauth.RefreshFailed, oauth.Refreshed, oauth.Recovered}, events.kinds(id)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	})
}

// TestRetryAfter: a short Retry-After is waited for within the call; a long
// one ends the call and no request is made before it has passed.
func TestRetryAfter(t *testing.T) {
	t.Run("short", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			times := &tkTokenRequestTimes{}
			k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, Intercept: times.intercept}, nil, nil)
			ref := tkRef(0)
			k.connect(t, ref)
			tk := k.tokens(t, tkOptions{})
			defer closeTokens(t, tk)
			k.srv.FailToken(1, oauthtest.Fault{GrantType: oauthtest.GrantRefreshToken, Status: http.StatusTooManyRequests, RetryAfter: "7"})
			time.Sleep(time.Hour)
			if _, err := tk.Source(ref).Token(context.Background()); err != nil {
				t.Fatalf("Token: %v", err)
			}
			ts := times.all()
			if len(ts) != 3 {
				t.Fatalf("%d token requests, want exchange + 2", len(ts))
			}
			if gap := ts[2].Sub(ts[1]); gap < 7*time.Second {
				t.Fatalf("retried after %v, Retry-After asked for 7s", gap)
			}
		})
	})
	t.Run("long", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true}, nil, nil)
			ref := tkRef(0)
			k.connect(t, ref)
			tk := k.tokens(t, tkOptions{})
			defer closeTokens(t, tk)
			k.srv.FailToken(1, oauthtest.Fault{GrantType: oauthtest.GrantRefreshToken, Status: http.StatusServiceUnavailable, RetryAfter: "600"})
			time.Sleep(time.Hour)
			_, err := tk.Source(ref).Token(context.Background())
			var te *oauth.TokenError
			if !errors.As(err, &te) || !te.Temporary() || te.RetryAfter != 10*time.Minute {
				t.Fatalf("Token: %v, want a temporary error asking for 10 minutes", err)
			}
			for range 9 {
				time.Sleep(time.Minute)
				if _, err := tk.Source(ref).Token(context.Background()); err == nil {
					t.Fatal("Token succeeded before Retry-After passed")
				}
			}
			if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 1 {
				t.Fatalf("%d refresh requests before Retry-After passed, want 1", n)
			}
			time.Sleep(time.Minute + time.Second)
			if _, err := tk.Source(ref).Token(context.Background()); err != nil {
				t.Fatalf("Token after Retry-After: %v", err)
			}
			if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 2 {
				t.Fatalf("%d refresh requests, want 2", n)
			}
		})
	})
}

// TestCallerCancellation: a caller giving up does not fail the refresh the
// others wait for.
func TestCallerCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true}, nil, nil)
		ref := tkRef(0)
		k.connect(t, ref)
		tk := k.tokens(t, tkOptions{})
		defer closeTokens(t, tk)
		release := make(chan struct{})
		k.srv.FailToken(1, oauthtest.Fault{GrantType: oauthtest.GrantRefreshToken, Hang: true, Release: release})
		time.Sleep(time.Hour)

		ctx, cancel := context.WithCancel(context.Background())
		errA := make(chan error, 1)
		go func() {
			_, err := tk.Source(ref).Token(ctx) // starts the refresh
			errA <- err
		}()
		synctest.Wait()
		type result struct {
			tok *oauth.Token
			err error
		}
		others := make(chan result, 5)
		for range 5 {
			go func() {
				tok, err := tk.Source(ref).Token(context.Background())
				others <- result{tok, err}
			}()
		}
		synctest.Wait()
		cancel()
		if err := <-errA; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled caller: %v, want context.Canceled", err)
		}
		close(release)
		for range 5 {
			r := <-others
			if r.err != nil {
				t.Fatalf("waiting caller: %v", r.err)
			}
			if !k.srv.Active(r.tok.AccessToken.Reveal()) {
				t.Fatal("waiting caller got a token that does not work")
			}
		}
		if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 1 {
			t.Fatalf("%d refresh requests, want 1", n)
		}
	})
}

// TestRefreshTimeout: a provider that hangs fails the waiting callers after
// RefreshTimeout, not never.
func TestRefreshTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true}, nil, nil)
		ref := tkRef(0)
		k.connect(t, ref)
		tk := k.tokens(t, tkOptions{})
		defer closeTokens(t, tk)
		k.srv.FailToken(1, oauthtest.Fault{GrantType: oauthtest.GrantRefreshToken, Hang: true})
		time.Sleep(time.Hour)
		start := time.Now()
		_, err := tk.Source(ref).Token(context.Background())
		if err == nil {
			t.Fatal("Token succeeded against a hanging provider")
		}
		if waited := time.Since(start); waited > oauth.DefaultRefreshTimeout {
			t.Fatalf("waited %v, more than the refresh timeout", waited)
		}
	})
}

// TestMisconfiguredClient: invalid_client turns the connection red as a
// configuration error; the refresh token is kept.
func TestMisconfiguredClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true}, nil, nil)
		ref := tkRef(0)
		id := k.connect(t, ref)
		events := &tkEvents{}
		tk := k.tokens(t, tkOptions{events: events})
		defer closeTokens(t, tk)
		k.srv.FailToken(1, oauthtest.Fault{GrantType: oauthtest.GrantRefreshToken, Error: "invalid_client"})
		time.Sleep(time.Hour)
		_, err := tk.Source(ref).Token(context.Background())
		if !errors.Is(err, oauth.ErrMisconfigured) {
			t.Fatalf("Token: %v, want ErrMisconfigured", err)
		}
		c, st := k.stored(t, ref)
		if c.Health.Status != connection.StatusError || !strings.Contains(c.Health.Reason, "invalid_client") {
			t.Errorf("health %+v", c.Health)
		}
		if st.RefreshToken.IsZero() {
			t.Error("the refresh token was dropped for a client error")
		}
		synctest.Wait() // events are emitted after callers have their result
		if diff := cmp.Diff([]oauth.EventKind{oauth.RefreshFailed}, events.kinds(id)); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		// The configuration is fixed; after the (long) cooldown it works.
		time.Sleep(oauth.DefaultMaxCooldown)
		if _, err := tk.Source(ref).Token(context.Background()); err != nil {
			t.Fatalf("Token after the cooldown: %v", err)
		}
		if c, _ := k.stored(t, ref); c.Health.Status != connection.StatusConfigured {
			t.Errorf("health %+v after recovery", c.Health)
		}
	})
}

// TestRetryAfterDateByConfiguredClock (review L14, leftover): a Retry-After
// given as an HTTP-date is turned into a delay against the configured clock
// (TokensConfig.Now for refreshes, FlowConfig.Now for revocations), not
// time.Now: a provider asking to wait until ten minutes past the host's
// now is waited for ten minutes, whatever time.Now says.
func TestRetryAfterDateByConfiguredClock(t *testing.T) {
	const skew = 365 * 24 * time.Hour // the configured clock runs a year ahead of time.Now
	now := func() time.Time { return time.Now().Add(skew) }
	// tenMinutes is the header asking to wait until ten minutes past now().
	tenMinutes := func() string { return now().Add(10 * time.Minute).UTC().Format(http.TimeFormat) }
	wantTenMinutes := func(t *testing.T, what string, err error) {
		t.Helper()
		te, ok := errors.AsType[*oauth.TokenError](err)
		if !ok {
			t.Fatalf("%s: %v, want a *TokenError", what, err)
		}
		if te.RetryAfter <= 9*time.Minute || te.RetryAfter > 10*time.Minute {
			t.Fatalf("%s: RetryAfter %v, want 10 minutes by the configured clock", what, te.RetryAfter)
		}
	}
	t.Run("refresh", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true}, nil, nil)
			ref := tkRef(0)
			k.connect(t, ref) // by time.Now: long expired by the configured clock
			tk := k.tokens(t, tkOptions{edit: func(c *oauth.TokensConfig) { c.Now = now }})
			defer closeTokens(t, tk)
			k.srv.FailToken(1, oauthtest.Fault{GrantType: oauthtest.GrantRefreshToken, Status: http.StatusServiceUnavailable, RetryAfter: tenMinutes()})
			_, err := tk.Source(ref).Token(context.Background())
			wantTenMinutes(t, "Token", err)
		})
	})
	t.Run("revoke", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fx := newFlowFx(t, flowFxOptions{flow: func(c *oauth.FlowConfig) { c.Now = now }})
			fx.connect(fx.ref)
			fx.srv.FailRevoke(-1, oauthtest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: tenMinutes()})
			res, err := fx.flow.Disconnect(context.Background(), fx.ref)
			if err != nil {
				t.Fatal(err)
			}
			wantTenMinutes(t, "Disconnect's RevokeErr", res.RevokeErr)
		})
	})
}
