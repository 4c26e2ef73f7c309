package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/connkit/connkit/store"
)

func scanTemplate(r rowScanner) (*store.Template, error) {
	var (
		t                  store.Template
		vals, secrets      string
		created, updatedAt int64
	)
	err := r.Scan(&t.ID, &t.Name, &t.Component, &t.Type, &vals, &secrets, &t.Revision, &created, &updatedAt)
	if err != nil {
		return nil, err
	}
	if t.Values, err = decodeMap[map[string]string](vals, "values"); err != nil {
		return nil, err
	}
	if t.Secrets, err = decodeMap[map[string][]byte](secrets, "secrets"); err != nil {
		return nil, err
	}
	t.CreatedAt = fromMS(created)
	t.UpdatedAt = fromMS(updatedAt)
	return &t, nil
}

// GetTemplate implements [store.Templates].
func (s *Store) GetTemplate(ctx context.Context, id string) (*store.Template, error) {
	const op = "get template"
	if err := ctxErr(ctx, op); err != nil {
		return nil, err
	}
	t, err := scanTemplate(s.queryRow(ctx, s.q.getTemplate, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: %s %q: %w", op, id, store.ErrNotFound)
	}
	if err != nil {
		return nil, dbErr(ctx, fmt.Sprintf("%s %q", op, id), err)
	}
	return t, nil
}

// ListTemplates implements [store.Templates].
func (s *Store) ListTemplates(ctx context.Context, component string) ([]*store.Template, error) {
	const op = "list templates"
	if err := ctxErr(ctx, op); err != nil {
		return nil, err
	}
	query, args := s.q.listTemplates, []any(nil)
	if component != "" {
		query, args = s.q.listTemplatesOf, []any{component}
	}
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	defer rows.Close()
	var ts []*store.Template
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, dbErr(ctx, op, err)
		}
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(ctx, op, err)
	}
	return ts, nil
}

