package connection

import (
	"errors"
	"time"
)

// Ref addresses one connection: an instance-level variable of an instance, or
// a user-level variable of an instance for one user.
type Ref struct {
	// InstanceID is the customer's deployed instance.
	InstanceID string `json:"instanceId"`
	// Variable is the connection config variable's key.
	Variable string `json:"variable"`
	// User is the user id for user-level variables, "" otherwise.
	User string `json:"user,omitempty"`
}

// Validate reports whether the ref names a connection.
func (r Ref) Validate() error {
	if r.InstanceID == "" || r.Variable == "" {
		return ErrBadRef
	}
	return nil
}

// String returns a readable form for logs: instance/variable or
// instance/variable@user.
func (r Ref) String() string {
	s := r.InstanceID + "/" + r.Variable
	if r.User != "" {
		s += "@" + r.User
	}
	return s
}

// ErrBadRef is returned for a Ref without instance id or variable key.
var ErrBadRef = errors.New("connection: ref needs an instance id and a variable key")

// Status is the health of a connection as shown to people.
type Status string

// The statuses. The zero value means the connection has no values yet.
const (
	// StatusConfigured (yellow): configured or connected, not yet used.
	StatusConfigured Status = "configured"
	// StatusWorking (green): used successfully in an execution.
	StatusWorking Status = "working"
	// StatusError (red): a connection-related error (bad credentials, refresh
	// failed, revoked); Health.Reason says which.
	StatusError Status = "error"
)

// Color returns "yellow", "green" or "red", or "" for the zero status.
func (s Status) Color() string {
	switch s {
	case StatusConfigured:
		return "yellow"
	case StatusWorking:
		return "green"
	case StatusError:
		return "red"
	}
	return ""
}

// Health is a connection's status with the reason and time of its last change.
type Health struct {
	Status Status    `json:"status"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since,omitzero"`
}

// Source says where a resolved value came from.
type Source string

// The sources, from lowest to highest precedence.
const (
	SourceNone            Source = ""
	SourceTypeDefault     Source = "type-default"
	SourceTemplate        Source = "template"
	SourceVariableDefault Source = "variable-default"
	SourceCustomer        Source = "customer"
	SourceHost            Source = "host"
)

// Instance identifies one customer's deployment of an integration version:
// the identities the OAuth 2.0 custom redirects report and that logs name.
type Instance struct {
	ID                 string `json:"instanceId" yaml:"instanceId"`
	Name               string `json:"instanceName" yaml:"instanceName"`
	IntegrationID      string `json:"integrationId" yaml:"integrationId"`
	IntegrationName    string `json:"integrationName" yaml:"integrationName"`
	IntegrationVersion int    `json:"integrationVersion" yaml:"integrationVersion"`
}
