package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

// PutInstance implements [store.Instances] with one upsert.
func (s *Store) PutInstance(ctx context.Context, in connection.Instance) error {
	const op = "put instance"
	if err := ctxErr(ctx, op); err != nil {
		return err
	}
	if in.ID == "" {
		return fmt.Errorf("sqlstore: %s: %w: empty id", op, store.ErrInvalid)
	}
	_, err := s.exec(ctx, s.q.putInstance,
		in.ID, in.Name, in.IntegrationID, in.IntegrationName, in.IntegrationVersion)
	if err != nil {
		return dbErr(ctx, fmt.Sprintf("%s %q", op, in.ID), err)
	}
	return nil
}

// GetInstance implements [store.Instances].
func (s *Store) GetInstance(ctx context.Context, id string) (connection.Instance, error) {
	const op = "get instance"
	if err := ctxErr(ctx, op); err != nil {
		return connection.Instance{}, err
	}
	in, err := scanInstance(s.queryRow(ctx, s.q.getInstance, id))
	if errors.Is(err, sql.ErrNoRows) {
		return connection.Instance{}, fmt.Errorf("sqlstore: %s %q: %w", op, id, store.ErrNotFound)
	}
	if err != nil {
		return connection.Instance{}, dbErr(ctx, fmt.Sprintf("%s %q", op, id), err)
	}
	return in, nil
}

// ListInstances implements [store.Instances].
func (s *Store) ListInstances(ctx context.Context) ([]connection.Instance, error) {
	const op = "list instances"
	if err := ctxErr(ctx, op); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, s.q.listInstances)
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	defer rows.Close()
	var ins []connection.Instance
	for rows.Next() {
		in, err := scanInstance(rows)
		if err != nil {
			return nil, dbErr(ctx, op, err)
		}
		ins = append(ins, in)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(ctx, op, err)
	}
	return ins, nil
}

// DeleteInstance implements [store.Instances]: the instance, its
// connections and their logs go in one transaction. On PostgreSQL it first
// locks the connections' rows, so that an AppendLog in flight finishes
// before their logs are deleted and a later one finds no connection.
func (s *Store) DeleteInstance(ctx context.Context, id string) error {
	const op = "delete instance"
	if err := ctxErr(ctx, op); err != nil {
		return err
	}
	found := true
	err := s.inTx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, s.q.deleteInstance, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			found = false
			return nil
		}
		if s.dialect == PostgreSQL {
			if _, err := q.ExecContext(ctx, s.q.lockInstanceConns, id); err != nil {
				return err
			}
		}
		for _, stmt := range []string{s.q.deleteInstanceLogs, s.q.deleteInstanceLogSeqs, s.q.deleteInstanceConns} {
			if _, err := q.ExecContext(ctx, stmt, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return dbErr(ctx, fmt.Sprintf("%s %q", op, id), err)
	}
	if !found {
		return fmt.Errorf("sqlstore: %s %q: %w", op, id, store.ErrNotFound)
	}
	return nil
}

func scanInstance(r rowScanner) (connection.Instance, error) {
	var in connection.Instance
	err := r.Scan(&in.ID, &in.Name, &in.IntegrationID, &in.IntegrationName, &in.IntegrationVersion)
	return in, err
}
