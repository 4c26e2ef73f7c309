package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/connkit/connkit/store"
)

// AcquireLease gives key to owner for ttl when it is free, expired or already
// held by owner; otherwise an error wrapping store.ErrLeaseHeld. A ttl of zero
// or less is an error.
func (s *Store) AcquireLease(ctx context.Context, key, owner string, ttl time.Duration) (store.Lease, error) {
	if err := ctx.Err(); err != nil {
		return store.Lease{}, err
	}
	if key == "" || owner == "" {
		return store.Lease{}, invalid("acquire lease", "key or owner")
	}
	if ttl <= 0 {
		return store.Lease{}, fmt.Errorf("memory: lease %q: ttl %v is not positive", key, ttl)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	if l, ok := s.leases[key]; ok && l.Owner != owner && now.Before(l.Expires) {
		return store.Lease{}, fmt.Errorf("memory: lease %q: %w", key, store.ErrLeaseHeld)
	}
	l := store.Lease{Key: key, Owner: owner, Expires: now.Add(ttl)}
	s.leases[key] = l
	return l, nil
}

// ReleaseLease frees key if owner holds it, and otherwise does nothing.
func (s *Store) ReleaseLease(ctx context.Context, key, owner string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if l, ok := s.leases[key]; ok && l.Owner == owner {
		delete(s.leases, key)
	}
	s.mu.Unlock()
	return nil
}
