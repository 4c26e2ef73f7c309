package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/connkit/connkit/store"
)

// GetTemplate returns a copy of the template, or an error wrapping
// store.ErrNotFound.
func (s *Store) GetTemplate(ctx context.Context, id string) (*store.Template, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	out := s.templates[id].Clone()
	s.mu.RUnlock()
	if out == nil {
		return nil, fmt.Errorf("memory: template %q: %w", id, store.ErrNotFound)
	}
	return out, nil
}

// ListTemplates returns copies of the templates of one component ("" for
// all), ordered by id.
func (s *Store) ListTemplates(ctx context.Context, component string) ([]*store.Template, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	var out []*store.Template
	for _, t := range s.templates {
		if component == "" || t.Component == component {
			out = append(out, t.Clone())
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *store.Template) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// PutTemplate stores a copy of t with compare-and-swap on t.Revision and
// returns the new revision; a template pinned by a published version is
// store.ErrTemplateLocked. CreatedAt is set on creation and kept after;
// UpdatedAt is set on every write.
func (s *Store) PutTemplate(ctx context.Context, t *store.Template) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if t == nil {
		return 0, errNilRecord
	}
	if t.ID == "" {
		return 0, invalid("put template", "id")
	}
	next := t.Clone()
	next.Revision = t.Revision + 1

	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.templates[t.ID]
	if len(s.pins[t.ID]) > 0 {
		return 0, fmt.Errorf("memory: put template %q: %w", t.ID, store.ErrTemplateLocked)
	}
	stored := int64(0)
	if old != nil {
		stored = old.Revision
	}
	if stored != t.Revision {
		return 0, fmt.Errorf("memory: put template %q at revision %d, stored revision is %d: %w",
			t.ID, t.Revision, stored, store.ErrConflict)
	}
	now := s.clock()
	next.CreatedAt, next.UpdatedAt = now, now
	if old != nil {
		next.CreatedAt = old.CreatedAt
	}
	s.templates[t.ID] = next
	return next.Revision, nil
}

// ResealTemplate replaces the sealed secrets of a template, pinned or not, with
// compare-and-swap on rev; see [store.Templates]. The new secrets must have
// the stored field keys, or the error wraps store.ErrFieldsChanged.
func (s *Store) ResealTemplate(ctx context.Context, id string, rev int64, secrets map[string][]byte) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	sealed := (&store.Template{Secrets: secrets}).Clone().Secrets // a deep copy

	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.templates[id]
	switch {
	case old == nil:
		return 0, fmt.Errorf("memory: reseal template %q: %w", id, store.ErrNotFound)
	case old.Revision != rev:
		return 0, fmt.Errorf("memory: reseal template %q at revision %d, stored revision is %d: %w",
			id, rev, old.Revision, store.ErrConflict)
	case !sameKeys(old.Secrets, secrets):
		return 0, fmt.Errorf("memory: reseal template %q: %w", id, store.ErrFieldsChanged)
	}
	old.Secrets = sealed
	old.Revision = rev + 1
	old.UpdatedAt = s.clock()
	return old.Revision, nil
}

// sameKeys reports whether a and b have the same keys.
func sameKeys(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

// DeleteTemplate removes an unpinned template.
func (s *Store) DeleteTemplate(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.templates[id] == nil {
		return fmt.Errorf("memory: delete template %q: %w", id, store.ErrNotFound)
	}
	if len(s.pins[id]) > 0 {
		return fmt.Errorf("memory: delete template %q: %w", id, store.ErrTemplateLocked)
	}
	delete(s.templates, id)
	return nil
}

// Publish records v as published with the given template ids and pins them,
// atomically; see [store.Templates].
func (s *Store) Publish(ctx context.Context, v store.Version, templateIDs []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if v.IntegrationID == "" {
		return invalid("publish", "integration id")
	}
	ids := slices.Clone(templateIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)

	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.versions[v]; ok {
		if slices.Equal(prev, ids) {
			return nil
		}
		return fmt.Errorf("memory: publish %s version %d: published before with other templates: %w",
			v.IntegrationID, v.Version, store.ErrConflict)
	}
	for _, id := range ids {
		if s.templates[id] == nil {
			return fmt.Errorf("memory: publish %s version %d: template %q: %w",
				v.IntegrationID, v.Version, id, store.ErrNotFound)
		}
	}
	s.versions[v] = ids
	for _, id := range ids {
		pins := s.pins[id]
		i, _ := slices.BinarySearchFunc(pins, v, compareVersion)
		s.pins[id] = slices.Insert(pins, i, v)
	}
	return nil
}

func compareVersion(a, b store.Version) int {
	return cmp.Or(strings.Compare(a.IntegrationID, b.IntegrationID), cmp.Compare(a.Version, b.Version))
}

// Pins returns the published versions that reference a template, ordered by
// integration id then version.
func (s *Store) Pins(ctx context.Context, templateID string) ([]store.Version, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	out := slices.Clone(s.pins[templateID])
	s.mu.RUnlock()
	return out, nil
}
