package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

// rowScanner is what *sql.Row and *sql.Rows have in common.
type rowScanner interface {
	Scan(dest ...any) error
}

// scanConnection reads one row of connCols.
func scanConnection(r rowScanner) (*store.Connection, error) {
	var (
		c                                 store.Connection
		vals, secrets, sources, metadata  string
		tokenSealed                       []byte
		tokenExpiry, tokenObtained        sql.NullInt64
		refreshable, healthSince, updated int64
		status                            string
	)
	err := r.Scan(&c.ID, &c.Ref.InstanceID, &c.Ref.Variable, &c.Ref.User,
		&vals, &secrets, &sources, &metadata,
		&tokenSealed, &tokenExpiry, &refreshable, &tokenObtained,
		&status, &c.Health.Reason, &healthSince, &c.Revision, &updated)
	if err != nil {
		return nil, err
	}
	if c.Values, err = decodeMap[map[string]string](vals, "values"); err != nil {
		return nil, err
	}
	if c.Secrets, err = decodeMap[map[string][]byte](secrets, "secrets"); err != nil {
		return nil, err
	}
	if c.Sources, err = decodeMap[map[string]connection.Source](sources, "sources"); err != nil {
		return nil, err
	}
	if c.Metadata, err = decodeMap[map[string]string](metadata, "metadata"); err != nil {
		return nil, err
	}
	if tokenExpiry.Valid {
		c.Token = &store.Token{
			Sealed:      tokenSealed,
			Expiry:      fromMS(tokenExpiry.Int64),
			Refreshable: refreshable != 0,
			ObtainedAt:  fromNullMS(tokenObtained),
		}
	}
	c.Health.Status = connection.Status(status)
	c.Health.Since = fromMS(healthSince)
	c.UpdatedAt = fromMS(updated)
	return &c, nil
}

// connArgs returns the values of every column of c but id, revision and
// updated_at, in connCols order.
func connArgs(c *store.Connection) ([]any, error) {
	vals, err := encodeMap(c.Values, "values")
	if err != nil {
		return nil, err
	}
	secrets, err := encodeMap(c.Secrets, "secrets")
	if err != nil {
		return nil, err
	}
	sources, err := encodeMap(c.Sources, "sources")
	if err != nil {
		return nil, err
	}
	metadata, err := encodeMap(c.Metadata, "metadata")
	if err != nil {
		return nil, err
	}
	var (
		tokenSealed                any
		tokenExpiry, tokenObtained sql.NullInt64
		refreshable                int64
	)
	if t := c.Token; t != nil {
		tokenSealed = blob(t.Sealed)
		tokenExpiry = sql.NullInt64{Int64: ms(t.Expiry), Valid: true}
		tokenObtained = sql.NullInt64{Int64: ms(t.ObtainedAt), Valid: true}
		refreshable = boolInt(t.Refreshable)
	}
	return []any{
		c.Ref.InstanceID, c.Ref.Variable, c.Ref.User,
		vals, secrets, sources, metadata,
		tokenSealed, tokenExpiry, refreshable, tokenObtained,
		string(c.Health.Status), c.Health.Reason, ms(c.Health.Since),
	}, nil
}

// GetConnection implements [store.Connections].
func (s *Store) GetConnection(ctx context.Context, ref connection.Ref) (*store.Connection, error) {
	const op = "get connection"
	if err := ctxErr(ctx, op); err != nil {
		return nil, err
	}
	c, err := scanConnection(s.queryRow(ctx, s.q.getConn, ref.InstanceID, ref.Variable, ref.User))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: %s %s: %w", op, ref, store.ErrNotFound)
	}
	if err != nil {
		return nil, dbErr(ctx, op+" "+ref.String(), err)
	}
	return c, nil
}

