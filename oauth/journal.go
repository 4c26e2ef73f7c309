package oauth

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

// Events written to connection logs by this package.
const (
	EventConnectStarted = "connect_started"
	EventConnected      = "connected"
	EventConnectFailed  = "connect_failed"
	EventRefreshed      = "refreshed"
	EventRefreshFailed  = "refresh_failed"
	EventRecovered      = "recovered"
	EventDisconnected   = "disconnected"
	EventRevoked        = "revoked"
	EventRevokeFailed   = "revoke_failed"
)

// journalTimeout bounds the store write of one connection log entry.
const journalTimeout = 5 * time.Second

// journal writes a connection's log entries to the store and mirrors them to
// the host's logger. Attributes must already be safe: no secrets.
type journal struct {
	logs   store.Logs
	logger *slog.Logger
	now    func() time.Time
}

func newJournal(logs store.Logs, logger *slog.Logger, now func() time.Time) journal {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return journal{logs: logs, logger: logger, now: now}
}

// record appends an entry to the connection's log and logs it. A failure to
// write the log is reported to the logger and otherwise ignored: the log must
// never make a connection fail.
func (j journal) record(ctx context.Context, connID string, ref connection.Ref, level slog.Level, event, msg string, attrs map[string]string) {
	args := make([]any, 0, 2*len(attrs)+6)
	args = append(args, "connection", connID, "ref", ref.String(), "event", event)
	for k, v := range attrs {
		args = append(args, k, v)
	}
	j.logger.Log(ctx, level, msg, args...)
	if j.logs == nil || connID == "" {
		return
	}
	e := &store.LogEntry{ConnectionID: connID, Time: j.now(), Level: level, Event: event, Message: msg, Attrs: attrs}
	// The entry is written even when ctx is done, but never waits long: a
	// hung store must not hold up the refresh or flow that logs.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), journalTimeout)
	defer cancel()
	if _, err := j.logs.AppendLog(wctx, e); err != nil {
		j.logger.Warn("connkit: cannot write connection log", "connection", connID, "event", event, "error", err)
	}
}

// setHealth sets a connection's status with compare-and-swap, re-reading on
// conflict. It does nothing when the status and reason are unchanged.
func setHealth(ctx context.Context, st store.Connections, connID string, status connection.Status, reason string, now time.Time) error {
	_, err := store.UpdateConnection(ctx, st, connID, func(c *store.Connection) bool {
		if c.Health.Status == status && c.Health.Reason == reason {
			return false
		}
		c.Health = connection.Health{Status: status, Reason: reason, Since: now}
		return true
	})
	if err != nil {
		return fmt.Errorf("oauth: set status of connection %s: %w", connID, err)
	}
	return nil
}
