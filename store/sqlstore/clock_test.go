package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/sqlstore"
)

// skew is how far the wall clock of a misconfigured replica is off in the
// clock tests: far more than any ttl they use, so that deciding by the
// replica's own clock always gives the wrong answer.
const skew = time.Hour

// skewed returns a process clock that reads the wall clock plus d.
func skewed(d time.Duration) func() time.Time {
	return func() time.Time { return time.Now().Add(d) }
}

// replicas opens three stores on one fresh PostgreSQL database with
// Options.Now nil, as host replicas run: one whose wall clock is right, one
// whose clock runs skew fast and one whose clock runs skew slow.
func replicas(t *testing.T) (right, fast, slow *sqlstore.Store, dsn string) {
	t.Helper()
	dsn = freshDatabase(t, sqlstore.PostgreSQL)
	right = open(t, sqlstore.PostgreSQL, dsn, sqlstore.Options{})
	fast = open(t, sqlstore.PostgreSQL, dsn, sqlstore.Options{})
	sqlstore.SetProcessClock(fast, skewed(skew))
	slow = open(t, sqlstore.PostgreSQL, dsn, sqlstore.Options{})
	sqlstore.SetProcessClock(slow, skewed(-skew))
	return right, fast, slow, dsn
}

// near fails the test unless got is within a few seconds of want: the test
// machine's clock and the database server's (on loopback) agree that well,
// while a skewed replica is an hour off. want is read after the call, so
// got trails it by the call's duration: the bound leaves a loaded CI
// machine 10 s for that, and is still well under the differences the
// tests tell apart (an extension by a 30 s ttl; a skew of an hour).
func near(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if d := got.Sub(want); d < -10*time.Second || d > 10*time.Second {
		t.Errorf("%s = %v, want about %v (off by %v)", what, got, want, d)
	}
}

// With PostgreSQL shared by replicas whose clocks disagree, lease decisions
// follow one clock (the database server's), not each replica's own: a replica
// whose clock runs fast does not take a lease that is still held, one whose
// clock runs slow does take a lease that has expired, and every replica
// hands out the same expiry for the same ttl.
func TestPostgresLeasesUseOneClock(t *testing.T) {
	postgresDSN(t)
	ctx := context.Background()
	right, fast, slow, dsn := replicas(t)
	const ttl = 30 * time.Second

	l, err := right.AcquireLease(ctx, "refresh/c1", "right", ttl)
	if err != nil {
		t.Fatalf("AcquireLease by the replica with the right clock: %v", err)
	}
	near(t, "Expires of the lease the right replica took", l.Expires, time.Now().Add(ttl))
	if _, err := fast.AcquireLease(ctx, "refresh/c1", "fast", ttl); !errors.Is(err, store.ErrLeaseHeld) {
		t.Errorf("a replica whose clock runs %v fast took a lease held for another %v: err = %v, want ErrLeaseHeld", skew, ttl, err)
	}
	// The holder extends its lease by the same clock, and once it releases
	// the lease the fast replica gets it.
	ext, err := right.AcquireLease(ctx, "refresh/c1", "right", 2*ttl)
	if err != nil {
		t.Fatalf("AcquireLease by the holder (extension): %v", err)
	}
	near(t, "Expires of the extended lease", ext.Expires, time.Now().Add(2*ttl))
	if err := right.ReleaseLease(ctx, "refresh/c1", "right"); err != nil {
		t.Fatal(err)
	}
	if _, err := fast.AcquireLease(ctx, "refresh/c1", "fast", ttl); err != nil {
		t.Errorf("AcquireLease by the fast replica after the holder released it: %v", err)
	}

	// The expiry a replica hands out is the database's now + ttl.
	for name, s := range map[string]*sqlstore.Store{"fast": fast, "slow": slow} {
		l, err := s.AcquireLease(ctx, "own/"+name, name, ttl)
		if err != nil {
			t.Fatalf("AcquireLease of a free key by the %s replica: %v", name, err)
		}
		near(t, "Expires of a lease the "+name+" replica took", l.Expires, time.Now().Add(ttl))
	}

	// A lease that expired a second ago by the database's clock is free,
	// also to a replica whose clock runs slow. (Written behind the stores'
	// backs, so the test does not sleep.)
	db := rawDB(t, sqlstore.PostgreSQL, dsn)
	if _, err := db.ExecContext(ctx, `INSERT INTO connkit_leases (lease_key, owner, expires)
		VALUES ('refresh/c2', 'crashed', (extract(epoch from clock_timestamp())*1000)::bigint - 1000)`); err != nil {
		t.Fatal(err)
	}
	if _, err := slow.AcquireLease(ctx, "refresh/c2", "slow", ttl); err != nil {
		t.Errorf("a replica whose clock runs %v slow could not take a lease that expired a second ago: %v", skew, err)
	}
}

