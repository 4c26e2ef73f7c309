package oauth_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/memory"
)

// benchSource returns a token source holding a valid cached token, and the
// same token as an x/oauth2 ReuseTokenSource, for a like-for-like
// comparison of the hot path.
func benchSource(b *testing.B) (*oauth.TokenSource, oauth2.TokenSource, func()) {
	b.Helper()
	k := newTKKit(b, oauthtest.Config{AccessTokenTTL: 24 * time.Hour}, nil, nil)
	ref := tkRef(0)
	k.connect(b, ref)
	tk := k.tokens(b, tkOptions{})
	src := tk.Source(ref)
	tok, err := src.Token(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	reuse := oauth2.ReuseTokenSource(tok.OAuth2(), oauth2.StaticTokenSource(tok.OAuth2()))
	return src, reuse, func() { closeTokens(b, tk) }
}

// BenchmarkToken compares a cached TokenSource.Token with x/oauth2's
// ReuseTokenSource.Token (a mutex and an expiry check), sequentially and
// with every CPU calling at once.
func BenchmarkToken(b *testing.B) {
	src, reuse, done := benchSource(b)
	defer done()
	ctx := context.Background()
	b.Run("connkit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := src.Token(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("x-oauth2-reuse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := reuse.Token(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("connkit-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := src.Token(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("x-oauth2-reuse-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := reuse.Token(); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkTokenRatio times both hot paths in alternating rounds within one
// benchmark and reports connkit's time over x/oauth2's as "ratio" (goal:
// at most 1).
func BenchmarkTokenRatio(b *testing.B) {
	src, reuse, done := benchSource(b)
	defer done()
	ctx := context.Background()
	const round = 1000
	var ours, theirs time.Duration
	for b.Loop() {
		start := time.Now()
		for range round {
			_, _ = src.Token(ctx)
		}
		mid := time.Now()
		for range round {
			_, _ = reuse.Token()
		}
		ours += mid.Sub(start)
		theirs += time.Since(mid)
	}
	b.ReportMetric(float64(ours)/float64(theirs), "ratio")
	b.ReportMetric(float64(ours)/float64(b.N*round), "connkit-ns/call")
	b.ReportMetric(float64(theirs)/float64(b.N*round), "x-oauth2-ns/call")
}

// benchClock is a settable clock shared by the fake provider, the store and
// the token sources.
type benchClock struct{ offset atomic.Int64 }

func (c *benchClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *benchClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// BenchmarkStampede: 10,000 callers, spread over procs host processes (each
// its own Tokens over one shared memory store), ask for a connection's token
// at once right after it expired. The provider takes latency to answer, as
// real ones do (so every caller arrives while the refresh runs). Reported
// per stampede: the calls the provider received (goal: 1) and the callers'
// wait: median, 99th percentile, maximum.
func BenchmarkStampede(b *testing.B) {
	const callers = 10000
	const latency = 20 * time.Millisecond
	for _, procs := range []int{1, 3} {
		b.Run(fmt.Sprintf("callers=%d/procs=%d/latency=%v", callers, procs, latency), func(b *testing.B) {
			clock := &benchClock{}
			st := memory.New(memory.Options{Now: clock.now})
			slow := func(_ http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path == oauthtest.PathToken {
					time.Sleep(latency)
				}
				return false
			}
			k := newTKKit(b, oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Hour, Now: clock.now, Intercept: slow}, st, nil)
			ref := tkRef(0)
			k.connect(b, ref)
			tks := make([]*oauth.Tokens, procs)
			for i := range tks {
				tks[i] = k.tokens(b, tkOptions{edit: func(c *oauth.TokensConfig) { c.Now = clock.now }})
				defer closeTokens(b, tks[i])
			}
			waits := make([]time.Duration, 0, b.N*callers)
			var mu sync.Mutex
			calls0 := k.srv.GrantCalls(oauthtest.GrantRefreshToken)
			for b.Loop() {
				b.StopTimer()
				clock.advance(2 * time.Hour) // the token expired
				start := make(chan struct{})
				var wg sync.WaitGroup
				var failed atomic.Int64
				for i := range callers {
					src := tks[i%procs].Source(ref)
					wg.Go(func() {
						<-start
						t0 := time.Now()
						if _, err := src.Token(context.Background()); err != nil {
							failed.Add(1)
						}
						d := time.Since(t0)
						mu.Lock()
						waits = append(waits, d)
						mu.Unlock()
					})
				}
				b.StartTimer()
				close(start)
				wg.Wait()
				if n := failed.Load(); n > 0 {
					b.Fatalf("%d callers failed", n)
				}
			}
			calls := k.srv.GrantCalls(oauthtest.GrantRefreshToken) - calls0
			if d := k.srv.ReuseDetections(); d != 0 {
				b.Fatalf("%d reuse detections", d)
			}
			slices.Sort(waits)
			b.ReportMetric(float64(calls)/float64(b.N), "provider-calls/op")
			µs := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
			b.ReportMetric(µs(waits[len(waits)/2]), "p50-wait-µs")
			b.ReportMetric(µs(waits[len(waits)*99/100]), "p99-wait-µs")
			b.ReportMetric(µs(waits[len(waits)-1]), "max-wait-µs")
		})
	}
}

// BenchmarkRefresher holds 1,000,000 scheduled connections and reports the
// heap bytes each costs (ids included: 26-byte store.NewID strings) and the
// cost of the refresher's heap operations at that size.
func BenchmarkRefresher(b *testing.B) {
	const n = 1_000_000
	k := newTKKit(b, oauthtest.Config{}, nil, nil)
	tk := k.tokens(b, tkOptions{})
	defer closeTokens(b, tk)
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	due := func() time.Time { return base.Add(time.Duration(rng.Int64N(int64(24 * time.Hour)))) }

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := oauth.NewRefresher(tk, oauth.RefresherConfig{})
	ids := make([]string, n) // the test's own handle on the ids; not counted below
	for i := range ids {
		ids[i] = store.NewID()
		r.SetDue(ids[i], due())
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	idsSlice := uint64(n) * 16 // ids' string headers belong to the test
	perConn := float64(after.HeapAlloc-before.HeapAlloc-idsSlice) / n
	if r.Len() != n {
		b.Fatalf("%d scheduled", r.Len())
	}

	b.Run("memory", func(b *testing.B) {
		for b.Loop() {
		}
		b.ReportMetric(perConn, "bytes/conn")
	})
	b.Run("reschedule", func(b *testing.B) {
		// Schedule of a connection already held (a new CONNECT, or the
		// next due time after a refresh).
		for b.Loop() {
			r.SetDue(ids[rng.IntN(n)], due())
		}
	})
	b.Run("pop+schedule", func(b *testing.B) {
		// The refresher's cycle: pop the first due connection, schedule
		// it again for later; the heap stays at 1,000,000.
		far := base.Add(48 * time.Hour)
		for b.Loop() {
			id, _ := r.PopDue(far)
			r.SetDue(id, due())
		}
	})
	b.Run("unschedule+schedule", func(b *testing.B) {
		for b.Loop() {
			id := ids[rng.IntN(n)]
			r.Unschedule(id)
			r.SetDue(id, due())
		}
	})
	runtime.KeepAlive(ids)
}
