package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/connkit/connkit/store"
)

// PutPending implements [store.Pending]. It also deletes pending
// authorizations that have expired, so abandoned flows do not accumulate; an
// expired one with the same state hash no longer counts as existing. Expiry
// is judged by the database server's clock on PostgreSQL when Options.Now is
// nil, and by the store's clock otherwise (see [Options.Now]); with a
// positive p.TTL, ExpiresAt is that same clock's now plus TTL (rounded up to
// the millisecond), computed in the INSERT. A zero CreatedAt is set from the
// store's clock.
func (s *Store) PutPending(ctx context.Context, p *store.PendingAuth) error {
	const op = "put pending authorization"
	if err := ctxErr(ctx, op); err != nil {
		return err
	}
	if p == nil {
		return fmt.Errorf("sqlstore: %s: %w: nil pending authorization", op, store.ErrInvalid)
	}
	if p.StateHash == "" {
		return fmt.Errorf("sqlstore: %s: %w: empty state hash", op, store.ErrInvalid)
	}
	data, err := encodeMap(p.Data, "data")
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	created := p.CreatedAt
	if created.IsZero() {
		created = s.now()
	}
	// The state hash is a lookup key derived from a secret; errors name the
	// connection instead.
	what := fmt.Sprintf("%s for connection %q", op, p.ConnectionID)
	if _, err := s.exec(ctx, s.q.deleteExpiredPending, s.clockArg()); err != nil {
		return dbErr(ctx, what, err)
	}
	var ttl int64 // ms; 0: ExpiresAt as given
	if p.TTL > 0 {
		ttl = int64((p.TTL + time.Millisecond - 1) / time.Millisecond)
	}
	_, err = s.exec(ctx, s.q.insertPending,
		p.StateHash, p.ConnectionID, p.Ref.InstanceID, p.Ref.Variable, p.Ref.User, blob(p.Verifier),
		p.RedirectURI, p.TokenURL, p.Issuer, data, ms(created),
		ttl, s.clockArg(), ttl, ms(p.ExpiresAt))
	if err != nil {
		if isUniqueViolation(err) {
			return sentinelErr(what, store.ErrConflict, err)
		}
		return dbErr(ctx, what, err)
	}
	return nil
}

// ConsumePending implements [store.Pending] with one DELETE ... RETURNING:
// of concurrent callers exactly one deletes the row and gets it. An expired
// authorization (by the clock PutPending uses) is deleted too, and reported
// as ErrNotFound.
func (s *Store) ConsumePending(ctx context.Context, stateHash string) (*store.PendingAuth, error) {
	const op = "consume pending authorization"
	if err := ctxErr(ctx, op); err != nil {
		return nil, err
	}
	p := store.PendingAuth{StateHash: stateHash}
	var (
		data             string
		created, expires int64
		expired          int
	)
	err := s.queryRow(ctx, s.q.consumePending, stateHash, s.clockArg()).Scan(
		&p.ConnectionID, &p.Ref.InstanceID, &p.Ref.Variable, &p.Ref.User, &p.Verifier,
		&p.RedirectURI, &p.TokenURL, &p.Issuer, &data, &created, &expires, &expired)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, store.ErrNotFound)
	}
	if err != nil {
		return nil, dbErr(ctx, op, err)
	}
	p.CreatedAt, p.ExpiresAt = fromMS(created), fromMS(expires)
	if expired != 0 { // expired once the clock reads ExpiresAt
		return nil, fmt.Errorf("sqlstore: %s: expired: %w", op, store.ErrNotFound)
	}
	if p.Data, err = decodeMap[map[string]string](data, "data"); err != nil {
		return nil, fmt.Errorf("sqlstore: %s for connection %q: %w", op, p.ConnectionID, err)
	}
	return &p, nil
}
