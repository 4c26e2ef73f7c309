package oauth_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/store"
)

// TestBlockingEventsHook (review M3): the host's Events hook blocks for
// good on the first event. Refreshes go on regardless: after the next expiry
// callers get a new token from a second refresh, not the finished first
// refresh's expired one; and Close returns when its ctx ends.
func TestBlockingEventsHook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Hour}, nil, nil)
		ref := tkRef(0)
		k.connect(t, ref)
		unblock := make(chan struct{})
		release := sync.OnceFunc(func() { close(unblock) })
		defer release()
		var calls atomic.Int64
		tk := k.tokens(t, tkOptions{edit: func(c *oauth.TokensConfig) {
			c.Events = func(oauth.Event) {
				calls.Add(1)
				<-unblock
			}
		}})

		time.Sleep(time.Hour + time.Second)
		first, err := tk.Source(ref).Token(context.Background())
		if err != nil {
			t.Fatalf("first refresh: %v", err)
		}
		synctest.Wait()
		if calls.Load() != 1 {
			t.Fatalf("the hook was called %d times, want 1 (blocked in the first call)", calls.Load())
		}

		time.Sleep(time.Hour + time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		second, err := tk.Source(ref).Token(ctx)
		cancel()
		if err != nil {
			t.Fatalf("second refresh: %v", err)
		}
		if second.AccessToken.Equal(first.AccessToken) || !second.Valid(time.Now()) || !k.srv.Active(second.AccessToken.Reveal()) {
			t.Fatal("after the second expiry the caller did not get a new working token")
		}
		if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 2 {
			t.Fatalf("%d refresh requests, want 2", n)
		}

		start := time.Now()
		ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
		err = tk.Close(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Close with a blocked hook: %v, want the ctx's deadline", err)
		}
		if d := time.Since(start); d > time.Minute {
			t.Errorf("Close returned after %v, its ctx ended after a minute", d)
		}
		release()
		synctest.Wait()
		if n := calls.Load(); n < 2 {
			t.Errorf("the hook was called %d times; the second refresh's events were not delivered after it unblocked", n)
		}
	})
}

// TestCloseLeavesNoGoroutine (review L15): Close whose ctx ends before a
// refresh does leaves no goroutine of its own behind (the package's goleak
// check and the synctest bubble both see one that stays).
func TestCloseLeavesNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Hour}, nil, nil)
		ref := tkRef(0)
		k.connect(t, ref)
		tk := k.tokens(t, tkOptions{})
		release := make(chan struct{})
		k.srv.FailToken(1, oauthtest.Fault{GrantType: oauthtest.GrantRefreshToken, Hang: true, Release: release})
		time.Sleep(time.Hour + time.Second)
		done := make(chan error, 1)
		go func() {
			_, err := tk.Source(ref).Token(context.Background())
			done <- err
		}()
		synctest.Wait() // the refresh hangs at the provider
		before := runtime.NumGoroutine()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := tk.Close(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Close: %v, want context.Canceled", err)
		}
		synctest.Wait()
		if n := runtime.NumGoroutine() - before; n > 0 {
			t.Errorf("Close left %d goroutines behind while the refresh hangs", n)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatalf("Token: %v", err)
		}
		synctest.Wait()
		closeTokens(t, tk) // everything ended: Close returns nil at once
	})
}

// tkSlowRelease logs the lease calls of one host process and holds its
// first lease release until unblock is closed.
type tkSlowRelease struct {
	store.Store
	unblock chan struct{}
	first   sync.Once
	mu      sync.Mutex
	calls   []string
}

func (s *tkSlowRelease) note(call string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, call)
}

func (s *tkSlowRelease) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *tkSlowRelease) AcquireLease(ctx context.Context, key, owner string, ttl time.Duration) (store.Lease, error) {
	s.note("acquire")
	return s.Store.AcquireLease(ctx, key, owner, ttl)
}

func (s *tkSlowRelease) ReleaseLease(ctx context.Context, key, owner string) error {
	s.note("release")
	hold := false
	s.first.Do(func() { hold = true })
	if hold {
		select {
		case <-s.unblock:
		case <-ctx.Done():
		}
	}
	defer s.note("released")
	return s.Store.ReleaseLease(ctx, key, owner)
}

