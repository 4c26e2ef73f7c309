package component

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrNoConnection: the step asked for a connection or config variable
	// it is not bound to.
	ErrNoConnection = errors.New("component: no such connection")
	// ErrNoValue: a field the step asked for has no value.
	ErrNoValue = errors.New("component: field has no value")
	// ErrNotConnected: the OAuth 2.0 connection holds no token (never
	// connected, or disconnected).
	ErrNotConnected = errors.New("component: connection is not connected")
)

// ConnError marks an error as connection-related: the runner sets the
// connection's status to error (red) with its message as the reason. Build
// one with [ConnectionError].
type ConnError struct {
	// ConnectionID is the stable id of the connection at fault.
	ConnectionID string
	// Variable is the connection config variable's key.
	Variable string
	// Err is the cause.
	Err error
}

// Error names the variable and the cause.
func (e *ConnError) Error() string {
	return fmt.Sprintf("component: connection %q: %v", e.Variable, e.Err)
}

// Unwrap returns the cause.
func (e *ConnError) Unwrap() error { return e.Err }

// ConnectionError wraps err as a connection-related error of c, for a step
// that finds out that its connection is at fault (for example an API that
// answers 200 with "invalid credentials" in the body). A nil err returns nil.
func ConnectionError(c *Conn, err error) error {
	if err == nil {
		return nil
	}
	return &ConnError{ConnectionID: c.ID(), Variable: c.Ref().Variable, Err: err}
}
