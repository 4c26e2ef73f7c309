package memory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

// PutInstance creates or replaces the instance with in.ID.
func (s *Store) PutInstance(ctx context.Context, in connection.Instance) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if in.ID == "" {
		return invalid("put instance", "id")
	}
	s.mu.Lock()
	s.instances[in.ID] = in
	s.mu.Unlock()
	return nil
}

// GetInstance returns the instance, or an error wrapping store.ErrNotFound.
func (s *Store) GetInstance(ctx context.Context, id string) (connection.Instance, error) {
	if err := ctx.Err(); err != nil {
		return connection.Instance{}, err
	}
	s.mu.RLock()
	in, ok := s.instances[id]
	s.mu.RUnlock()
	if !ok {
		return connection.Instance{}, fmt.Errorf("memory: instance %q: %w", id, store.ErrNotFound)
	}
	return in, nil
}

// ListInstances returns every instance ordered by id.
func (s *Store) ListInstances(ctx context.Context) ([]connection.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	out := slices.Collect(maps.Values(s.instances))
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b connection.Instance) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// DeleteInstance removes the instance, its connections and their logs.
func (s *Store) DeleteInstance(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.instances[id]; !ok {
		return fmt.Errorf("memory: delete instance %q: %w", id, store.ErrNotFound)
	}
	for cid := range s.byInstance[id] {
		s.remove(s.conns[cid])
	}
	delete(s.instances, id)
	return nil
}
