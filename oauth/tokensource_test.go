package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/oauth2"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/store"
)

// TestTokenFastPath: a valid cached token costs no store read, no provider
// call and no allocation, and every caller shares it.
func TestTokenFastPath(t *testing.T) {
	k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true}, nil, nil)
	ref := tkRef(0)
	k.connect(t, ref)
	tk := k.tokens(t, tkOptions{})
	defer closeTokens(t, tk)
	src := tk.Source(ref)
	ctx := context.Background()
	first, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	resolves, calls := k.res.calls.Load(), k.srv.Calls(oauthtest.PathToken)
	var tok *oauth.Token
	allocs := testing.AllocsPerRun(1000, func() { tok, _ = src.Token(ctx) })
	if allocs != 0 {
		t.Errorf("cached Token allocates %v times per call, want 0", allocs)
	}
	if tok != first {
		t.Error("cached Token returned another *Token")
	}
	if k.res.calls.Load() != resolves || k.srv.Calls(oauthtest.PathToken) != calls {
		t.Error("cached Token read the store or called the provider")
	}
	if !tok.RefreshToken.IsZero() {
		t.Error("the token handed out carries the refresh token")
	}
	var o2 *oauth2.Token
	allocs = testing.AllocsPerRun(1000, func() { o2, _ = src.OAuth2().Token() })
	if allocs != 0 {
		t.Errorf("cached OAuth2().Token allocates %v times per call, want 0", allocs)
	}
	if o2.AccessToken != first.AccessToken.Reveal() || o2.RefreshToken != "" {
		t.Error("OAuth2 adapter token differs or carries the refresh token")
	}
}

// TestRefreshAhead: within the leeway, callers keep the valid token while
// one refresh runs in the background; afterwards they get the new one.
func TestRefreshAhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Hour}, nil, nil)
		ref := tkRef(0)
		k.connect(t, ref)
		tk := k.tokens(t, tkOptions{})
		defer closeTokens(t, tk)
		src := tk.Source(ref)
		old, err := src.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(55*time.Minute + time.Second) // within the 5-minute leeway
		for range 10 {
			tok, err := src.Token(context.Background())
			if err != nil || tok != old {
				t.Fatalf("within the leeway: %v; want the still valid token at once", err)
			}
		}
		synctest.Wait() // the background refresh
		if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 1 {
			t.Fatalf("%d refresh requests, want 1", n)
		}
		tok, err := src.Token(context.Background())
		if err != nil || tok.AccessToken.Equal(old.AccessToken) || !k.srv.Active(tok.AccessToken.Reveal()) {
			t.Fatalf("after the refresh: %v; want the new token", err)
		}
	})
}

// TestLeeway: the type's leeway decides when a token is refreshed.
func TestLeeway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Hour}, nil,
			func(o *connection.OAuth2) { o.RefreshLeeway = 20 * time.Minute })
		ref := tkRef(0)
		k.connect(t, ref)
		tk := k.tokens(t, tkOptions{})
		defer closeTokens(t, tk)
		src := tk.Source(ref)
		time.Sleep(39 * time.Minute)
		if _, err := src.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 0 {
			t.Fatalf("refreshed %d times before the leeway", n)
		}
		time.Sleep(time.Minute + time.Second)
		if _, err := src.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 1 {
			t.Fatalf("%d refresh requests 20 minutes before expiry, want 1", n)
		}
	})
}

// TestOAuth2Adapter: x/oauth2 code uses the source and its refreshes.
func TestOAuth2Adapter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, RevokeAccessTokenOnRefresh: true}, nil, nil)
		ref := tkRef(0)
		k.connect(t, ref)
		tk := k.tokens(t, tkOptions{})
		defer closeTokens(t, tk)
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, k.srv.Client())
		client := oauth2.NewClient(ctx, tk.Source(ref).OAuth2())
		get := func() int {
			resp, err := client.Get(k.srv.ResourceURL())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if code := get(); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		time.Sleep(time.Hour)
		if code := get(); code != http.StatusOK {
			t.Fatalf("after expiry: status %d", code)
		}
		if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 1 {
			t.Fatalf("%d refresh requests, want 1", n)
		}
	})
}

// TestClientCredentialsSource: a client credentials type gets a new token
// at expiry, with no refresh token; with a stored record the token is
// shared through the store.
func TestClientCredentialsSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{AccessTokenTTL: time.Hour}, nil,
			func(o *connection.OAuth2) { o.Grant = connection.GrantClientCredentials; o.AuthorizeURL = "" })
		ctx := context.Background()
		a := k.tokens(t, tkOptions{})
		defer closeTokens(t, a)
		b := k.tokens(t, tkOptions{})
		defer closeTokens(t, b)

		// Without a record: memory only, per process.
		mem := tkRef(0)
		tok, err := a.Source(mem).Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Source(mem).Token(ctx); err != nil {
			t.Fatal(err)
		}
		if n := k.srv.GrantCalls(oauthtest.GrantClientCredentials); n != 1 {
			t.Fatalf("%d client credentials requests, want 1", n)
		}
		if !k.srv.Active(tok.AccessToken.Reveal()) {
			t.Fatal("token not active")
		}
		time.Sleep(time.Hour)
		if _, err := a.Source(mem).Token(ctx); err != nil {
			t.Fatal(err)
		}
		if n := k.srv.GrantCalls(oauthtest.GrantClientCredentials); n != 2 {
			t.Fatalf("%d client credentials requests after expiry, want 2", n)
		}

		// With a record: stored, and another process uses the stored one.
		shared := tkRef(1)
		if _, err := k.st.PutConnection(ctx, &store.Connection{ID: "cc-1", Ref: shared}); err != nil {
			t.Fatal(err)
		}
		ta, err := a.Source(shared).Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tb, err := b.Source(shared).Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ta.AccessToken.Equal(tb.AccessToken) {
			t.Fatal("process B did not use the stored token")
		}
		if n := k.srv.GrantCalls(oauthtest.GrantClientCredentials); n != 3 {
			t.Fatalf("%d client credentials requests, want 3", n)
		}
		c, st := k.stored(t, shared)
		if c.Token == nil || c.Token.Refreshable || !st.RefreshToken.IsZero() || !st.AccessToken.Equal(ta.AccessToken) {
			t.Fatal("the stored client credentials token is missing or refreshable")
		}
	})
}

// TestDisconnectForgetsCachedToken: after DISCONNECT (tokens deleted, the
// flow calls Unschedule) this process stops serving the cached token.
func TestDisconnectForgetsCachedToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true}, nil, nil)
		ref := tkRef(0)
		id := k.connect(t, ref)
		tk := k.tokens(t, tkOptions{})
		defer closeTokens(t, tk)
		r := oauth.NewRefresher(tk, oauth.RefresherConfig{})
		ctx := context.Background()
		if _, err := tk.Source(ref).Token(ctx); err != nil {
			t.Fatal(err)
		}
		c, err := k.st.GetConnectionByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		c.Token = nil
		if _, err := k.st.PutConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
		r.Unschedule(id)
		if _, err := tk.Source(ref).Token(ctx); !errors.Is(err, oauth.ErrNotConnected) {
			t.Fatalf("after DISCONNECT: %v, want ErrNotConnected", err)
		}
	})
}
