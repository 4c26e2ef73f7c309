// Package connection is connkit's pure domain: connection types as components
// declare them, the connection config variables integrations bind them to,
// field values, secrets, statuses and validation. It does no I/O and imports no
// other connkit package.
//
// A component author declares a [Type] with [Declare]: its [Field]s, optional
// [OAuth2] settings and the [Auth] method its values authenticate requests
// with. [Type.Relabel] presents an existing type with other labels. An
// integration binds a type to a [Variable], which sets per-field defaults and
// [Visibility] ([Customer], [Embedded], [Hidden]), may reference a template,
// and may name custom OAuth redirect pages.
//
// Values are held in [Values]; sensitive ones in [Secret], which never prints
// (fmt, log/slog, encoding/json, even by reflection). Validation reports every
// problem at once in a *[ValidationError] that matches [ErrInvalid]: for
// values, one [FieldError] per failing field key; for declarations, a key or
// path such as "oauth2.tokenUrl" or "visibility.apiKey". No error ever
// contains a value.
package connection
