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
	// Status is the current status.
	Status Status `json:"status"`
	// Reason says why, for StatusError (for example "refresh failed:
	// invalid_grant"); it never holds a secret.
	Reason string `json:"reason,omitempty"`
	// Since is when Status last changed.
	Since time.Time `json:"since,omitzero"`
}

// Source says where a resolved value came from.
type Source string

// The sources, from lowest to highest precedence.
const (
	// SourceNone: no layer gave a value.
	SourceNone Source = ""
	// SourceTypeDefault: the field's default in the type declaration.
	SourceTypeDefault Source = "type-default"
	// SourceTemplate: the connection template the variable references.
	SourceTemplate Source = "template"
	// SourceVariableDefault: the variable's default for the field.
	SourceVariableDefault Source = "variable-default"
	// SourceCustomer: an instance value the customer entered.
	SourceCustomer Source = "customer"
	// SourceHost: an instance value the host application set
	// programmatically (for example for an Embedded field).
	SourceHost Source = "host"
)

// Instance identifies one customer's deployment of an integration version:
// the identities the OAuth 2.0 custom redirects report and that logs name.
type Instance struct {
	// ID is the instance id (the instanceId redirect parameter).
	ID string `json:"instanceId" yaml:"instanceId"`
	// Name is the instance's display name (instanceName).
	Name string `json:"instanceName" yaml:"instanceName"`
	// IntegrationID is the deployed integration's id (integrationId).
	IntegrationID string `json:"integrationId" yaml:"integrationId"`
	// IntegrationName is its display name (integrationName).
	IntegrationName string `json:"integrationName" yaml:"integrationName"`
	// IntegrationVersion is the published version the instance runs.
	IntegrationVersion int `json:"integrationVersion" yaml:"integrationVersion"`
}
