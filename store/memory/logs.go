package memory

import (
	"context"
	"fmt"
	"slices"

	"github.com/connkit/connkit/store"
)

// connLog is one connection's log: entries oldest first, at most the store's
// retention of them (all of them for a negative retention).
type connLog struct {
	lastSeq int64
	entries []store.LogEntry
}

// AppendLog adds a copy of e to its connection's log, assigning Seq and, when
// zero, Time, and drops the oldest entries beyond the retention. An unknown
// connection is an error wrapping store.ErrNotFound.
func (s *Store) AppendLog(ctx context.Context, e *store.LogEntry) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if e == nil {
		return 0, errNilRecord
	}
	if e.ConnectionID == "" {
		return 0, invalid("append log", "connection id")
	}
	entry := e.Clone()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns[e.ConnectionID] == nil {
		return 0, fmt.Errorf("memory: append log of connection %q: %w", e.ConnectionID, store.ErrNotFound)
	}
	l := s.logs[e.ConnectionID]
	if l == nil {
		l = new(connLog)
		s.logs[e.ConnectionID] = l
	}
	l.lastSeq++
	entry.Seq = l.lastSeq
	if entry.Time.IsZero() {
		entry.Time = s.clock()
	}
	l.entries = append(l.entries, entry)
	if drop := len(l.entries) - s.retention; s.retention > 0 && drop > 0 {
		clear(l.entries[:drop]) // let the dropped attrs be collected
		l.entries = l.entries[drop:]
	}
	return entry.Seq, nil
}

// ListLogs returns copies of up to limit entries of one connection, newest
// first, with Seq < before (before <= 0: from the newest).
func (s *Store) ListLogs(ctx context.Context, connectionID string, before int64, limit int) ([]store.LogEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	l := s.logs[connectionID]
	if l == nil || limit <= 0 {
		return nil, nil
	}
	end := len(l.entries)
	if before > 0 {
		end, _ = slices.BinarySearchFunc(l.entries, before, func(e store.LogEntry, seq int64) int {
			return compareInt(e.Seq, seq)
		})
	}
	out := make([]store.LogEntry, 0, min(limit, end))
	for i := end - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, l.entries[i].Clone())
	}
	return out, nil
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
