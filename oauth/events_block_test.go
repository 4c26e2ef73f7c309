package oauth_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
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
