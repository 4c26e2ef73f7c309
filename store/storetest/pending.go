package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/connkit/connkit/store"
)

var pendingTests = []test{
	{name: "ConsumeRoundTrip", run: testPendingRoundTrip},
	{name: "ConsumeIsSingleUse", run: testPendingSingleUse},
	{name: "ConsumeUnknownIsNotFound", run: testPendingUnknown},
	{name: "PutDuplicateConflicts", run: testPendingDuplicate},
	{name: "ExpiredIsNotFound", run: testPendingExpired},
	{name: "ExpiresAtExactlyExpiresAt", run: testPendingBoundary},
	{name: "PutReplacesExpired", run: testPendingReplaceExpired},
	{name: "ZeroCreatedAtIsSetByStore", run: testPendingCreatedAt},
	{name: "TTLExpiresByStoreClock", run: testPendingTTL},
	{name: "TTLDecidesConflicts", run: testPendingTTLConflict},
	{name: "Copies", run: testPendingCopies},
	{name: "ConcurrentConsumersOneWinner", run: testPendingConcurrent},
	{name: "EmptyStateHashIsRefused", run: testPendingInvalid},
}

// stateHash returns a state hash shaped like the real thing: the hex SHA-256
// of a (here made-up) state.
func stateHash(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(sum[:])
}

func pending(seed string, now time.Time, ttl time.Duration) *store.PendingAuth {
	return &store.PendingAuth{
		StateHash:    stateHash(seed),
		ConnectionID: "conn-" + seed,
		Ref:          ref("i1", "crm", "user-"+seed),
		Verifier:     sealedBytes("verifier"+seed, 75),
		RedirectURI:  "https://host.example.com/oauth/callback",
		TokenURL:     "https://login.example.com/token",
		Issuer:       "https://login.example.com",
		Data:         map[string]string{"user": "user-" + seed, "empty": ""},
		CreatedAt:    now,
		ExpiresAt:    now.Add(ttl),
	}
}

func testPendingRoundTrip(t *testing.T, e *env) {
	e.clock.Advance(321 * time.Microsecond)
	p := pending("a", e.clock.Now(), 10*time.Minute)
	before := p.Clone()
	must(t, e.s.PutPending(e.ctx, p), "PutPending")
	if d := diff(before, p); d != "" {
		t.Errorf("PutPending modified its argument (-before +after):\n%s", d)
	}
	got, err := e.s.ConsumePending(e.ctx, p.StateHash)
	must(t, err, "ConsumePending")
	if d := diff(before, got); d != "" {
		t.Errorf("ConsumePending (-want +got):\n%s", d)
	}
	// A pending authorization without PKCE or data.
	bare := &store.PendingAuth{
		StateHash:    stateHash("bare"),
		ConnectionID: "c1",
		Ref:          ref("i1", "crm", ""),
		RedirectURI:  "https://host.example.com/cb",
		TokenURL:     "https://login.example.com/token",
		CreatedAt:    e.clock.Now(),
		ExpiresAt:    e.clock.Now().Add(time.Minute),
	}
	must(t, e.s.PutPending(e.ctx, bare), "PutPending (bare)")
	got, err = e.s.ConsumePending(e.ctx, bare.StateHash)
	must(t, err, "ConsumePending (bare)")
	if d := diff(bare, got); d != "" {
		t.Errorf("ConsumePending (bare) (-want +got):\n%s", d)
	}
}

func testPendingSingleUse(t *testing.T, e *env) {
	p := pending("a", e.clock.Now(), 10*time.Minute)
	other := pending("b", e.clock.Now(), 10*time.Minute)
	must(t, e.s.PutPending(e.ctx, p), "PutPending")
	must(t, e.s.PutPending(e.ctx, other), "PutPending")
	_, err := e.s.ConsumePending(e.ctx, p.StateHash)
	must(t, err, "ConsumePending")
	_, err = e.s.ConsumePending(e.ctx, p.StateHash)
	wantErr(t, err, store.ErrNotFound, "ConsumePending a second time")
	got, err := e.s.ConsumePending(e.ctx, other.StateHash)
	must(t, err, "ConsumePending of another state")
	if got.ConnectionID != other.ConnectionID {
		t.Errorf("ConsumePending(b) returned the authorization of %s", got.ConnectionID)
	}
}

func testPendingUnknown(t *testing.T, e *env) {
	_, err := e.s.ConsumePending(e.ctx, stateHash("nope"))
	wantErr(t, err, store.ErrNotFound, "ConsumePending of an unknown state")
}

