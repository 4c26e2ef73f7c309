package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

// GetConnection returns a copy of the connection at ref, or an error wrapping
// store.ErrNotFound.
func (s *Store) GetConnection(ctx context.Context, ref connection.Ref) (*store.Connection, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	c := s.byRef[ref]
	out := c.Clone()
	s.mu.RUnlock()
	if out == nil {
		return nil, fmt.Errorf("memory: connection %s: %w", ref, store.ErrNotFound)
	}
	return out, nil
}

// GetConnectionByID returns a copy of the connection with the given id, or an
// error wrapping store.ErrNotFound.
func (s *Store) GetConnectionByID(ctx context.Context, id string) (*store.Connection, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	out := s.conns[id].Clone()
	s.mu.RUnlock()
	if out == nil {
		return nil, fmt.Errorf("memory: connection id %q: %w", id, store.ErrNotFound)
	}
	return out, nil
}

// errNilRecord is returned for a nil record argument.
var errNilRecord = fmt.Errorf("memory: nil record: %w", store.ErrInvalid)

// invalid returns the error for a write refused because of an empty
// identifier.
func invalid(op, what string) error {
	return fmt.Errorf("memory: %s: %w: empty %s", op, store.ErrInvalid, what)
}

// PutConnection stores a copy of c with compare-and-swap on c.Revision, as
// [store.Connections] documents, and returns the new revision.
func (s *Store) PutConnection(ctx context.Context, c *store.Connection) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if c == nil {
		return 0, errNilRecord
	}
	if c.ID == "" {
		return 0, invalid("put connection", "id")
	}
	if err := c.Ref.Validate(); err != nil {
		return 0, fmt.Errorf("memory: put connection %q: %w: %w", c.ID, store.ErrInvalid, err)
	}
	next := c.Clone()
	next.Revision = c.Revision + 1
	dropEmptyMaps(next)

	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.conns[c.ID]
	stored := int64(0)
	if old != nil {
		stored = old.Revision
	}
	if stored != c.Revision {
		return 0, fmt.Errorf("memory: put connection %q at revision %d, stored revision is %d: %w",
			c.ID, c.Revision, stored, store.ErrConflict)
	}
	if other := s.byRef[c.Ref]; other != nil && other != old {
		return 0, fmt.Errorf("memory: put connection %q: ref %s belongs to connection %q: %w",
			c.ID, c.Ref, other.ID, store.ErrConflict)
	}
	next.UpdatedAt = s.clock()
	if old != nil {
		s.unindex(old)
	} else {
		i, _ := slices.BinarySearch(s.idOrder, c.ID)
		s.idOrder = slices.Insert(s.idOrder, i, c.ID)
	}
	s.conns[c.ID] = next
	s.index(next)
	return next.Revision, nil
}

// dropEmptyMaps sets the empty maps of c to nil. The contract lets a store
// return nil for an empty map, and every read deep-copies the stored record:
// a nil map costs that copy nothing, an empty one an allocation.
func dropEmptyMaps(c *store.Connection) {
	if len(c.Values) == 0 {
		c.Values = nil
	}
	if len(c.Secrets) == 0 {
		c.Secrets = nil
	}
	if len(c.Sources) == 0 {
		c.Sources = nil
	}
	if len(c.Metadata) == 0 {
		c.Metadata = nil
	}
}

// index adds c to the Ref, instance and refresh indexes (not idOrder).
func (s *Store) index(c *store.Connection) {
	s.byRef[c.Ref] = c
	set := s.byInstance[c.Ref.InstanceID]
	if set == nil {
		set = make(map[string]struct{})
		s.byInstance[c.Ref.InstanceID] = set
	}
	set[c.ID] = struct{}{}
	if k, ok := refreshKeyOf(c); ok {
		i, _ := slices.BinarySearchFunc(s.refresh, k, compareRefresh)
		s.refresh = slices.Insert(s.refresh, i, k)
	}
}

// unindex removes c from the Ref, instance and refresh indexes (not
// idOrder).
func (s *Store) unindex(c *store.Connection) {
	delete(s.byRef, c.Ref)
	if set := s.byInstance[c.Ref.InstanceID]; set != nil {
		delete(set, c.ID)
		if len(set) == 0 {
			delete(s.byInstance, c.Ref.InstanceID)
		}
	}
	if k, ok := refreshKeyOf(c); ok {
		if i, found := slices.BinarySearchFunc(s.refresh, k, compareRefresh); found {
			s.refresh = slices.Delete(s.refresh, i, i+1)
		}
	}
}

func refreshKeyOf(c *store.Connection) (refreshKey, bool) {
	if c.Token == nil || !c.Token.Refreshable {
		return refreshKey{}, false
	}
	return refreshKey{expiry: c.Token.Expiry, id: c.ID}, true
}

// DeleteConnection removes the connection and its log if its revision is
// rev.
func (s *Store) DeleteConnection(ctx context.Context, id string, rev int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.conns[id]
	if c == nil {
		return fmt.Errorf("memory: delete connection %q: %w", id, store.ErrNotFound)
	}
	if c.Revision != rev {
		return fmt.Errorf("memory: delete connection %q at revision %d, stored revision is %d: %w",
			id, rev, c.Revision, store.ErrConflict)
	}
	s.remove(c)
	return nil
}

// remove deletes c, its indexes and its log. The caller holds the write lock.
func (s *Store) remove(c *store.Connection) {
	s.unindex(c)
	if i, found := slices.BinarySearch(s.idOrder, c.ID); found {
		s.idOrder = slices.Delete(s.idOrder, i, i+1)
	}
	delete(s.conns, c.ID)
	delete(s.logs, c.ID)
}

// ListConnections returns copies of the connections of one instance, ordered
// by variable key then user.
func (s *Store) ListConnections(ctx context.Context, instanceID string) ([]*store.Connection, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	set := s.byInstance[instanceID]
	out := make([]*store.Connection, 0, len(set))
	for id := range set {
		out = append(out, s.conns[id].Clone())
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *store.Connection) int {
		return cmp.Or(strings.Compare(a.Ref.Variable, b.Ref.Variable), strings.Compare(a.Ref.User, b.Ref.User))
	})
	return out, nil
}

// ScanConnections returns copies of up to limit connections with an id
// greater than afterID, ordered by id.
func (s *Store) ScanConnections(ctx context.Context, afterID string, limit int) ([]*store.Connection, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, found := slices.BinarySearch(s.idOrder, afterID)
	if found {
		i++
	}
	ids := s.idOrder[i:]
	ids = ids[:max(0, min(limit, len(ids)))]
	out := make([]*store.Connection, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.conns[id].Clone())
	}
	return out, nil
}

// ListRefreshable returns copies of up to limit connections with a
// refreshable token, ordered by (Token.Expiry, ID), strictly after the
// cursor.
func (s *Store) ListRefreshable(ctx context.Context, after store.Cursor, limit int) ([]*store.Connection, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, found := slices.BinarySearchFunc(s.refresh, refreshKey{expiry: after.Expiry, id: after.ID}, compareRefresh)
	if found {
		i++
	}
	keys := s.refresh[i:]
	keys = keys[:max(0, min(limit, len(keys)))]
	out := make([]*store.Connection, 0, len(keys))
	for _, k := range keys {
		out = append(out, s.conns[k.id].Clone())
	}
	return out, nil
}
