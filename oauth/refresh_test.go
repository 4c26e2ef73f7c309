package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/mock/gomock"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/memory"
	"github.com/connkit/connkit/store/storemock"
)

// stampede makes perProcess goroutines in each host process ask for the
// connection's token at once and returns the access tokens they got.
func stampede(t *testing.T, procs []*oauth.Tokens, ref connection.Ref, perProcess int) []string {
	t.Helper()
	var wg sync.WaitGroup
	got := make([]string, len(procs)*perProcess)
	errs := make([]error, len(got))
	for p, tk := range procs {
		for i := range perProcess {
			wg.Go(func() {
				tok, err := tk.Source(ref).Token(context.Background())
				if err != nil {
					errs[p*perProcess+i] = err
					return
				}
				got[p*perProcess+i] = tok.AccessToken.Reveal()
			})
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("Token: %v", err)
	}
	return got
}

// checkOneRefreshPerExpiry is the heart of the protocol: 50 callers in each
// of 3 host processes (independent Tokens, one shared store) ask for the
// token at once after it expired, for several expiries in a row. Each
// expiry must cost exactly one refresh request, the provider (which rotates
// refresh tokens and revokes the whole grant on reuse) must never see a
// used refresh token again, and every caller must get the new token.
func checkOneRefreshPerExpiry(t *testing.T, k *tkKit, stores []store.Store, lifetime time.Duration, rounds int) {
	const perProcess = 50
	ref := tkRef(0)
	k.connect(t, ref)
	procs := make([]*oauth.Tokens, len(stores))
	for i, st := range stores {
		procs[i] = k.tokens(t, tkOptions{store: st})
		defer closeTokens(t, procs[i])
	}
	_, first := k.stored(t, ref)
	prev := first.AccessToken.Reveal()
	for round := 1; round <= rounds; round++ {
		time.Sleep(lifetime + 10*time.Millisecond) // past expiry
		got := stampede(t, procs, ref, perProcess)
		if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != round {
			t.Fatalf("round %d: %d refresh requests in total, want %d (one per expiry)", round, n, round)
		}
		if n := k.srv.ReuseDetections(); n != 0 {
			t.Fatalf("round %d: the provider saw %d reused refresh tokens", round, n)
		}
		want := got[0]
		for i, g := range got {
			if g != want {
				t.Fatalf("round %d: caller %d got another token than caller 0", round, i)
			}
		}
		if want == prev {
			t.Fatalf("round %d: callers got the expired token", round)
		}
		if !k.srv.Active(want) {
			t.Fatalf("round %d: the token callers got is not active at the provider", round)
		}
		_, st := k.stored(t, ref)
		if st.AccessToken.Reveal() != want {
			t.Fatalf("round %d: the store holds another access token than the callers got", round)
		}
		if info, ok := k.srv.Lookup(st.RefreshToken.Reveal()); !ok || !info.Active {
			t.Fatalf("round %d: the stored refresh token is not the active one (%+v)", round, info)
		}
		prev = want
	}
}

func TestOneRefreshPerExpiryAcrossProcesses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The provider takes 300ms to answer, so that the processes' refreshes
		// overlap and contend for the lease.
		slow := func(_ http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == oauthtest.PathToken && r.Method == http.MethodPost {
				time.Sleep(300 * time.Millisecond)
			}
			return false
		}
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Hour, Intercept: slow}, nil, nil)
		leases := &tkLeaseCounter{Store: k.st}
		checkOneRefreshPerExpiry(t, k, []store.Store{leases, leases, leases}, time.Hour, 3)
		if n := leases.held.Load(); n < 3 {
			t.Errorf("only %d lease attempts found the lease held: the processes did not contend", n)
		}
	})
}

// tkLeaseCounter counts AcquireLease calls refused with ErrLeaseHeld.
type tkLeaseCounter struct {
	store.Store
	held atomic.Int64
}

