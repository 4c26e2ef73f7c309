package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

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
	// Real time here (PostgreSQL cannot join a synctest bubble). A token
	// lives 3s, so a stampede slowed down by a loaded CI machine still
	// ends before the new token enters its refresh-ahead window (10%).
	const lifetime = 3 * time.Second
	k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: lifetime}, stores[0], nil)
	checkOneRefreshPerExpiry(t, k, stores, lifetime, 3)
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
		synctest.Wait() // events are emitted after callers have their result
		if got := events.kinds(id); len(got) < 2 || got[0] != oauth.Refreshed {
			t.Errorf("events %v, want Refreshed ones", got)
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

// TestSecretsNotLogged: no access or refresh token, and not the client
// secret, reaches the logs, the connection log or an event, whatever
// happens, even when the provider echoes them in its error descriptions: a
// still valid refresh token in a 503, the client secret (as is and
// form-encoded) in invalid_client, the refresh token in invalid_grant.
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
		seen = append(seen, tkClientSecret, url.QueryEscape(tkClientSecret))
		rt := st.RefreshToken.Reveal()
		// Every attempt (the client retries 503) answers the same.
		k.srv.FailToken(3, oauthtest.Fault{GrantType: oauthtest.GrantRefreshToken, Status: 503,
			Error: "temporarily_unavailable", Description: "cannot refresh " + rt + " now"})
		time.Sleep(2 * time.Hour)
		if _, err := tk.Source(ref).Token(context.Background()); err == nil || errors.Is(err, oauth.ErrMisconfigured) || errors.Is(err, oauth.ErrReconnect) {
			t.Fatalf("refresh with a 503 = %v, want a temporary failure", err)
		}
		time.Sleep(time.Hour) // past the cooldown
		k.srv.FailToken(1, oauthtest.Fault{GrantType: oauthtest.GrantRefreshToken, Error: "invalid_client",
			Description: "client secret " + tkClientSecret + " (" + url.QueryEscape(tkClientSecret) + ") is wrong"})
		if _, err := tk.Source(ref).Token(context.Background()); !errors.Is(err, oauth.ErrMisconfigured) {
			t.Fatalf("refresh with invalid_client = %v", err)
		}
		time.Sleep(time.Hour)
		k.srv.FailToken(1, oauthtest.Fault{GrantType: oauthtest.GrantRefreshToken, Error: "invalid_grant",
			Description: "refresh token " + rt + " is revoked"})
		if _, err := tk.Source(ref).Token(context.Background()); !errors.Is(err, oauth.ErrReconnect) {
			t.Fatalf("refresh with invalid_grant = %v", err)
		}
		synctest.Wait()
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
		// The echoed descriptions were logged, with the secrets redacted.
		for _, part := range []string{"cannot refresh [REDACTED] now", "client secret [REDACTED] ([REDACTED]) is wrong", "refresh token [REDACTED] is revoked"} {
			if !strings.Contains(all.String(), part) {
				t.Errorf("no %q in the logs: the provider's descriptions did not reach them", part)
			}
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
	for name, cfg := range map[string]oauth.TokensConfig{
		"empty":                     {},
		"no store":                  {Sealer: ring, Resolver: res},
		"no sealer":                 {Store: st, Resolver: res},
		"no resolver":               {Store: st, Sealer: ring},
		"RefreshTimeout > LeaseTTL": {Store: st, Sealer: ring, Resolver: res, LeaseTTL: time.Second, RefreshTimeout: 2 * time.Second},
		"RefreshTimeout = LeaseTTL": {Store: st, Sealer: ring, Resolver: res, LeaseTTL: time.Second, RefreshTimeout: time.Second},
	} {
		if _, err := oauth.NewTokens(cfg); !errors.Is(err, oauth.ErrConfig) {
			t.Errorf("%s: NewTokens = %v, want an error matching ErrConfig", name, err)
		}
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