func testPendingDuplicate(t *testing.T, e *env) {
	p := pending("a", e.clock.Now(), 10*time.Minute)
	must(t, e.s.PutPending(e.ctx, p), "PutPending")
	dup := pending("a", e.clock.Now(), 20*time.Minute)
	dup.ConnectionID = "someone-else"
	err := e.s.PutPending(e.ctx, dup)
	wantErr(t, err, store.ErrConflict, "PutPending of an existing state hash")
	got, err := e.s.ConsumePending(e.ctx, p.StateHash)
	must(t, err, "ConsumePending")
	if got.ConnectionID != p.ConnectionID {
		t.Errorf("the rejected duplicate replaced the original: ConnectionID = %q", got.ConnectionID)
	}
}

func testPendingExpired(t *testing.T, e *env) {
	live := pending("live", e.clock.Now(), 10*time.Minute)
	dead := pending("dead", e.clock.Now(), 5*time.Minute)
	must(t, e.s.PutPending(e.ctx, live), "PutPending")
	must(t, e.s.PutPending(e.ctx, dead), "PutPending")
	e.clock.Advance(5*time.Minute + time.Second)
	_, err := e.s.ConsumePending(e.ctx, dead.StateHash)
	wantErr(t, err, store.ErrNotFound, "ConsumePending after the store's clock passed ExpiresAt")
	got, err := e.s.ConsumePending(e.ctx, live.StateHash)
	must(t, err, "ConsumePending before ExpiresAt")
	if got.ConnectionID != live.ConnectionID {
		t.Errorf("ConsumePending returned %s", got.ConnectionID)
	}
}

func testPendingCopies(t *testing.T, e *env) {
	p := pending("a", e.clock.Now(), 10*time.Minute)
	want := p.Clone()
	must(t, e.s.PutPending(e.ctx, p), "PutPending")
	for i := range p.Verifier {
		p.Verifier[i] ^= 0xff
	}
	p.Data["user"] = "scribbled"
	p.Data["added"] = "scribbled"
	got, err := e.s.ConsumePending(e.ctx, want.StateHash)
	must(t, err, "ConsumePending")
	if d := diff(want, got); d != "" {
		t.Errorf("changing the record after PutPending changed the stored one (-want +got):\n%s", d)
	}
}

func testPendingConcurrent(t *testing.T, e *env) {
	for round := range 3 {
		p := pending(fmt.Sprint("round", round), e.clock.Now(), time.Minute)
		must(t, e.s.PutPending(e.ctx, p), "PutPending")
		type result struct {
			got *store.PendingAuth
			err error
		}
		res := race(nil, func(int) result {
			got, err := e.s.ConsumePending(e.ctx, p.StateHash)
			return result{got, err}
		})
		errs := make([]error, len(res))
		for i, r := range res {
			errs[i] = r.err
			if r.err == nil && r.got == nil {
				errs[i] = errors.New("nil record without an error")
			}
		}
		won := winners(t, errs, store.ErrNotFound, "concurrent ConsumePending")
		if len(won) != 1 {
			t.Fatalf("round %d: %d of %d concurrent consumers got the authorization, want exactly 1", round, len(won), contenders)
		}
		if d := diff(p, res[won[0]].got); d != "" {
			t.Errorf("round %d: the winner got (-want +got):\n%s", round, d)
		}
	}
}

func testPendingBoundary(t *testing.T, e *env) {
	before := pending("before", e.clock.Now(), 5*time.Minute)
	at := pending("at", e.clock.Now(), 5*time.Minute)
	must(t, e.s.PutPending(e.ctx, before), "PutPending")
	must(t, e.s.PutPending(e.ctx, at), "PutPending")
	e.clock.Advance(5*time.Minute - time.Millisecond)
	_, err := e.s.ConsumePending(e.ctx, before.StateHash)
	must(t, err, "ConsumePending 1ms before ExpiresAt")
	e.clock.Advance(time.Millisecond)
	_, err = e.s.ConsumePending(e.ctx, at.StateHash)
	wantErr(t, err, store.ErrNotFound, "ConsumePending when the store's clock reads exactly ExpiresAt")
}

func testPendingReplaceExpired(t *testing.T, e *env) {
	old := pending("a", e.clock.Now(), time.Minute)
	must(t, e.s.PutPending(e.ctx, old), "PutPending")
	e.clock.Advance(time.Minute) // exactly ExpiresAt: expired
	fresh := pending("a", e.clock.Now(), time.Minute)
	fresh.ConnectionID = "conn-fresh"
	must(t, e.s.PutPending(e.ctx, fresh), "PutPending with the state hash of an expired authorization")
	got, err := e.s.ConsumePending(e.ctx, fresh.StateHash)
	must(t, err, "ConsumePending")
	if d := diff(fresh, got); d != "" {
		t.Errorf("ConsumePending after replacing an expired authorization (-want +got):\n%s", d)
	}
}

