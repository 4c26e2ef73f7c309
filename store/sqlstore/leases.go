package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/connkit/connkit/store"
)

// AcquireLease implements [store.Leases] with one upsert that takes the key
// when it is free, replaces the row when the store's clock reads the lease's
// expiry or later, extends it when owner already holds it, and otherwise
// changes nothing (zero rows affected: ErrLeaseHeld). The returned expiry is
// the one stored, truncated to the millisecond.
func (s *Store) AcquireLease(ctx context.Context, key, owner string, ttl time.Duration) (store.Lease, error) {
	const op = "acquire lease"
	if err := ctxErr(ctx, op); err != nil {
		return store.Lease{}, err
	}
	if key == "" || owner == "" {
		return store.Lease{}, fmt.Errorf("sqlstore: %s: empty key or owner", op)
	}
	if ttl <= 0 {
		return store.Lease{}, fmt.Errorf("sqlstore: %s %q: ttl %v is not positive", op, key, ttl)
	}
	now := ms(s.now())
	expires := now + ttl.Milliseconds()
	if expires == now {
		expires++ // a sub-millisecond ttl still grants a lease
	}
	what := fmt.Sprintf("%s %q for %q", op, key, owner)
	res, err := s.exec(ctx, s.q.acquireLease, key, owner, expires, now)
	if err != nil {
		return store.Lease{}, dbErr(ctx, what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return store.Lease{}, dbErr(ctx, what, err)
	}
	if n == 0 {
		return store.Lease{}, fmt.Errorf("sqlstore: %s: %w", what, store.ErrLeaseHeld)
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
