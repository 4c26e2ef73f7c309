package oauth_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
	"pgregory.net/rapid"

	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/store"
)

// runRefresher starts r.Run and returns a function that stops it and
// returns Run's error.
func runRefresher(r *oauth.Refresher) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

// TestRefresherStaggered: connections with staggered expiries, loaded from
// the store at start, are each refreshed once, before they expire; one
// disconnected meanwhile is not refreshed.
func TestRefresherStaggered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 20
		const gone = 7
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Hour}, nil, nil)
		ids := make([]string, n)
		expiry := make([]time.Time, n)
		for i := range n {
			ids[i] = k.connect(t, tkRef(i))
			_, tok := k.stored(t, tkRef(i))
			expiry[i] = tok.Expiry
			time.Sleep(time.Minute)
		}
		events := &tkEvents{}
		tk := k.tokens(t, tkOptions{events: events})
		defer closeTokens(t, tk)
		r := oauth.NewRefresher(tk, oauth.RefresherConfig{Concurrency: 3, PageSize: 6})
		stop := runRefresher(r)
		synctest.Wait()
		if r.Len() != n {
			t.Fatalf("refresher holds %d connections after loading, want %d", r.Len(), n)
		}

		// DISCONNECT one: its token set is deleted, the flow unschedules it.
		ctx := context.Background()
		c, err := k.st.GetConnectionByID(ctx, ids[gone])
		if err != nil {
			t.Fatal(err)
		}
		c.Token = nil
		if _, err := k.st.PutConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
		r.Unschedule(ids[gone])

		time.Sleep(expiry[n-1].Sub(time.Now()) + time.Minute)
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		for i, id := range ids {
			var refreshed []oauth.Event
			for _, ev := range events.all() {
				if ev.ConnectionID == id {
					refreshed = append(refreshed, ev)
				}
			}
			if i == gone {
				if len(refreshed) != 0 {
					t.Errorf("disconnected connection %d: events %v", i, refreshed)
				}
				continue
			}
			if len(refreshed) != 1 || refreshed[0].Kind != oauth.Refreshed {
				t.Errorf("connection %d: events %v, want one Refreshed", i, refreshed)
				continue
			}
			if at := refreshed[0].At; !at.Before(expiry[i]) {
				t.Errorf("connection %d refreshed at %v, not before its expiry %v", i, at, expiry[i])
			}
			_, tok := k.stored(t, tkRef(i))
			if !k.srv.Active(tok.AccessToken.Reveal()) {
				t.Errorf("connection %d: stored token not active", i)
			}
		}
		if got := k.srv.GrantCalls(oauthtest.GrantRefreshToken); got != n-1 {
			t.Errorf("%d refresh requests, want %d", got, n-1)
		}
		if r.Len() != n-1 {
			t.Errorf("refresher holds %d connections, want %d (all but the disconnected one)", r.Len(), n-1)
		}
	})
}

// TestRefresherReplicas: every replica runs a refresher over the shared
// store; each refresh still happens once.
func TestRefresherReplicas(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 8
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Hour}, nil, nil)
		for i := range n {
			k.connect(t, tkRef(i))
			time.Sleep(time.Minute)
		}
		var stops []func() error
		for range 3 {
			tk := k.tokens(t, tkOptions{edit: func(c *oauth.TokensConfig) { c.Jitter = nil }}) // real jitter
			defer closeTokens(t, tk)
			stops = append(stops, runRefresher(oauth.NewRefresher(tk, oauth.RefresherConfig{})))
		}
		time.Sleep(3 * time.Hour)
		for _, stop := range stops {
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		}
		// Each connection is refreshed about every 55 minutes: 3 times in
		// 3 hours, whichever replica did it.
		if got := k.srv.GrantCalls(oauthtest.GrantRefreshToken); got < 3*n || got > 4*n {
			t.Errorf("%d refresh requests in 3 hours for %d connections, want 3 to 4 each", got, n)
		}
		if d := k.srv.ReuseDetections(); d != 0 {
			t.Fatalf("%d reuse detections", d)
		}
		for i := range n {
			_, tok := k.stored(t, tkRef(i))
			if !k.srv.Active(tok.AccessToken.Reveal()) {
				t.Errorf("connection %d: stored token not active", i)
			}
		}
	})
}