func testPendingCreatedAt(t *testing.T, e *env) {
	e.clock.Advance(42 * time.Second)
	put := e.clock.Now()
	p := pending("a", put, 10*time.Minute)
	p.CreatedAt = time.Time{}
	must(t, e.s.PutPending(e.ctx, p), "PutPending")
	if !p.CreatedAt.IsZero() {
		t.Errorf("PutPending set CreatedAt on its argument")
	}
	e.clock.Advance(time.Minute)
	got, err := e.s.ConsumePending(e.ctx, p.StateHash)
	must(t, err, "ConsumePending")
	want := p.Clone()
	want.CreatedAt = put
	if d := diff(want, got); d != "" {
		t.Errorf("a zero CreatedAt is set from the store's clock at PutPending (-want +got):\n%s", d)
	}
}

// A positive TTL makes the store set ExpiresAt from its own clock at
// PutPending, whatever ExpiresAt the caller passed (here from a caller's
// clock an hour fast, and an hour slow): the authorization lives exactly TTL
// by the store's clock, and ConsumePending returns the ExpiresAt the store
// set, with TTL zero.
func testPendingTTL(t *testing.T, e *env) {
	e.clock.Advance(42 * time.Second)
	put := e.clock.Now()
	fast := pending("fast", put.Add(time.Hour), 5*time.Minute)
	fast.TTL = 5 * time.Minute
	slow := pending("slow", put.Add(-time.Hour), 5*time.Minute)
	slow.TTL = 5 * time.Minute
	before := slow.Clone()
	must(t, e.s.PutPending(e.ctx, fast), "PutPending (caller's clock fast)")
	must(t, e.s.PutPending(e.ctx, slow), "PutPending (caller's clock slow)")
	if d := diff(before, slow); d != "" {
		t.Errorf("PutPending modified its argument (-before +after):\n%s", d)
	}
	e.clock.Advance(5*time.Minute - time.Millisecond)
	got, err := e.s.ConsumePending(e.ctx, slow.StateHash)
	must(t, err, "ConsumePending 1ms before the store's clock reached PutPending's time + TTL (the ExpiresAt passed in was an hour past)")
	want := slow.Clone()
	want.TTL, want.ExpiresAt = 0, put.Add(5*time.Minute)
	if d := diff(want, got); d != "" {
		t.Errorf("ConsumePending of an authorization put with a TTL (-want +got):\n%s", d)
	}
	e.clock.Advance(time.Millisecond)
	_, err = e.s.ConsumePending(e.ctx, fast.StateHash)
	wantErr(t, err, store.ErrNotFound, "ConsumePending when the store's clock reads PutPending's time + TTL (the ExpiresAt passed in was an hour ahead)")
}

// The expiry a TTL gives decides PutPending's conflicts too: an
// authorization put with a TTL is unexpired until the store's now + TTL,
// also when the ExpiresAt passed in had passed, and expired after it, also
// when the ExpiresAt passed in lies ahead.
func testPendingTTLConflict(t *testing.T, e *env) {
	first := pending("a", e.clock.Now(), -time.Hour)
	first.TTL = time.Minute
	must(t, e.s.PutPending(e.ctx, first), "PutPending")
	dup := pending("a", e.clock.Now(), time.Minute)
	dup.ConnectionID = "someone-else"
	wantErr(t, e.s.PutPending(e.ctx, dup), store.ErrConflict, "PutPending of the state hash of an authorization whose TTL has not run out")

	e.clock.Advance(time.Minute)
	again := pending("a", e.clock.Now(), time.Hour)
	again.TTL = time.Minute
	again.ConnectionID = "conn-again"
	must(t, e.s.PutPending(e.ctx, again), "PutPending once the TTL of the earlier authorization ran out")
	got, err := e.s.ConsumePending(e.ctx, again.StateHash)
	must(t, err, "ConsumePending")
	if got.ConnectionID != "conn-again" || !got.ExpiresAt.Equal(e.clock.Now().Add(time.Minute)) {
		t.Errorf("ConsumePending = %s expiring %v, want conn-again expiring %v", got.ConnectionID, got.ExpiresAt, e.clock.Now().Add(time.Minute))
	}
}
