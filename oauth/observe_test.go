package oauth_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/store"
)

// tkReadCounter counts the connection reads of one host process.
type tkReadCounter struct {
	store.Store
	reads atomic.Int64
}

func (c *tkReadCounter) GetConnectionByID(ctx context.Context, id string) (*store.Connection, error) {
	c.reads.Add(1)
	return c.Store.GetConnectionByID(ctx, id)
}

func (c *tkReadCounter) GetConnection(ctx context.Context, ref connection.Ref) (*store.Connection, error) {
	c.reads.Add(1)
	return c.Store.GetConnection(ctx, ref)
}

// disconnectIn deletes ref's token set from the store and unschedules it in
// the given refresher, as DISCONNECT handled by that replica does.
func (k *tkKit) disconnectIn(t *testing.T, rf *oauth.Refresher, ref connection.Ref) {
	t.Helper()
	c, _ := k.stored(t, ref)
	c.Token = nil
	if _, err := k.st.PutConnection(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	rf.Unschedule(c.ID)
}

// record reads ref's connection record, as the host does for every step
// (connkit's Host.conn).
func (k *tkKit) record(t *testing.T, ref connection.Ref) *store.Connection {
	t.Helper()
	c, err := k.st.GetConnection(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestObserveDisconnectAcrossReplicas (review H3): replica A disconnects;
// replica B, whose cached access token is valid for most of an hour, sees
// the record without a token set when its next step reads it, and stops
// serving the token at once.
func TestObserveDisconnectAcrossReplicas(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Hour}, nil, nil)
		ref := tkRef(0)
		k.connect(t, ref)
		a := k.tokens(t, tkOptions{})
		defer closeTokens(t, a)
		b := k.tokens(t, tkOptions{})
		defer closeTokens(t, b)
		if _, err := b.Source(ref).Token(context.Background()); err != nil {
			t.Fatal(err)
		}

		k.disconnectIn(t, oauth.NewRefresher(a, oauth.RefresherConfig{}), ref)
		time.Sleep(time.Minute)
		rec := k.record(t, ref)
		b.Source(ref).Observe(rec.Token)
		if tok, err := b.Source(ref).Token(context.Background()); !errors.Is(err, oauth.ErrNotConnected) {
			t.Fatalf("replica B after DISCONNECT in A: token %v, error %v; want ErrNotConnected", tok != nil, err)
		}
		if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 0 {
			t.Fatalf("%d refresh requests, want none", n)
		}
	})
}

// TestObserveSameSet: Observe with the cached set, as stored or sealed again
// under a new key by store.Rewrap, keeps the cache: the next Token reads
// nothing from the store.
func TestObserveSameSet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Hour}, nil, nil)
		ref := tkRef(0)
		k.connect(t, ref)
		reads := &tkReadCounter{Store: k.st}
		b := k.tokens(t, tkOptions{store: reads})
		defer closeTokens(t, b)
		first, err := b.Source(ref).Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		check := func(what string) {
			t.Helper()
			n := reads.reads.Load()
			tok, err := b.Source(ref).Token(context.Background())
			if err != nil || tok != first {
				t.Fatalf("%s: Token gave another token (%v)", what, err)
			}
			if got := reads.reads.Load() - n; got != 0 {
				t.Fatalf("%s: Token read the store %d times, want 0 (the cache was dropped)", what, got)
			}
		}
		b.Source(ref).Observe(k.record(t, ref).Token)
		check("the same envelope")

		if stats := k.rotateAndRewrap(t, 2); stats.ConnectionsWritten != 1 {
			t.Fatalf("Rewrap wrote %d connections, want 1", stats.ConnectionsWritten)
		}
		rec := k.record(t, ref)
		b.Source(ref).Observe(rec.Token)
		check("the set sealed again")
		b.Source(ref).Observe(rec.Token)
		check("the set sealed again, seen twice")
	})
}

// TestObserveNewSet: replica A connects the connection again (a new token
// set); replica B, seeing the new set in the record, drops the token it
// cached and serves the new one, which it reads from the store without
// calling the provider.
func TestObserveNewSet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Hour}, nil, nil)
		ref := tkRef(0)
		k.connect(t, ref)
		b := k.tokens(t, tkOptions{})
		defer closeTokens(t, b)
		old, err := b.Source(ref).Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		k.connect(t, ref) // CONNECT again, through replica A
		_, now := k.stored(t, ref)
		b.Source(ref).Observe(k.record(t, ref).Token)
		tok, err := b.Source(ref).Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if tok.AccessToken.Equal(old.AccessToken) || !tok.AccessToken.Equal(now.AccessToken) {
			t.Fatal("replica B did not switch to the new CONNECT's token set")
		}
		if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 0 {
			t.Fatalf("%d refresh requests, want none", n)
		}
	})
}

// TestInvalidateAfterDisconnect (review H3, the 401 path): replica B's
// cached token is refused by the API after replica A disconnected; B reads
// the store, finds no token set, reports ErrNotConnected and forgets the
// token, so later calls fail too.
func TestInvalidateAfterDisconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Hour}, nil, nil)
		ref := tkRef(0)
		k.connect(t, ref)
		a := k.tokens(t, tkOptions{})
		defer closeTokens(t, a)
		b := k.tokens(t, tkOptions{})
		defer closeTokens(t, b)
		cached, err := b.Source(ref).Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		k.disconnectIn(t, oauth.NewRefresher(a, oauth.RefresherConfig{}), ref)
		if _, err := b.Source(ref).Invalidate(context.Background(), cached.AccessToken); !errors.Is(err, oauth.ErrNotConnected) {
			t.Fatalf("Invalidate after DISCONNECT: %v, want ErrNotConnected", err)
		}
		if _, err := b.Source(ref).Token(context.Background()); !errors.Is(err, oauth.ErrNotConnected) {
			t.Fatalf("Token after the 401: %v, want ErrNotConnected (the cache was kept)", err)
		}
		if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 0 {
			t.Fatalf("%d refresh requests, want none", n)
		}
	})
}
