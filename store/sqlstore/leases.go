package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/connkit/connkit/store"
)

// AcquireLease implements [store.Leases] with one upsert that takes the key
// when it is free, replaces the row when the clock reads the lease's expiry
// or later, extends it when owner already holds it, and otherwise changes
// nothing (no row returned: ErrLeaseHeld). The clock is the database
// server's on PostgreSQL when Options.Now is nil, so replicas agree whatever
// their own clocks read, and the store's clock otherwise (see
// [Options.Now]). The returned expiry is the one stored, in whole
// milliseconds; a ttl under a millisecond counts as one.
func (s *Store) AcquireLease(ctx context.Context, key, owner string, ttl time.Duration) (store.Lease, error) {
	const op = "acquire lease"
	if err := ctxErr(ctx, op); err != nil {
		return store.Lease{}, err
	}
	if key == "" || owner == "" {
		return store.Lease{}, fmt.Errorf("sqlstore: %s: %w: empty key or owner", op, store.ErrInvalid)
	}
	if ttl <= 0 {
		return store.Lease{}, fmt.Errorf("sqlstore: %s %q: ttl %v is not positive", op, key, ttl)
	}
	ttlMS := max(ttl.Milliseconds(), 1) // a sub-millisecond ttl still grants a lease
	what := fmt.Sprintf("%s %q for %q", op, key, owner)
	var expires int64
	err := s.queryRow(ctx, s.q.acquireLease, key, owner, s.clockArg(), ttlMS, ttlMS).Scan(&expires)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Lease{}, fmt.Errorf("sqlstore: %s: %w", what, store.ErrLeaseHeld)
	}
	if err != nil {
		return store.Lease{}, dbErr(ctx, what, err)
	}
	return store.Lease{Key: key, Owner: owner, Expires: fromMS(expires)}, nil
}

// ReleaseLease implements [store.Leases].
func (s *Store) ReleaseLease(ctx context.Context, key, owner string) error {
	const op = "release lease"
	if err := ctxErr(ctx, op); err != nil {
		return err
	}
	if _, err := s.exec(ctx, s.q.releaseLease, key, owner); err != nil {
		return dbErr(ctx, fmt.Sprintf("%s %q for %q", op, key, owner), err)
	}
	return nil
}
