package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"github.com/connkit/connkit/store"
)

// AppendLog implements [store.Logs]. In one transaction it checks that the
// connection exists (on PostgreSQL key-share locking its row, so that a
// concurrent delete waits and removes the new entry with the others), takes
// the next sequence number from the connection's counter row (an upsert, which on
// PostgreSQL row-locks the counter, so concurrent appends get distinct,
// increasing numbers), inserts the entry and drops the entries beyond the
// retention. Sequence numbers per connection have no gaps, so "beyond the
// retention" is simply seq <= new seq - retention.
func (s *Store) AppendLog(ctx context.Context, e *store.LogEntry) (int64, error) {
	const op = "append log"
	if err := ctxErr(ctx, op); err != nil {
		return 0, err
	}
	if e == nil {
		return 0, fmt.Errorf("sqlstore: %s: %w: nil entry", op, store.ErrInvalid)
	}
	if e.ConnectionID == "" {
		return 0, fmt.Errorf("sqlstore: %s: %w: empty connection id", op, store.ErrInvalid)
	}
	what := fmt.Sprintf("%s of connection %q", op, e.ConnectionID)
	attrs, err := encodeMap(e.Attrs, "attrs")
	if err != nil {
		return 0, fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	at := e.Time
	if at.IsZero() {
		at = s.now()
	}
	var (
		seq     int64
		missing bool
	)
	err = s.inTx(ctx, func(q querier) error {
		var one int
		switch err := q.QueryRowContext(ctx, s.q.logConnExists, e.ConnectionID).Scan(&one); {
		case errors.Is(err, sql.ErrNoRows):
			missing = true
			return nil
		case err != nil:
			return err
		}
		if err := q.QueryRowContext(ctx, s.q.nextSeq, e.ConnectionID).Scan(&seq); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, s.q.insertLog,
			e.ConnectionID, seq, ms(at), int64(e.Level), e.Event, e.Message, attrs); err != nil {
			return err
		}
		if s.retention > 0 && seq > int64(s.retention) {
			if _, err := q.ExecContext(ctx, s.q.trimLogs, e.ConnectionID, seq-int64(s.retention)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, dbErr(ctx, what, err)
	}
	if missing {
		return 0, sentinelErr(what, store.ErrNotFound, nil)
	}
	return seq, nil
}

// ListLogs implements [store.Logs]. A limit of zero or less returns no
// entries.
func (s *Store) ListLogs(ctx context.Context, connectionID string, before int64, limit int) ([]store.LogEntry, error) {
	const op = "list logs"
	if err := ctxErr(ctx, op); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	what := fmt.Sprintf("%s of connection %q", op, connectionID)
	query, args := s.q.listLogs, []any{connectionID, limit}
	if before > 0 {
		query, args = s.q.listLogsBefore, []any{connectionID, before, limit}
	}
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, dbErr(ctx, what, err)
	}
	defer rows.Close()
	var entries []store.LogEntry
	for rows.Next() {
		e := store.LogEntry{ConnectionID: connectionID}
		var (
			at, level int64
			attrs     string
		)
		if err := rows.Scan(&e.Seq, &at, &level, &e.Event, &e.Message, &attrs); err != nil {
			return nil, dbErr(ctx, what, err)
		}
		e.Time, e.Level = fromMS(at), slog.Level(level)
		if e.Attrs, err = decodeMap[map[string]string](attrs, "attrs"); err != nil {
			return nil, fmt.Errorf("sqlstore: %s: %w", what, err)
		}
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(ctx, what, err)
	}
	return entries, nil
}