func (l *tkLeaseCounter) AcquireLease(ctx context.Context, key, owner string, ttl time.Duration) (store.Lease, error) {
	lease, err := l.Store.AcquireLease(ctx, key, owner, ttl)
	if errors.Is(err, store.ErrLeaseHeld) {
		l.held.Add(1)
	}
	return lease, err
}

// TestOneRefreshPerExpiryPostgres runs the same against PostgreSQL through
// store/sqlstore, each process with its own connection pool. It cannot run
// in a synctest bubble (real sockets), so it uses real time and 1-second
// tokens.
func TestOneRefreshPerExpiryPostgres(t *testing.T) {
	dsn := tkPostgresSchema(t)
	stores := []store.Store{tkOpenPostgres(t, dsn), tkOpenPostgres(t, dsn), tkOpenPostgres(t, dsn)}
	k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Second}, stores[0], nil)
	checkOneRefreshPerExpiry(t, k, stores, time.Second, 3)
}

// TestWriteFailsAfterRotation: the provider rotated the refresh token but
// the store refused the new set. The caller still gets a working token; the
// set is written by a retry; meanwhile, other processes neither use the old
// refresh token nor fail; the next process reads the new refresh token.
func TestWriteFailsAfterRotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Hour}, nil, nil)
		ref := tkRef(0)
		id := k.connect(t, ref)
		_, old := k.stored(t, ref)

		var failing atomic.Bool
		failing.Store(true)
		var failed atomic.Int64
		errDown := errors.New("database is down")
		ctrl := gomock.NewController(t)
		m := storemock.NewMockStore(ctrl)
		m.EXPECT().PutConnection(gomock.Any(), gomock.Any()).DoAndReturn(func(ctx context.Context, c *store.Connection) (int64, error) {
			if failing.Load() {
				failed.Add(1)
				return 0, errDown
			}
			return k.st.PutConnection(ctx, c)
		}).AnyTimes()
		storemock.Delegate(m, k.st)

		events := &tkEvents{}
		a := k.tokens(t, tkOptions{store: m, events: events})
		defer closeTokens(t, a)

		time.Sleep(time.Hour + time.Second)
		tok, err := a.Source(ref).Token(context.Background())
		if err != nil {
			t.Fatalf("Token: %v", err)
		}
		if !k.srv.Active(tok.AccessToken.Reveal()) || tok.AccessToken.Equal(old.AccessToken) {
			t.Fatal("the caller did not get the new, working token")
		}
		if !tok.RefreshToken.IsZero() {
			t.Error("the token handed to callers carries the refresh token")
		}
		if _, st := k.stored(t, ref); !st.RefreshToken.Equal(old.RefreshToken) {
			t.Fatal("the store took the new set although every write fails")
		}

		// The store stays down longer than the token lives: process A
		// refreshes again, with the rotated refresh token it holds in
		// memory, never the stale one in the store.
		time.Sleep(time.Hour + time.Second)
		tok2, err := a.Source(ref).Token(context.Background())
		if err != nil {
			t.Fatalf("Token after the second expiry: %v", err)
		}
		if tok2.AccessToken.Equal(tok.AccessToken) || !k.srv.Active(tok2.AccessToken.Reveal()) {
			t.Fatal("the second refresh did not give a new working token")
		}
		if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 2 {
			t.Fatalf("%d refresh requests, want 2", n)
		}
		if n := k.srv.ReuseDetections(); n != 0 {
			t.Fatalf("the stale refresh token was used: %d reuse detections", n)
		}
		if failed.Load() < 3 {
			t.Fatalf("the write was tried %d times; it should be retried while it fails", failed.Load())
		}

		// Process B, meanwhile, waits for A's lease instead of refreshing
		// with the stale refresh token; it gets A's token once written.
		b := k.tokens(t, tkOptions{})
		defer closeTokens(t, b)
		var bTok *oauth.Token
		var bErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			bTok, bErr = b.Source(ref).Token(context.Background())
		}()
		time.Sleep(2 * time.Second)
		failing.Store(false) // the database is back
		<-done
		if bErr != nil {
			t.Fatalf("process B: %v", bErr)
		}
		if !bTok.AccessToken.Equal(tok2.AccessToken) {
			t.Fatal("process B did not get the token process A refreshed")
		}
		c, st := k.stored(t, ref)
		if !st.AccessToken.Equal(tok2.AccessToken) {
			t.Fatal("the retried write did not store the latest set")
		}
		if info, ok := k.srv.Lookup(st.RefreshToken.Reveal()); !ok || !info.Active {
			t.Fatal("the stored refresh token is not the active one")
		}
		if c.Health.Status != connection.StatusConfigured {
			t.Errorf("status %q, want configured", c.Health.Status)
		}

		// The next process to refresh reads the new refresh token from the
		// store and succeeds without a reuse detection.
		time.Sleep(time.Hour + time.Second)
		c2 := k.tokens(t, tkOptions{})
		defer closeTokens(t, c2)
		tok3, err := c2.Source(ref).Token(context.Background())
		if err != nil {
			t.Fatalf("process C: %v", err)
		}
		if !k.srv.Active(tok3.AccessToken.Reveal()) {
			t.Fatal("process C's token does not work")
		}
		if n := k.srv.ReuseDetections(); n != 0 {
			t.Fatalf("%d reuse detections", n)
		}
		if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 3 {
			t.Fatalf("%d refresh requests, want 3", n)
		}
		if got := events.kinds(id); len(got) < 2 || got[0] != oauth.Refreshed {
			t.Errorf("events %v, want Refreshed ones", got)
		}
	})
}

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

