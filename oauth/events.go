package oauth

import (
	"sync"
	"time"

	"github.com/connkit/connkit/connection"
)

// EventKind says what happened to a connection's token set.
type EventKind int

// The kinds of [Event].
const (
	// Refreshed: a new token set was obtained from the provider (by the
	// refresh token grant, or the client credentials grant for such types)
	// and stored, or kept in memory while its write to the store is retried.
	Refreshed EventKind = iota + 1
	// RefreshFailed: an attempt to obtain a new token set failed. Event.Err
	// says why: a *TokenError (provider refused or unavailable) or a store
	// error. Temporary failures are retried after a cooldown; each failed
	// attempt emits one event.
	RefreshFailed
	// Recovered: a refresh succeeded after one or more failures.
	Recovered
	// Disconnected: the provider refused the refresh token (invalid_grant),
	// so the connection no longer works until the customer connects it
	// again. It is emitted once, after the RefreshFailed event of that
	// attempt; the connection's status is red and it is no longer
	// scheduled for refresh.
	Disconnected
)

// String returns the kind's name, such as "refreshed".
func (k EventKind) String() string {
	switch k {
	case Refreshed:
		return "refreshed"
	case RefreshFailed:
		return "refresh_failed"
	case Recovered:
		return "recovered"
	case Disconnected:
		return "disconnected"
	}
	return "unknown"
}

// Event tells a host application what happened to one connection's tokens,
// through [TokensConfig.Events]. It never holds a secret.
type Event struct {
	// Kind is what happened.
	Kind EventKind
	// ConnectionID is the connection's stable opaque id.
	ConnectionID string
	// Ref is the connection's address.
	Ref connection.Ref
	// Reason is a short human-readable explanation, such as
	// "invalid_grant: the customer must reconnect"; it may include the
	// provider's error description, never a token.
	Reason string
	// Err is the failure for RefreshFailed and Disconnected (match it with
	// errors.Is against ErrReconnect, ErrMisconfigured, or errors.As with
	// *TokenError), nil otherwise.
	Err error
	// At is when it happened, by the Tokens' clock.
	At time.Time
}

// eventQueueLen bounds the events waiting for the host's hook.
const eventQueueLen = 1024

// eventQueue hands events to the host's hook, in order, from one goroutine
// (started with the first event), so that a slow or blocked hook never holds
// up a refresh: while the queue is full, events are dropped and logged.
type eventQueue struct {
	hook    func(Event)
	mu      sync.Mutex
	ch      chan Event
	started bool
	closed  bool
	done    chan struct{} // closed when every queued event was delivered after close
}

func (q *eventQueue) init(hook func(Event)) {
	q.hook = hook
	q.done = make(chan struct{})
	if hook != nil {
		q.ch = make(chan Event, eventQueueLen)
	}
}

// close ends the queue once nothing emits any more: the delivering
// goroutine returns after the last queued event.
func (q *eventQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.closed = true
	if q.started {
		close(q.ch)
	} else {
		close(q.done)
	}
}

// emit queues an event for the host's hook, if any. It never blocks.
func (t *Tokens) emit(e Event) {
	q := &t.evq
	if q.hook == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		t.logger.Warn("connkit: event after the token sources closed; not delivered", "kind", e.Kind.String(), "connection", e.ConnectionID)
		return
	}
	if !q.started {
		q.started = true
		go q.deliver()
	}
	select {
	case q.ch <- e:
	default:
		t.logger.Warn("connkit: the Events hook is too slow; an event was dropped", "kind", e.Kind.String(), "connection", e.ConnectionID)
	}
}

func (q *eventQueue) deliver() {
	defer close(q.done)
	for e := range q.ch {
		q.hook(e)
	}
}
