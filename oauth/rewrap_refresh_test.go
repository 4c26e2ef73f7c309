package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/keyring"
	"github.com/connkit/connkit/store/storemock"
)

// rotateAndRewrap rotates the kit's keyring to a new key and re-seals the
// store under it, as an operator retiring a key does while the hosts run.
func (k *tkKit) rotateAndRewrap(t testing.TB, id uint32) store.RewrapStats {
	t.Helper()
	key, err := keyring.GenerateKey(id)
	if err != nil {
		t.Error(err)
		return store.RewrapStats{}
	}
	if err := k.ring.Rotate(key); err != nil {
		t.Error(err)
		return store.RewrapStats{}
	}
	stats, err := store.Rewrap(context.Background(), k.st, k.ring, nil)
	if err != nil {
		t.Errorf("Rewrap: %v", err)
	}
	return stats
}

// checkRotatedAndAlive checks that the store holds a refresh token the
// provider still accepts and the access token callers got, and that the
// next refresh (after another expiry) works without reuse detection.
func checkRotatedAndAlive(t *testing.T, k *tkKit, tk *oauth.Tokens, before, got string, wantCalls int) {
	t.Helper()
	_, st := k.stored(t, tkRef(0))
	if st.RefreshToken.Reveal() == before {
		t.Fatal("the store still holds the refresh token the provider rotated away")
	}
	if info, ok := k.srv.Lookup(st.RefreshToken.Reveal()); !ok || !info.Active {
		t.Fatalf("the stored refresh token is not active at the provider (%+v)", info)
	}
	if st.AccessToken.Reveal() != got {
		t.Fatal("the store holds another access token than the callers got")
	}
	time.Sleep(time.Hour + time.Second)
	tok, err := tk.Source(tkRef(0)).Token(context.Background())
	if err != nil {
		t.Fatalf("next refresh: %v", err)
	}
	next := tok.AccessToken.Reveal()
	if next == got || !k.srv.Active(next) {
		t.Fatal("the next refresh did not give a new working token")
	}
	if n := k.srv.ReuseDetections(); n != 0 {
		t.Fatalf("the next refresh presented a used refresh token: %d reuse detections", n)
	}
	if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != wantCalls {
		t.Fatalf("%d refresh requests, want %d", n, wantCalls)
	}
}

// TestRewrapDuringRefresh (review H1): store.Rewrap re-seals the token set
// under a new key while a refresh is at the provider, which rotates the
// refresh token. The refresh's compare-and-swap write loses to Rewrap's, and
// on reading again it finds other bytes: it must recognise the same token
// set, sealed again, and store the rotated one, not take Rewrap's copy of the
// old set for a new CONNECT (which loses the rotated refresh token and makes
// the next refresh a reuse that revokes the grant).
func TestRewrapDuringRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			k     *tkKit
			armed atomic.Bool
			stats store.RewrapStats
		)
		intercept := func(_ http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == oauthtest.PathToken && armed.CompareAndSwap(true, false) {
				stats = k.rotateAndRewrap(t, 2)
			}
			return false
		}
		k = newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Hour, Intercept: intercept}, nil, nil)
		ref := tkRef(0)
		k.connect(t, ref)
		_, before := k.stored(t, ref)
		tk := k.tokens(t, tkOptions{})
		defer closeTokens(t, tk)

		time.Sleep(time.Hour + time.Second)
		armed.Store(true)
		tok, err := tk.Source(ref).Token(context.Background())
		if err != nil {
			t.Fatalf("Token: %v", err)
		}
		if stats.ConnectionsWritten != 1 {
			t.Fatalf("Rewrap wrote %d connections during the refresh, want 1: the race was not staged", stats.ConnectionsWritten)
		}
		if tok.AccessToken.Equal(before.AccessToken) || !k.srv.Active(tok.AccessToken.Reveal()) {
			t.Fatal("the caller did not get the refreshed token")
		}
		checkRotatedAndAlive(t, k, tk, before.RefreshToken.Reveal(), tok.AccessToken.Reveal(), 2)
	})
}

// TestRewrapWhileWritePending (review H1, pending set): the store refuses
// the refreshed set, so it waits in memory to be written; meanwhile Rewrap
// re-seals the set it replaces. When the store is back, the retried write
// must still recognise that set and store the rotated one.
func TestRewrapWhileWritePending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Hour}, nil, nil)
		ref := tkRef(0)
		k.connect(t, ref)
		_, before := k.stored(t, ref)

		var failing atomic.Bool
		failing.Store(true)
		m := storemock.NewMockStore(gomock.NewController(t))
		m.EXPECT().PutConnection(gomock.Any(), gomock.Any()).DoAndReturn(func(ctx context.Context, c *store.Connection) (int64, error) {
			if failing.Load() {
				return 0, errors.New("database is down")
			}
			return k.st.PutConnection(ctx, c)
		}).AnyTimes()
		storemock.Delegate(m, k.st)
		tk := k.tokens(t, tkOptions{store: m})
		defer closeTokens(t, tk)

		time.Sleep(time.Hour + time.Second)
		tok, err := tk.Source(ref).Token(context.Background())
		if err != nil {
			t.Fatalf("Token: %v", err)
		}
		if _, st := k.stored(t, ref); !st.RefreshToken.Equal(before.RefreshToken) {
			t.Fatal("the store took the new set although every write fails")
		}
		// Rewrap writes to the store directly: only this host's writes fail.
		if stats := k.rotateAndRewrap(t, 2); stats.ConnectionsWritten != 1 {
			t.Fatalf("Rewrap wrote %d connections, want 1", stats.ConnectionsWritten)
		}
		failing.Store(false)
		time.Sleep(time.Minute) // the retry loop writes the pending set
		synctest.Wait()
		checkRotatedAndAlive(t, k, tk, before.RefreshToken.Reveal(), tok.AccessToken.Reveal(), 2)
	})
}