// TestInvalidateDeduplicates: many 401s for the same token cause one
// refresh; a 401 for a token another process already replaced causes none.
func TestInvalidateDeduplicates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, RevokeAccessTokenOnRefresh: true}, nil, nil)
		ref := tkRef(0)
		k.connect(t, ref)
		a := k.tokens(t, tkOptions{})
		defer closeTokens(t, a)
		b := k.tokens(t, tkOptions{})
		defer closeTokens(t, b)

		old, err := a.Source(ref).Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Source(ref).Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		// The provider revokes the token out of band: every caller of A
		// gets a 401 and invalidates the same token.
		k.srv.Revoke(old.AccessToken.Reveal())
		var wg sync.WaitGroup
		got := make([]*oauth.Token, 20)
		for i := range got {
			wg.Go(func() {
				tok, err := a.Source(ref).Invalidate(context.Background(), old.AccessToken)
				if err != nil {
					t.Errorf("Invalidate: %v", err)
					return
				}
				got[i] = tok
			})
		}
		wg.Wait()
		if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 1 {
			t.Fatalf("%d refresh requests for 20 concurrent 401s, want 1", n)
		}
		for _, tok := range got {
			if tok == nil || !k.srv.Active(tok.AccessToken.Reveal()) || !tok.AccessToken.Equal(got[0].AccessToken) {
				t.Fatal("a caller did not get the one new working token")
			}
		}
		// B still caches the old token; its 401 finds A's token in the
		// store and uses it without calling the provider.
		tok, err := b.Source(ref).Invalidate(context.Background(), old.AccessToken)
		if err != nil {
			t.Fatalf("B Invalidate: %v", err)
		}
		if !tok.AccessToken.Equal(got[0].AccessToken) {
			t.Fatal("B did not pick up A's token")
		}
		if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 1 {
			t.Fatalf("%d refresh requests after B's 401, want still 1", n)
		}
		// A 401 for a token that is no longer current is answered from the
		// cache.
		if tok, err := a.Source(ref).Invalidate(context.Background(), old.AccessToken); err != nil || !tok.AccessToken.Equal(got[0].AccessToken) {
			t.Fatalf("stale Invalidate: %v", err)
		}
		if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 1 {
			t.Fatalf("%d refresh requests, want 1", n)
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

// TestNotConnected: a connection without a record or token set.
func TestNotConnected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{}, nil, nil)
		tk := k.tokens(t, tkOptions{})
		defer closeTokens(t, tk)
		if _, err := tk.Source(tkRef(0)).Token(context.Background()); !errors.Is(err, oauth.ErrNotConnected) {
			t.Fatalf("no record: %v", err)
		}
		ctx := context.Background()
		if _, err := k.st.PutConnection(ctx, &store.Connection{ID: "c-empty", Ref: tkRef(1)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tk.Source(tkRef(1)).Token(ctx); !errors.Is(err, oauth.ErrNotConnected) {
			t.Fatalf("no token set: %v", err)
		}
		// Connecting later works at once: no cooldown for not connected.
		k.connect(t, tkRef(1))
		if _, err := tk.Source(tkRef(1)).Token(ctx); err != nil {
			t.Fatalf("after connecting: %v", err)
		}
		if _, err := tk.Source(connection.Ref{}).Token(ctx); !errors.Is(err, connection.ErrBadRef) {
			t.Fatalf("bad ref: %v", err)
		}
	})
}

