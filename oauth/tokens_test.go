package oauth_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/connkit/connkit/internal/httpx"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
)

// TestIdleSourcesForgotten (review L15): a host asks for the token sources
// of ever new connections, round after round (one IdleTimeout apart). The Tokens keeps only those
// used within about two IdleTimeouts, so its memory stays bounded; the one
// in constant use keeps its source; a handle to a forgotten source still
// works, through the ref's current source, without calling the provider.
func TestIdleSourcesForgotten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: 24 * time.Hour}, nil, nil)
		hot, held := tkRef(0), tkRef(1)
		k.connect(t, hot)
		k.connect(t, held)
		const idle = 10 * time.Minute
		tk := k.tokens(t, tkOptions{edit: func(c *oauth.TokensConfig) { c.IdleTimeout = idle }})
		defer closeTokens(t, tk)
		hotSrc, heldSrc := tk.Source(hot), tk.Source(held)
		heldTok, err := heldSrc.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}

		const perRound, rounds = 500, 12
		most := 0
		for round := range rounds {
			for i := range perRound {
				tk.Source(tkRef(2 + round*perRound + i))
			}
			// The hot connection is used more often than every IdleTimeout.
			for range 2 {
				if _, err := hotSrc.Token(ctx); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				time.Sleep(idle/2 + time.Second)
			}
			synctest.Wait() // the sweep started by the round's new sources
			n, _ := tk.SourceCount()
			most = max(most, n)
		}
		if limit := 2*perRound + 2; most > limit {
			t.Fatalf("the Tokens held up to %d sources for %d connections asked for; want at most %d (two rounds)", most, rounds*perRound+2, limit)
		}
		if _, byID := tk.SourceCount(); byID > 2 {
			t.Errorf("%d sources bound to connection ids, want at most 2", byID)
		}
		if tk.Source(hot) != hotSrc {
			t.Error("the source in constant use was forgotten")
		}

		tok, err := heldSrc.Token(ctx)
		if err != nil {
			t.Fatalf("Token through a forgotten source: %v", err)
		}
		if !tok.AccessToken.Equal(heldTok.AccessToken) {
			t.Error("the forgotten source's handle gave another token than the stored one")
		}
		if tk.Source(held) == heldSrc {
			t.Error("the source unused for many IdleTimeouts was kept")
		}
		if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 0 {
			t.Errorf("%d refresh requests, want none", n)
		}
	})
}

// TestIdleTimeoutNegativeKeepsSources: a negative IdleTimeout keeps every
// source, as before idle eviction existed.
func TestIdleTimeoutNegativeKeepsSources(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{}, nil, nil)
		tk := k.tokens(t, tkOptions{edit: func(c *oauth.TokensConfig) { c.IdleTimeout = -1 }})
		defer closeTokens(t, tk)
		first := tk.Source(tkRef(0))
		for round := range 3 {
			time.Sleep(2 * oauth.DefaultIdleTimeout)
			tk.Source(tkRef(1 + round))
			synctest.Wait()
		}
		if n, _ := tk.SourceCount(); n != 4 || tk.Source(tkRef(0)) != first {
			t.Fatalf("%d sources kept (first kept: %v), want all 4", n, tk.Source(tkRef(0)) == first)
		}
	})
}

// TestRefresherDropsItsSources: the sources the refresher makes for its
// background refreshes are dropped once each refresh has ended.
func TestRefresherDropsItsSources(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Hour}, nil, nil)
		const n = 5
		for i := range n {
			k.connect(t, tkRef(i))
		}
		tk := k.tokens(t, tkOptions{})
		defer closeTokens(t, tk)
		rf := oauth.NewRefresher(tk, oauth.RefresherConfig{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- rf.Run(ctx) }()
		time.Sleep(time.Hour)
		synctest.Wait()
		if got := k.srv.GrantCalls(oauthtest.GrantRefreshToken); got != n {
			t.Fatalf("%d refresh requests, want %d", got, n)
		}
		if byRef, byID := tk.SourceCount(); byRef != 0 || byID != 0 {
			t.Errorf("the Tokens still holds %d sources (%d by id) after the background refreshes", byRef, byID)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestTokensAllowPrivateNetworks (review L3): a Tokens without its own HTTP
// client refuses a token endpoint on a private (here loopback) address,
// unless AllowPrivateNetworks is set, as a Flow's does.
func TestTokensAllowPrivateNetworks(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("allow=%v", allow), func(t *testing.T) {
			k := newTKKitOn(t, oauthtest.New(t, tkServerConfig(oauthtest.Config{RotateRefreshTokens: true})), nil, nil)
			ref := tkRef(0)
			k.connect(t, ref)
			tk := k.tokens(t, tkOptions{edit: func(c *oauth.TokensConfig) {
				c.HTTPClient = nil
				c.AllowPrivateNetworks = allow
				c.Now = func() time.Time { return time.Now().Add(2 * time.Hour) } // the token is due
			}})
			defer closeTokens(t, tk)
			tok, err := tk.Source(ref).Token(context.Background())
			switch {
			case allow && err != nil:
				t.Fatalf("Token with AllowPrivateNetworks: %v", err)
			case allow && !k.srv.Active(tok.AccessToken.Reveal()):
				t.Fatal("Token with AllowPrivateNetworks: not a working token")
			case !allow && !errors.Is(err, httpx.ErrBlocked):
				t.Fatalf("Token without AllowPrivateNetworks: %v, want the SSRF guard's ErrBlocked", err)
			}
			want := 0
			if allow {
				want = 1
			}
			if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != want {
				t.Fatalf("%d refresh requests reached the provider, want %d", n, want)
			}
		})
	}
}
