package component

import (
	"context"
	"sync"

	"github.com/connkit/connkit/connection"
)

// HealthFunc records a connection's status change: working (green) when ok,
// error (red) with reason otherwise. The host writes it to the store and the
// connection's log. It is called at most once per connection per execution
// for the outcome of HTTP requests.
type HealthFunc func(ctx context.Context, connectionID string, ref connection.Ref, status connection.Status, reason string)

// Execution scopes health reports to one run of a step (or of a flow of
// steps): the first successful authenticated response marks a connection
// working, a 401/403 that survives the retry marks it failed, and of those
// only the first is written, however many requests the step makes. The zero
// Execution reports nothing; create one with [NewExecution]. Safe for
// concurrent use.
type Execution struct {
	report HealthFunc
	mu     sync.Mutex
	done   map[string]connection.Status
}

// NewExecution returns an Execution that reports through fn (nil: nothing is
// reported).
func NewExecution(fn HealthFunc) *Execution {
	return &Execution{report: fn, done: make(map[string]connection.Status)}
}

// observe reports status for the connection unless this execution already
// reported one from an HTTP outcome.
func (e *Execution) observe(ctx context.Context, id string, ref connection.Ref, status connection.Status, reason string) {
	if e == nil || e.report == nil {
		return
	}
	e.mu.Lock()
	if _, ok := e.done[id]; ok {
		e.mu.Unlock()
		return
	}
	e.done[id] = status
	e.mu.Unlock()
	e.report(ctx, id, ref, status, reason)
}

// Fail reports a connection-related failure that the step itself found (see
// [ConnectionError]). It is written unless this execution already marked the
// connection failed.
func (e *Execution) Fail(ctx context.Context, id string, ref connection.Ref, reason string) {
	if e == nil || e.report == nil {
		return
	}
	e.mu.Lock()
	if e.done[id] == connection.StatusError {
		e.mu.Unlock()
		return
	}
	e.done[id] = connection.StatusError
	e.mu.Unlock()
	e.report(ctx, id, ref, connection.StatusError, reason)
}

// Reported returns the status this execution reported for a connection, or
// "" when none.
func (e *Execution) Reported(id string) connection.Status {
	if e == nil {
		return ""
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.done[id]
}
