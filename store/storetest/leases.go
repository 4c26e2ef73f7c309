package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/connkit/connkit/store"
)

var leaseTests = []test{
	{name: "AcquireFree", run: testLeaseAcquire},
	{name: "Exclusive", run: testLeaseExclusive},
	{name: "SameOwnerExtends", run: testLeaseExtend},
	{name: "ExpiredLeaseCanBeTaken", run: testLeaseExpired},
	{name: "ExpiresAtExactlyExpires", run: testLeaseBoundary},
	{name: "NonPositiveTTLIsAnError", run: testLeaseBadTTL},
	{name: "ReleaseByOtherOwnerDoesNothing", run: testLeaseReleaseOther},
	{name: "ReleaseThenAcquireByOther", run: testLeaseRelease},
	{name: "KeysAreIndependent", run: testLeaseKeys},
	{name: "ConcurrentAcquirersOneWinner", run: testLeaseConcurrent},
	{name: "EmptyKeyOrOwnerIsRefused", run: testLeaseInvalid},
}

// leaseTTL is the ttl of every lease the suite acquires.
const leaseTTL = 30 * time.Second

func (e *env) acquire(t *testing.T, key, owner string) store.Lease {
	t.Helper()
	l, err := e.s.AcquireLease(e.ctx, key, owner, leaseTTL)
	must(t, err, fmt.Sprintf("AcquireLease(%s, %s)", key, owner))
	want := store.Lease{Key: key, Owner: owner, Expires: e.clock.Now().Add(leaseTTL)}
	if d := diff(want, l); d != "" {
		t.Fatalf("AcquireLease(%s, %s): Expires is the store's now + leaseTTL (-want +got):\n%s", key, owner, d)
	}
	return l
}

func (e *env) held(t *testing.T, key, owner string) {
	t.Helper()
	_, err := e.s.AcquireLease(e.ctx, key, owner, leaseTTL)
	wantErr(t, err, store.ErrLeaseHeld, fmt.Sprintf("AcquireLease(%s, %s) of a lease another owner holds", key, owner))
}

func testLeaseAcquire(t *testing.T, e *env) {
	e.acquire(t, "conn/c1", "replica-a")
}

func testLeaseExclusive(t *testing.T, e *env) {
	e.acquire(t, "k", "a")
	e.clock.Advance(leaseTTL - time.Millisecond)
	e.held(t, "k", "b")
}

func testLeaseExtend(t *testing.T, e *env) {
	e.acquire(t, "k", "a")
	e.clock.Advance(20 * time.Second)
	e.acquire(t, "k", "a") // Expires moves to now + leaseTTL
	e.clock.Advance(20 * time.Second)
	// 40s after the first acquire: expired by the first leaseTTL, held by the
	// extension.
	e.held(t, "k", "b")
}

func testLeaseExpired(t *testing.T, e *env) {
	e.acquire(t, "k", "a")
	e.clock.Advance(leaseTTL + time.Millisecond)
	e.acquire(t, "k", "b")
	e.held(t, "k", "a")
}

func testLeaseReleaseOther(t *testing.T, e *env) {
	e.acquire(t, "k", "a")
	must(t, e.s.ReleaseLease(e.ctx, "k", "b"), "ReleaseLease by a non-owner")
	e.held(t, "k", "b")
	must(t, e.s.ReleaseLease(e.ctx, "unheld", "b"), "ReleaseLease of a key nobody holds")
	e.acquire(t, "k", "a")
}

func testLeaseRelease(t *testing.T, e *env) {
	e.acquire(t, "k", "a")
	must(t, e.s.ReleaseLease(e.ctx, "k", "a"), "ReleaseLease by the owner")
	e.acquire(t, "k", "b")
	e.held(t, "k", "a")
	must(t, e.s.ReleaseLease(e.ctx, "k", "a"), "ReleaseLease by the former owner")
	e.held(t, "k", "a")
}

func testLeaseKeys(t *testing.T, e *env) {
	e.acquire(t, "k1", "a")
	e.acquire(t, "k2", "b")
	e.held(t, "k1", "b")
	e.held(t, "k2", "a")
}

func testLeaseConcurrent(t *testing.T, e *env) {
	for round := range 3 {
		key := fmt.Sprint("k", round)
		errs := race(nil, func(i int) error {
			_, err := e.s.AcquireLease(e.ctx, key, fmt.Sprint("owner-", i), leaseTTL)
			return err
		})
		won := winners(t, errs, store.ErrLeaseHeld, "concurrent AcquireLease")
		if len(won) != 1 {
			t.Fatalf("round %d: %d of %d concurrent acquirers got the lease, want exactly 1", round, len(won), contenders)
		}
		winner := fmt.Sprint("owner-", won[0])
		loser := fmt.Sprint("owner-", (won[0]+1)%contenders)
		e.held(t, key, loser)
		e.acquire(t, key, winner)
	}
}

func testLeaseBoundary(t *testing.T, e *env) {
	e.acquire(t, "k", "a")
	e.clock.Advance(leaseTTL - time.Millisecond)
	e.held(t, "k", "b")
	e.clock.Advance(time.Millisecond) // the clock reads Expires
	e.acquire(t, "k", "b")
}

func testLeaseBadTTL(t *testing.T, e *env) {
	for _, ttl := range []time.Duration{0, -time.Second} {
		_, err := e.s.AcquireLease(e.ctx, "k", "a", ttl)
		if err == nil {
			t.Errorf("AcquireLease with ttl %v succeeded, want an error", ttl)
		}
	}
	e.acquire(t, "k", "b") // the refused calls took nothing
	for _, ttl := range []time.Duration{0, -time.Second} {
		_, err := e.s.AcquireLease(e.ctx, "k", "b", ttl)
		if err == nil {
			t.Errorf("AcquireLease by the holder with ttl %v succeeded, want an error", ttl)
		}
	}
	// The refused calls changed nothing: b still holds k until its expiry.
	e.clock.Advance(leaseTTL - time.Millisecond)
	e.held(t, "k", "a")
}