// GetConnectionByID implements [store.Connections].
func (s *Store) GetConnectionByID(ctx context.Context, id string) (*store.Connection, error) {
	const op = "get connection"
	if err := ctxErr(ctx, op); err != nil {
		return nil, err
	}
	c, err := scanConnection(s.queryRow(ctx, s.q.getConnByID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: %s %q: %w", op, id, store.ErrNotFound)
	}
	if err != nil {
		return nil, dbErr(ctx, fmt.Sprintf("%s %q", op, id), err)
	}
	return c, nil
}

// PutConnection implements [store.Connections]. A create is one INSERT (a
// duplicate id or ref is ErrConflict); an update is one UPDATE conditioned on
// the revision, so either all of c is written or nothing is.
func (s *Store) PutConnection(ctx context.Context, c *store.Connection) (int64, error) {
	const op = "put connection"
	if err := ctxErr(ctx, op); err != nil {
		return 0, err
	}
	if c == nil {
		return 0, fmt.Errorf("sqlstore: %s: %w: nil connection", op, store.ErrInvalid)
	}
	if c.ID == "" {
		return 0, fmt.Errorf("sqlstore: %s: %w: empty id", op, store.ErrInvalid)
	}
	if err := c.Ref.Validate(); err != nil {
		return 0, fmt.Errorf("sqlstore: %s %q: %w: %w", op, c.ID, store.ErrInvalid, err)
	}
	args, err := connArgs(c)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: %s %q: %w", op, c.ID, err)
	}
	now := ms(s.now())
	if c.Revision == 0 {
		all := append(append([]any{c.ID}, args...), now)
		if _, err := s.exec(ctx, s.q.insertConn, all...); err != nil {
			if isUniqueViolation(err) {
				return 0, sentinelErr(fmt.Sprintf("%s %q (%s)", op, c.ID, c.Ref), store.ErrConflict, err)
			}
			return 0, dbErr(ctx, fmt.Sprintf("%s %q", op, c.ID), err)
		}
		return 1, nil
	}
	all := append(args, now, c.ID, c.Revision)
	res, err := s.exec(ctx, s.q.updateConn, all...)
	if err != nil {
		if isUniqueViolation(err) { // the new ref belongs to another connection
			return 0, sentinelErr(fmt.Sprintf("%s %q (%s)", op, c.ID, c.Ref), store.ErrConflict, err)
		}
		return 0, dbErr(ctx, fmt.Sprintf("%s %q", op, c.ID), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, dbErr(ctx, fmt.Sprintf("%s %q", op, c.ID), err)
	}
	if n == 0 {
		return 0, sentinelErr(fmt.Sprintf("%s %q at revision %d", op, c.ID, c.Revision), store.ErrConflict, nil)
	}
	return c.Revision + 1, nil
}

// DeleteConnection implements [store.Connections]. The connection, its logs
// and its log counter go in one transaction.
func (s *Store) DeleteConnection(ctx context.Context, id string, rev int64) error {
	const op = "delete connection"
	if err := ctxErr(ctx, op); err != nil {
		return err
	}
	var sentinel error
	err := s.inTx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, s.q.deleteConn, id, rev)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			var cur int64
			switch err := q.QueryRowContext(ctx, s.q.connExists, id).Scan(&cur); {
			case errors.Is(err, sql.ErrNoRows):
				sentinel = store.ErrNotFound
			case err != nil:
				return err
			default:
				sentinel = store.ErrConflict
			}
			return nil
		}
		if _, err := q.ExecContext(ctx, s.q.deleteLogsOf, id); err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, s.q.deleteLogSeqOf, id)
		return err
	})
	if err != nil {
		return dbErr(ctx, fmt.Sprintf("%s %q", op, id), err)
	}
	if sentinel != nil {
		return sentinelErr(fmt.Sprintf("%s %q at revision %d", op, id, rev), sentinel, nil)
	}
	return nil
}

// ListConnections implements [store.Connections].
func (s *Store) ListConnections(ctx context.Context, instanceID string) ([]*store.Connection, error) {
	const op = "list connections"
	if err := ctxErr(ctx, op); err != nil {
		return nil, err
	}
	cs, err := s.queryConnections(ctx, s.q.listConns, instanceID)
	if err != nil {
		return nil, dbErr(ctx, fmt.Sprintf("%s of instance %q", op, instanceID), err)
	}
	return cs, nil
}

// ScanConnections implements [store.Connections]. A limit of zero or less
// returns no connections.
func (s *Store) ScanConnections(ctx context.Context, afterID string, limit int) ([]*store.Connection, error) {
	const op = "scan connections"
	if err := ctxErr(ctx, op); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	cs, err := s.queryConnections(ctx, s.q.scanConns, afterID, limit)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	return cs, nil
}

// ListRefreshable implements [store.Connections]. A limit of zero or less
// returns no connections.
func (s *Store) ListRefreshable(ctx context.Context, after store.Cursor, limit int) ([]*store.Connection, error) {
	const op = "list refreshable connections"
	if err := ctxErr(ctx, op); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	exp := ms(after.Expiry)
	cs, err := s.queryConnections(ctx, s.q.listRefreshable, exp, after.ID, limit)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	return cs, nil
}

func (s *Store) queryConnections(ctx context.Context, query string, args ...any) ([]*store.Connection, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cs []*store.Connection
	for rows.Next() {
		c, err := scanConnection(rows)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, rows.Err()
}
