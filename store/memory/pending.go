package memory

import (
	"context"
	"fmt"

	"github.com/connkit/connkit/store"
)

// PutPending stores a copy of p, with CreatedAt set from the store's clock
// when it is zero and ExpiresAt set to the store's clock plus p.TTL when
// p.TTL is positive; an error wrapping store.ErrConflict if a pending
// authorization with its state hash exists and has not expired.
func (s *Store) PutPending(ctx context.Context, p *store.PendingAuth) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p == nil {
		return errNilRecord
	}
	if p.StateHash == "" {
		return invalid("put pending authorization", "state hash")
	}
	cp := p.Clone()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	if cp.CreatedAt.IsZero() {
		cp.CreatedAt = now
	}
	if cp.TTL > 0 {
		cp.ExpiresAt = now.Add(cp.TTL)
	}
	cp.TTL = 0 // an instruction, not part of the record
	if old := s.pending[p.StateHash]; old != nil && now.Before(old.ExpiresAt) {
		return fmt.Errorf("memory: put pending authorization: state hash exists: %w", store.ErrConflict)
	}
	s.pending[p.StateHash] = cp
	// Sweep expired entries once per len(pending) puts: amortised O(1).
	s.putsSinceSweep++
	if s.putsSinceSweep >= max(64, len(s.pending)) {
		s.putsSinceSweep = 0
		for h, q := range s.pending {
			if !now.Before(q.ExpiresAt) {
				delete(s.pending, h)
			}
		}
	}
	return nil
}

// ConsumePending removes and returns the pending authorization with the given
// state hash; an error wrapping store.ErrNotFound when it is unknown, already
// consumed or expired by the store's clock.
func (s *Store) ConsumePending(ctx context.Context, stateHash string) (*store.PendingAuth, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	p := s.pending[stateHash]
	if p != nil {
		delete(s.pending, stateHash)
	}
	now := s.clock()
	s.mu.Unlock()
	if p == nil || !now.Before(p.ExpiresAt) {
		return nil, fmt.Errorf("memory: consume pending authorization: %w", store.ErrNotFound)
	}
	// p was removed from the map, so no one else holds it: no copy needed.
	return p, nil
}
