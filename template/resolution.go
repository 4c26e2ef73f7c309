package template

import "github.com/connkit/connkit/connection"

// Resolution is one connection's effective values: type defaults < template
// values < variable defaults < instance values, each with its source.
// (Written by the lead so package oauth compiles; the template engineer owns
// this file and may extend it.)
type Resolution struct {
	Ref          connection.Ref
	Instance     connection.Instance
	Variable     connection.Variable // includes the declared Type
	ConnectionID string              // "" when no record exists yet
	Revision     int64               // of the stored connection record, 0 if none
	Values       connection.Values   // effective values; secrets opened
	Sources      map[string]connection.Source
}

// Validate checks the effective values against the variable's type.
func (r *Resolution) Validate() error { return r.Variable.Type.ValidateValues(r.Values) }