// TestNoRefreshTokenResponse: a refresh response without refresh_token
// keeps the stored refresh token.
func TestNoRefreshTokenResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: false}, nil, nil)
		ref := tkRef(0)
		k.connect(t, ref)
		_, before := k.stored(t, ref)
		tk := k.tokens(t, tkOptions{})
		defer closeTokens(t, tk)
		for range 2 {
			time.Sleep(time.Hour)
			if _, err := tk.Source(ref).Token(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		_, after := k.stored(t, ref)
		if !after.RefreshToken.Equal(before.RefreshToken) {
			t.Fatal("the stored refresh token changed although the provider sent none")
		}
		if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 2 {
			t.Fatalf("%d refresh requests, want 2", n)
		}
	})
}

// TestTokenWithoutExpiry: a provider that omits expires_in gets the type's
// default lifetime, never "valid forever".
func TestTokenWithoutExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, OmitExpiresIn: true, AccessTokenTTL: -1}, nil,
			func(o *connection.OAuth2) { o.DefaultTokenLifetime = 20 * time.Minute })
		ref := tkRef(0)
		k.connect(t, ref)
		tk := k.tokens(t, tkOptions{})
		defer closeTokens(t, tk)
		time.Sleep(20 * time.Minute)
		tok, err := tk.Source(ref).Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n := k.srv.GrantCalls(oauthtest.GrantRefreshToken); n != 1 {
			t.Fatalf("%d refresh requests after the default lifetime, want 1", n)
		}
		if want := time.Now().Add(20 * time.Minute); !tok.Expiry.Equal(want) {
			t.Fatalf("expiry %v, want now + the type's default lifetime (%v)", tok.Expiry, want)
		}
	})
}

// TestSecretsNotLogged: no access or refresh token reaches the logs, the
// connection log or an event, whatever happens.
func TestSecretsNotLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true}, nil, nil)
		ref := tkRef(0)
		id := k.connect(t, ref)
		logs := &tkLogBuffer{}
		events := &tkEvents{}
		tk := k.tokens(t, tkOptions{events: events, logger: tkTextLogger(logs)})
		defer closeTokens(t, tk)
		var seen []string
		note := func(tok oauth.Token) { seen = append(seen, tok.AccessToken.Reveal(), tok.RefreshToken.Reveal()) }
		_, st := k.stored(t, ref)
		note(st)
		time.Sleep(time.Hour)
		if _, err := tk.Source(ref).Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		_, st = k.stored(t, ref)
		note(st)
		k.srv.FailToken(1, oauthtest.Fault{GrantType: oauthtest.GrantRefreshToken, Status: 503})
		k.srv.FailToken(1, oauthtest.Fault{GrantType: oauthtest.GrantRefreshToken, Error: "invalid_grant"})
		time.Sleep(2 * time.Hour)
		_, _ = tk.Source(ref).Token(context.Background())
		entries, err := k.st.ListLogs(context.Background(), id, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var all strings.Builder
		all.WriteString(logs.String())
		for _, e := range entries {
			all.WriteString(e.Message)
			for k, v := range e.Attrs {
				all.WriteString(k + "=" + v)
			}
		}
		for _, ev := range events.all() {
			all.WriteString(ev.Reason)
			if ev.Err != nil {
				all.WriteString(ev.Err.Error())
			}
		}
		if len(entries) == 0 || len(events.all()) == 0 || logs.String() == "" {
			t.Fatal("nothing was logged: the check would prove nothing")
		}
		for _, s := range seen {
			if s != "" && strings.Contains(all.String(), s) {
				t.Fatal("a token appears in a log, the connection log or an event")
			}
		}
	})
}