// TestLeaseReleasedBeforeNextRefresh: the lease is released after the
// flight ended (review M3), yet a next refresh of the same process never
// takes the lease while that release is under way: taking it (as the same
// owner) then would have it released under the new refresh, and another
// process could refresh alongside.
func TestLeaseReleasedBeforeNextRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Hour}, nil, nil)
		ref := tkRef(0)
		k.connect(t, ref)
		slow := &tkSlowRelease{Store: k.st, unblock: make(chan struct{})}
		unblock := sync.OnceFunc(func() { close(slow.unblock) })
		defer unblock()
		tk := k.tokens(t, tkOptions{store: slow})
		defer closeTokens(t, tk)

		time.Sleep(time.Hour + time.Second)
		first, err := tk.Source(ref).Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// The API refuses the new token at once: a second refresh starts
		// while the first one's lease release hangs.
		second := make(chan *oauth.Token, 1)
		go func() {
			tok, err := tk.Source(ref).Invalidate(context.Background(), first.AccessToken)
			if err != nil {
				t.Errorf("Invalidate: %v", err)
			}
			second <- tok
		}()
		synctest.Wait()
		if diff := cmp.Diff([]string{"acquire", "release"}, slow.log()); diff != "" {
			t.Fatalf("lease calls while the release hangs (-want +got):\n%s", diff)
		}
		unblock()
		tok := <-second
		synctest.Wait()
		if tok == nil || tok.AccessToken.Equal(first.AccessToken) || !k.srv.Active(tok.AccessToken.Reveal()) {
			t.Fatal("the second refresh did not give a new working token")
		}
		if diff := cmp.Diff([]string{"acquire", "release", "released", "acquire", "release", "released"}, slow.log()); diff != "" {
			t.Errorf("lease calls (-want +got):\n%s", diff)
		}
	})
}

// tkHungStore is a store whose bookkeeping writes (connection log entries
// and lease releases) hang, once hang is set, until their context is done,
// as over a black-holed database connection.
type tkHungStore struct {
	store.Store
	hang    atomic.Bool
	hung    atomic.Int64 // calls that hung
	hanging atomic.Int64 // calls hanging now
}

func (s *tkHungStore) block(ctx context.Context) error {
	s.hung.Add(1)
	s.hanging.Add(1)
	defer s.hanging.Add(-1)
	<-ctx.Done()
	return ctx.Err()
}

func (s *tkHungStore) AppendLog(ctx context.Context, e *store.LogEntry) (int64, error) {
	if s.hang.Load() {
		return 0, s.block(ctx)
	}
	return s.Store.AppendLog(ctx, e)
}

func (s *tkHungStore) ReleaseLease(ctx context.Context, key, owner string) error {
	if s.hang.Load() {
		return s.block(ctx)
	}
	return s.Store.ReleaseLease(ctx, key, owner)
}

// TestHungStoreBookkeeping (review M3, the hung-store half): after a
// refresh the store hangs on the bookkeeping writes that follow it (the
// connection log entry and the lease release block until their context is
// done). The source is not wedged: Token keeps serving the new token at
// once, a second refresh (an API refusing the new token) goes through
// while the first one's bookkeeping still hangs, and Close returns within
// its ctx, every hung write given up.
func TestHungStoreBookkeeping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Hour}, nil, nil)
		ref := tkRef(0)
		k.connect(t, ref)
		hung := &tkHungStore{Store: k.st}
		tk := k.tokens(t, tkOptions{store: hung})
		hung.hang.Store(true)

		time.Sleep(time.Hour + time.Second)
		first, err := tk.Source(ref).Token(context.Background())
		if err != nil {
			t.Fatalf("first refresh: %v", err)
		}
		synctest.Wait()
		if hung.hanging.Load() == 0 {
			t.Fatal("no bookkeeping write hangs after the refresh: the test would prove nothing")
		}

		start := time.Now()
		again, err := tk.Source(ref).Token(context.Background())
		if err != nil || !again.AccessToken.Equal(first.AccessToken) || time.Since(start) != 0 {
			t.Fatalf("Token while the bookkeeping hangs: %v after %v, want the new token at once", err, time.Since(start))
		}

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		second, err := tk.Source(ref).Invalidate(ctx, first.AccessToken)
		cancel()
		if err != nil {
			t.Fatalf("second refresh while the first one's bookkeeping hangs: %v", err)
		}
		if second.AccessToken.Equal(first.AccessToken) || !k.srv.Active(second.AccessToken.Reveal()) {
			t.Fatal("the second refresh did not give a new working token")
		}
		if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 2 {
			t.Fatalf("%d refresh requests, want 2", n)
		}

		start = time.Now()
		ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
		err = tk.Close(ctx)
		cancel()
		if err != nil || time.Since(start) >= time.Minute {
			t.Fatalf("Close = %v after %v, want nil within its minute", err, time.Since(start))
		}
		synctest.Wait()
		if n := hung.hanging.Load(); n != 0 {
			t.Errorf("%d store calls still hang after Close", n)
		}
		if hung.hung.Load() < 2 {
			t.Errorf("%d store calls hung, want the log entries and lease releases of both refreshes", hung.hung.Load())
		}
	})
}
