package store

import (
	"context"
	"errors"
	"fmt"
)

// maxUpdateAttempts bounds how often UpdateConnection re-reads after losing
// a compare-and-swap race.
const maxUpdateAttempts = 8

// UpdateConnection applies update to the connection with the given id and
// writes it with compare-and-swap, re-reading and applying update again each
// time a concurrent writer wins (up to 8 attempts, then ErrConflict). update
// gets the current record and reports whether it changed anything; when it
// did not, nothing is written. It returns the record as written (or as read,
// when unchanged), and ErrNotFound when there is no such connection.
//
// update may run several times and must only change the record it is given.
func UpdateConnection(ctx context.Context, s Connections, id string, update func(*Connection) bool) (*Connection, error) {
	for range maxUpdateAttempts {
		c, err := s.GetConnectionByID(ctx, id)
		if err != nil {
			return nil, err
		}
		if !update(c) {
			return c, nil
		}
		rev, err := s.PutConnection(ctx, c)
		switch {
		case err == nil:
			c.Revision = rev
			return c, nil
		case !errors.Is(err, ErrConflict):
			return nil, err
		}
	}
	return nil, fmt.Errorf("store: update connection %s: %d writers won in a row: %w", id, maxUpdateAttempts, ErrConflict)
}