// TestRefresherSchedule: a connection connected while the refresher runs
// (the callback calls Schedule) is refreshed ahead of expiry; keep-alive
// refreshes long-lived tokens early.
func TestRefresherSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: 24 * time.Hour}, nil, nil)
		events := &tkEvents{}
		tk := k.tokens(t, tkOptions{events: events})
		defer closeTokens(t, tk)
		r := oauth.NewRefresher(tk, oauth.RefresherConfig{KeepAliveAge: 2 * time.Hour})
		stop := runRefresher(r)
		synctest.Wait()
		if r.Len() != 0 {
			t.Fatalf("empty store, %d scheduled", r.Len())
		}
		id := k.connect(t, tkRef(0))
		_, tok := k.stored(t, tkRef(0))
		r.Schedule(id, tkRef(0), tok.Expiry)
		time.Sleep(7 * time.Hour)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		var at []time.Duration
		for _, ev := range events.all() {
			if ev.Kind == oauth.Refreshed {
				at = append(at, ev.At.Sub(tok.ObtainedAt).Round(time.Minute))
			}
		}
		want := []time.Duration{2 * time.Hour, 4 * time.Hour, 6 * time.Hour}
		if !slices.Equal(at, want) {
			t.Fatalf("refreshed after %v, want %v (keep-alive every 2h)", at, want)
		}
	})
}

// TestRefresherStops: Run returns when its context is done and leaves no
// goroutine behind; a second concurrent Run is refused.
func TestRefresherStops(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true}, nil, nil)
	for i := range 5 {
		k.connect(t, tkRef(i))
	}
	tk := k.tokens(t, tkOptions{})
	r := oauth.NewRefresher(tk, oauth.RefresherConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	for r.Len() < 5 {
		time.Sleep(time.Millisecond)
	}
	if err := r.Run(context.Background()); !errors.Is(err, oauth.ErrRefresherRunning) {
		t.Errorf("second Run: %v, want ErrRefresherRunning", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	closeTokens(t, tk)
}

// TestRefresherLoadRetries: a store that fails to list does not stop the
// refresher; it lists again later.
func TestRefresherLoadRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTKKit(t, oauthtest.Config{RotateRefreshTokens: true}, nil, nil)
		k.connect(t, tkRef(0))
		flaky := &tkFlakyList{Store: k.st, failures: 2}
		tk := k.tokens(t, tkOptions{store: flaky})
		defer closeTokens(t, tk)
		r := oauth.NewRefresher(tk, oauth.RefresherConfig{})
		stop := runRefresher(r)
		time.Sleep(10 * time.Minute)
		if r.Len() != 1 {
			t.Errorf("after the store recovered, %d scheduled, want 1", r.Len())
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	})
}

// tkFlakyList fails its first ListRefreshable calls.
type tkFlakyList struct {
	store.Store
	failures int
}

func (f *tkFlakyList) ListRefreshable(ctx context.Context, after store.Cursor, limit int) ([]*store.Connection, error) {
	if f.failures > 0 {
		f.failures--
		return nil, errors.New("store unavailable")
	}
	return f.Store.ListRefreshable(ctx, after, limit)
}

// TestRefresherHeap checks the heap against a model: every pop returns a
// connection with the smallest due time, and only when it is due.
func TestRefresherHeap(t *testing.T) {
	k := newTKKit(t, oauthtest.Config{}, nil, nil)
	tk := k.tokens(t, tkOptions{})
	defer closeTokens(t, tk)
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	rapid.Check(t, func(rt *rapid.T) {
		r := oauth.NewRefresher(tk, oauth.RefresherConfig{})
		model := map[string]time.Time{}
		ids := rapid.SampledFrom([]string{"a", "b", "c", "d", "e", "f", "g", "h"})
		for range rapid.IntRange(1, 200).Draw(rt, "ops") {
			switch rapid.IntRange(0, 2).Draw(rt, "op") {
			case 0:
				id := ids.Draw(rt, "id")
				due := base.Add(time.Duration(rapid.IntRange(0, 100).Draw(rt, "due")) * time.Second)
				r.SetDue(id, due)
				model[id] = due
			case 1:
				id := ids.Draw(rt, "id")
				r.Unschedule(id)
				delete(model, id)
			case 2:
				now := base.Add(time.Duration(rapid.IntRange(0, 100).Draw(rt, "now")) * time.Second)
				id, wait := r.PopDue(now)
				var first time.Time
				for _, d := range model {
					if first.IsZero() || d.Before(first) {
						first = d
					}
				}
				switch {
				case len(model) == 0:
					if id != "" || wait >= 0 {
						rt.Fatalf("empty heap popped %q, wait %v", id, wait)
					}
				case first.After(now):
					if id != "" || wait != first.Sub(now) {
						rt.Fatalf("popped %q (wait %v) before the first is due in %v", id, wait, first.Sub(now))
					}
				default:
					if d, ok := model[id]; !ok || !d.Equal(first) {
						rt.Fatalf("popped %q due %v, the first is due %v", id, d, first)
					}
					delete(model, id)
				}
			}
			if r.Len() != len(model) {
				rt.Fatalf("heap holds %d, model %d", r.Len(), len(model))
			}
		}
	})
}