// Pending authorizations expire by one clock too: one started on a replica
// with the right clock can be completed on a replica whose clock runs fast,
// and is not swept away by that replica's PutPending; one that has expired
// cannot be consumed on a replica whose clock runs slow.
func TestPostgresPendingUsesOneClock(t *testing.T) {
	postgresDSN(t)
	ctx := context.Background()
	right, fast, slow, _ := replicas(t)
	pending := func(hash string, expires time.Time) *store.PendingAuth {
		return &store.PendingAuth{
			StateHash: hash, ConnectionID: "c-" + hash, Ref: refOf("i1", "crm"),
			RedirectURI: "https://host.example/callback", ExpiresAt: expires,
		}
	}
	live := time.Now().Add(10 * time.Minute)
	for _, h := range []string{"h1", "h2"} {
		if err := right.PutPending(ctx, pending(h, live)); err != nil {
			t.Fatalf("PutPending %s: %v", h, err)
		}
	}
	if _, err := fast.ConsumePending(ctx, "h1"); err != nil {
		t.Errorf("a replica whose clock runs %v fast could not consume a pending authorization with 10 minutes left: %v", skew, err)
	}
	if err := fast.PutPending(ctx, pending("h3", time.Now().Add(skew+10*time.Minute))); err != nil {
		t.Fatalf("PutPending on the fast replica: %v", err)
	}
	if _, err := right.ConsumePending(ctx, "h2"); err != nil {
		t.Errorf("a PutPending on a replica whose clock runs %v fast swept away an unexpired pending authorization: %v", skew, err)
	}

	if err := right.PutPending(ctx, pending("h4", time.Now().Add(-time.Second))); err != nil {
		t.Fatalf("PutPending h4: %v", err)
	}
	if _, err := slow.ConsumePending(ctx, "h4"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a replica whose clock runs %v slow consumed a pending authorization that expired a second ago: err = %v, want ErrNotFound", skew, err)
	}
}

// With a TTL, the lifetime of a pending authorization is counted by the
// database server's clock from the INSERT on, whatever clock the replica
// that starts it has: neither one whose clock runs slow (its own expiry
// would be in the past) nor one whose clock runs fast (its own expiry an
// hour too late) changes the 10 minutes.
func TestPostgresPendingTTLUsesServerClock(t *testing.T) {
	postgresDSN(t)
	ctx := context.Background()
	right, fast, slow, _ := replicas(t)
	const ttl = 10 * time.Minute
	for name, s := range map[string]*sqlstore.Store{"fast": fast, "slow": slow} {
		own := map[string]time.Duration{"fast": skew, "slow": -skew}[name]
		p := &store.PendingAuth{
			StateHash: "ttl-" + name, ConnectionID: "c-" + name, Ref: refOf("i1", "crm"),
			RedirectURI: "https://host.example/callback",
			TTL:         ttl, ExpiresAt: time.Now().Add(own + ttl), // what the replica's own clock would say
		}
		if err := s.PutPending(ctx, p); err != nil {
			t.Fatalf("PutPending on the %s replica: %v", name, err)
		}
		got, err := right.ConsumePending(ctx, p.StateHash)
		if err != nil {
			t.Errorf("ConsumePending of an authorization the %s replica put with a TTL of %v: %v", name, ttl, err)
			continue
		}
		near(t, "ExpiresAt of an authorization the "+name+" replica put", got.ExpiresAt, time.Now().Add(ttl))
		if got.TTL != 0 {
			t.Errorf("ConsumePending returned TTL %v, want 0", got.TTL)
		}
	}
}

// SQLite is one database file on one machine: its store decides by the
// process clock, as documented, so a process whose clock is wrong is wrong
// alone.
func TestSQLiteUsesProcessClock(t *testing.T) {
	ctx := context.Background()
	s := open(t, sqlstore.SQLite, freshDatabase(t, sqlstore.SQLite), sqlstore.Options{})
	sqlstore.SetProcessClock(s, skewed(skew))
	l, err := s.AcquireLease(ctx, "k", "a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "Expires on a SQLite store whose process clock runs fast", l.Expires, time.Now().Add(skew+time.Minute))
}

// An injected Options.Now decides on PostgreSQL too (the conformance suite
// relies on it): the database's clock is used only when Now is nil.
func TestPostgresInjectedClockDecides(t *testing.T) {
	postgresDSN(t)
	ctx := context.Background()
	at := time.Date(2030, time.March, 1, 12, 0, 0, 0, time.UTC)
	s := open(t, sqlstore.PostgreSQL, freshDatabase(t, sqlstore.PostgreSQL), sqlstore.Options{Now: func() time.Time { return at }})
	l, err := s.AcquireLease(ctx, "k", "a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if want := at.Add(time.Minute); !l.Expires.Equal(want) {
		t.Errorf("Expires = %v, want the injected clock's %v", l.Expires, want)
	}
}
