package template

import (
	"errors"

	"github.com/connkit/connkit/store"
)

// The errors of this package, matched with errors.Is.
var (
	// ErrTemplateLocked is returned when a template referenced by a
	// published integration version is updated or deleted. It is the same
	// value as [store.ErrTemplateLocked], so errors.Is matches either.
	ErrTemplateLocked = store.ErrTemplateLocked
	// ErrNotFound is returned when an instance, template or other record
	// does not exist. It is the same value as [store.ErrNotFound].
	ErrNotFound = store.ErrNotFound
	// ErrUnknownIntegration: no integration with that id and version is
	// registered with the Manager.
	ErrUnknownIntegration = errors.New("template: integration version not registered")
	// ErrUnknownVariable: the instance's integration version has no
	// connection config variable with that key. Errors wrapping it also
	// wrap [ErrNotFound], so code that only checks for "not found" works.
	ErrUnknownVariable = errors.New("template: unknown connection config variable")
	// ErrDuplicateIntegration: an integration with the same id and version
	// is already registered.
	ErrDuplicateIntegration = errors.New("template: integration version already registered")
	// ErrLevel: the ref does not match the variable's level (a user-level
	// variable needs a user, an instance-level one must not have one).
	// Errors wrapping it also wrap [connection.ErrBadRef].
	ErrLevel = errors.New("template: ref does not match the variable's level")
	// ErrAudience: the audience may not set values (only AudienceCustomer
	// and AudienceHost may).
	ErrAudience = errors.New("template: audience may not set values")
	// ErrNoSealer: a secret value had to be sealed or opened but the
	// Manager was made without a Sealer.
	ErrNoSealer = errors.New("template: no sealer configured for secret values")
)