// PutTemplate implements [store.Templates]. An update locks the template's
// row before checking its pins and revision, and Publish share-locks the
// rows of the templates it pins, so the two never interleave.
func (s *Store) PutTemplate(ctx context.Context, t *store.Template) (int64, error) {
	const op = "put template"
	if err := ctxErr(ctx, op); err != nil {
		return 0, err
	}
	if t == nil {
		return 0, fmt.Errorf("sqlstore: %s: %w: nil template", op, store.ErrInvalid)
	}
	if t.ID == "" {
		return 0, fmt.Errorf("sqlstore: %s: %w: empty id", op, store.ErrInvalid)
	}
	what := fmt.Sprintf("%s %q", op, t.ID)
	vals, err := encodeMap(t.Values, "values")
	if err != nil {
		return 0, fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	secrets, err := encodeMap(t.Secrets, "secrets")
	if err != nil {
		return 0, fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	now := ms(s.now())
	if t.Revision == 0 {
		_, err := s.exec(ctx, s.q.insertTemplate,
			t.ID, t.Name, t.Component, t.Type, vals, secrets, now, now)
		if err != nil {
			if isUniqueViolation(err) {
				return 0, sentinelErr(what, store.ErrConflict, err)
			}
			return 0, dbErr(ctx, what, err)
		}
		return 1, nil
	}
	var sentinel error
	err = s.inTx(ctx, func(q querier) error {
		var rev int64
		switch err := q.QueryRowContext(ctx, s.q.lockTemplate, t.ID).Scan(&rev); {
		case errors.Is(err, sql.ErrNoRows):
			sentinel = store.ErrConflict // as for connections: no stored revision equals t.Revision
			return nil
		case err != nil:
			return err
		}
		pinned, err := s.pinned(ctx, q, t.ID)
		if err != nil {
			return err
		}
		switch {
		case pinned:
			sentinel = store.ErrTemplateLocked
			return nil
		case rev != t.Revision:
			sentinel = store.ErrConflict
			return nil
		}
		_, err = q.ExecContext(ctx, s.q.updateTemplate,
			t.Name, t.Component, t.Type, vals, secrets, now, t.ID, t.Revision)
		return err
	})
	if err != nil {
		return 0, dbErr(ctx, what, err)
	}
	if sentinel != nil {
		return 0, sentinelErr(fmt.Sprintf("%s at revision %d", what, t.Revision), sentinel, nil)
	}
	return t.Revision + 1, nil
}

// ResealTemplate implements [store.Templates]. In one transaction it locks
// the template's row, checks its revision and secret field keys, and writes
// the new secrets; pins are not consulted, since re-sealing is allowed on a
// pinned template.
func (s *Store) ResealTemplate(ctx context.Context, id string, rev int64, secrets map[string][]byte) (int64, error) {
	const op = "reseal template"
	if err := ctxErr(ctx, op); err != nil {
		return 0, err
	}
	what := fmt.Sprintf("%s %q at revision %d", op, id, rev)
	enc, err := encodeMap(secrets, "secrets")
	if err != nil {
		return 0, fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	now := ms(s.now())
	var sentinel error
	err = s.inTx(ctx, func(q querier) error {
		var (
			stored int64
			old    string
		)
		switch err := q.QueryRowContext(ctx, s.q.lockTemplateSecrets, id).Scan(&stored, &old); {
		case errors.Is(err, sql.ErrNoRows):
			sentinel = store.ErrNotFound
			return nil
		case err != nil:
			return err
		}
		if stored != rev {
			sentinel = store.ErrConflict
			return nil
		}
		oldSecrets, err := decodeMap[map[string][]byte](old, "secrets")
		if err != nil {
			return err
		}
		if !sameKeys(oldSecrets, secrets) {
			sentinel = store.ErrFieldsChanged
			return nil
		}
		_, err = q.ExecContext(ctx, s.q.resealTemplate, enc, now, id, rev)
		return err
	})
	if err != nil {
		return 0, dbErr(ctx, what, err)
	}
	if sentinel != nil {
		return 0, sentinelErr(what, sentinel, nil)
	}
	return rev + 1, nil
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

// DeleteTemplate implements [store.Templates].
func (s *Store) DeleteTemplate(ctx context.Context, id string) error {
	const op = "delete template"
	if err := ctxErr(ctx, op); err != nil {
		return err
	}
	what := fmt.Sprintf("%s %q", op, id)
	var sentinel error
	err := s.inTx(ctx, func(q querier) error {
		var rev int64
		switch err := q.QueryRowContext(ctx, s.q.lockTemplate, id).Scan(&rev); {
		case errors.Is(err, sql.ErrNoRows):
			sentinel = store.ErrNotFound
			return nil
		case err != nil:
			return err
		}
		pinned, err := s.pinned(ctx, q, id)
		if err != nil {
			return err
		}
		if pinned {
			sentinel = store.ErrTemplateLocked
			return nil
		}
		_, err = q.ExecContext(ctx, s.q.deleteTemplate, id)
		return err
	})
	if err != nil {
		return dbErr(ctx, what, err)
	}
	if sentinel != nil {
		return sentinelErr(what, sentinel, nil)
	}
	return nil
}

func (s *Store) pinned(ctx context.Context, q querier, id string) (bool, error) {
	var one int
	switch err := q.QueryRowContext(ctx, s.q.templatePinned, id).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// Publish implements [store.Templates]. It share-locks the templates' rows
// (in id order, so concurrent calls cannot deadlock), checks them, and
// records the version and its pins in one transaction. Two concurrent
// first publications of one version race on the version's primary key; the
// loser retries once and then compares pins like any republication.
func (s *Store) Publish(ctx context.Context, v store.Version, templateIDs []string) error {
	const op = "publish"
	if err := ctxErr(ctx, op); err != nil {
		return err
	}
	if v.IntegrationID == "" {
		return fmt.Errorf("sqlstore: %s: %w: empty integration id", op, store.ErrInvalid)
	}
	ids := slices.Clone(templateIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	what := fmt.Sprintf("%s %s version %d", op, v.IntegrationID, v.Version)

	var err error
	for attempt := 0; attempt < 2; attempt++ {
		err = s.publish(ctx, v, ids)
		if err == nil || !isUniqueViolation(err) {
			break
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict):
		return fmt.Errorf("sqlstore: %s: %w", what, err)
	case isUniqueViolation(err):
		return sentinelErr(what, store.ErrConflict, err)
	case isForeignKeyViolation(err): // a template vanished; cannot happen while rows are locked
		return sentinelErr(what, store.ErrNotFound, err)
	}
	return dbErr(ctx, what, err)
}

// publish is one attempt of Publish; ids are sorted and unique. It returns
// ErrNotFound or ErrConflict (wrapped, without prefix) for the contract's
// outcomes, or the database's error.
func (s *Store) publish(ctx context.Context, v store.Version, ids []string) error {
	var outcome error
	err := s.inTx(ctx, func(q querier) error {
		for _, id := range ids {
			var rev int64
			switch err := q.QueryRowContext(ctx, s.q.shareTemplate, id).Scan(&rev); {
			case errors.Is(err, sql.ErrNoRows):
				outcome = fmt.Errorf("template %q: %w", id, store.ErrNotFound)
				return nil
			case err != nil:
				return err
			}
		}
		var one int
		switch err := q.QueryRowContext(ctx, s.q.versionExists, v.IntegrationID, v.Version).Scan(&one); {
		case err == nil:
			pinned, err := s.versionPins(ctx, q, v)
			if err != nil {
				return err
			}
			if !slices.Equal(pinned, ids) {
				outcome = fmt.Errorf("already published with other templates: %w", store.ErrConflict)
			}
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := q.ExecContext(ctx, s.q.insertVersion, v.IntegrationID, v.Version, ms(s.now())); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := q.ExecContext(ctx, s.q.insertPin, id, v.IntegrationID, v.Version); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return outcome
}

func (s *Store) versionPins(ctx context.Context, q querier, v store.Version) ([]string, error) {
	rows, err := q.QueryContext(ctx, s.q.versionPins, v.IntegrationID, v.Version)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Pins implements [store.Templates].
func (s *Store) Pins(ctx context.Context, templateID string) ([]store.Version, error) {
	const op = "pins"
	if err := ctxErr(ctx, op); err != nil {
		return nil, err
	}
	what := fmt.Sprintf("%s of template %q", op, templateID)
	rows, err := s.query(ctx, s.q.pinsOf, templateID)
	if err != nil {
		return nil, dbErr(ctx, what, err)
	}
	defer rows.Close()
	var vs []store.Version
	for rows.Next() {
		var v store.Version
		if err := rows.Scan(&v.IntegrationID, &v.Version); err != nil {
			return nil, dbErr(ctx, what, err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(ctx, what, err)
	}
	return vs, nil
}
