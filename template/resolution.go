package template

import (
	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

// Resolution is the effective configuration of one connection: its values
// after precedence, where each came from, and the identities around it.
type Resolution struct {
	// Ref is the connection's address.
	Ref connection.Ref
	// Instance is the instance the connection belongs to.
	Instance connection.Instance
	// Variable is a copy of the connection config variable; it includes the
	// declared Type.
	Variable connection.Variable
	// Template is the id of the template the variable references, or "".
	Template string
	// ConnectionID is the stored connection's stable id; "" when no record
	// exists yet.
	ConnectionID string
	// Revision is the stored connection record's revision, 0 if none.
	Revision int64
	// Health is the stored connection's health (zero when none).
	Health connection.Health
	// Metadata is the stored connection's non-secret provider data (such
	// as instance_url or realmId), nil when none.
	Metadata map[string]string
	// Token is the stored connection's sealed OAuth 2.0 token set, nil when
	// not connected. It is as the store returned it, still sealed: token
	// sources use it to notice a CONNECT or DISCONNECT made elsewhere
	// without reading the store again.
	Token *store.Token
	// Values are the effective values. Secrets are opened: their plaintext
	// is held in connection.Values, which never prints a value.
	Values connection.Values
	// Sources says, for every key in Values, which layer its value came
	// from.
	Sources map[string]connection.Source
}

// Validate checks Values against the variable's type: every required field
// has a value (reported by key and label) and every value satisfies its
// field's kind and rule. Every problem is reported at once in a
// *[connection.ValidationError], which never holds a value.
func (r *Resolution) Validate() error { return r.Variable.Type.ValidateValues(r.Values) }