func TestNewTokensConfig(t *testing.T) {
	ring := newTKKit(t, oauthtest.Config{}, nil, nil).ring
	res := &tkResolver{}
	st := memory.New(memory.Options{})
	if _, err := oauth.NewTokens(oauth.TokensConfig{}); err == nil || !strings.Contains(err.Error(), "Store, Sealer, Resolver") {
		t.Errorf("empty config: %v", err)
	}
	if _, err := oauth.NewTokens(oauth.TokensConfig{Store: st, Sealer: ring, Resolver: res, LeaseTTL: time.Second, RefreshTimeout: 2 * time.Second}); err == nil {
		t.Error("RefreshTimeout longer than LeaseTTL accepted")
	}
	tk, err := oauth.NewTokens(oauth.TokensConfig{Store: st, Sealer: ring, Resolver: res})
	if err != nil {
		t.Fatal(err)
	}
	if tk.Source(tkRef(0)) != tk.Source(tkRef(0)) {
		t.Error("Source is not cached per ref")
	}
	closeTokens(t, tk)
	if _, err := tk.Source(tkRef(0)).Token(context.Background()); !errors.Is(err, oauth.ErrClosed) {
		t.Errorf("Token after Close: %v, want ErrClosed", err)
	}
}

// TestRefreshWriteMerges: another writer changes the record while a refresh
// talks to the provider. The refresh's compare-and-swap loses, re-reads and
// writes its token set into the newer record, keeping the other change; a
// new CONNECT in the meantime, though, wins over the refreshed set.
func TestRefreshWriteMerges(t *testing.T) {
	hang := func(t *testing.T, k *tkKit, ref connection.Ref, meanwhile func()) (*oauth.Token, error) {
		t.Helper()
		tk := k.tokens(t, tkOptions{})
		defer closeTokens(t, tk)
		release := make(chan struct{})
		k.srv.FailToken(1, oauthtest.Fault{GrantType: oauthtest.GrantRefreshToken, Hang: true, Release: release})
		time.Sleep(time.Hour)
		type result struct {
			tok *oauth.Token
			err error
		}
		done := make(chan result, 1)
		go func() {
			tok, err := tk.Source(ref).Token(context.Background())
			done <- result{tok, err}
		}()
		synctest.Wait() // the refresh waits for the provider
		meanwhile()
		close(release)
		r := <-done
		return r.tok, r.err
	}
	t.Run("other change kept", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true}, nil, nil)
			ref := tkRef(0)
			k.connect(t, ref)
			tok, err := hang(t, k, ref, func() {
				c, _ := k.stored(t, ref)
				c.Values = map[string]string{"region": "eu"}
				if _, err := k.st.PutConnection(context.Background(), c); err != nil {
					t.Fatal(err)
				}
			})
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			c, st := k.stored(t, ref)
			if c.Values["region"] != "eu" {
				t.Error("the refresh overwrote another writer's change")
			}
			if !st.AccessToken.Equal(tok.AccessToken) {
				t.Error("the refreshed set was not stored")
			}
		})
	})
	t.Run("new CONNECT wins", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true}, nil, nil)
			ref := tkRef(0)
			k.connect(t, ref)
			var connected oauth.Token
			tok, err := hang(t, k, ref, func() {
				k.connect(t, ref)
				_, connected = k.stored(t, ref)
			})
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if !tok.AccessToken.Equal(connected.AccessToken) {
				t.Error("the caller did not get the token of the new CONNECT")
			}
			_, st := k.stored(t, ref)
			if !st.RefreshToken.Equal(connected.RefreshToken) {
				t.Error("the refresh overwrote the new CONNECT's token set")
			}
		})
	})
}
