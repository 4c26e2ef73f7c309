// Package connkit is an embeddable Go library for the connections of an
// integration platform: the credentials and endpoints a step needs to reach a
// third-party service, and the OAuth 2.0 machinery that obtains them and keeps
// them fresh.
//
// # Connections
//
// A component declares a connection type: the fields a connection has (a
// host, a user name, an API key, a client id and secret, an API version),
// their labels, kinds and validation rules, optional OAuth 2.0 settings
// (authorize, token and revoke URLs, scopes, PKCE, grant type) and how the
// values authenticate an HTTP request. An integration binds a type to a
// connection config variable, which many of its steps share; per field the
// variable sets a default and a visibility (customer, embedded or hidden),
// and it may reference a connection template of pre-filled values. When a
// customer deploys the integration as an instance, the instance holds the
// customer's values for every variable (and for a user-level variable, one
// set per user). A connection is one such set of values, addressed by
// instance and variable (and user), with a status (yellow: configured; green:
// used successfully; red: a connection error) and an append-only, redacted
// log.
//
// The effective values of a connection are resolved in layers, each value
// knowing where it came from: type defaults, then the template, then the
// variable's defaults, then the instance's values. Secrets are sealed with
// AES-256-GCM before they reach any store, never appear in logs, errors or
// views, and print as a redaction marker.
//
// # Audiences
//
// connkit is written for three readers:
//
//   - Component authors declare connection types and write steps that call a
//     third-party API with an *http.Client that authenticates itself,
//     refreshes OAuth 2.0 tokens and reports the connection's health. They
//     never write auth plumbing.
//   - Code components, small pieces of user code inside an integration, read
//     a connection's resolved values through typed getters.
//   - Host applications embed connkit: they plug in storage (or use the
//     ready-made SQLite and PostgreSQL stores), mount its HTTP handlers for
//     the OAuth 2.0 CONNECT and callback, and run integrations for many
//     customers (tenants), on one or many replicas sharing one database.
//
// # Packages
//
// Imports point down this list only:
//
//   - examples: runnable programs; examples/declare declares a type and a
//     variable, prints the customer-facing form and a validation error.
//   - connkit (this package): the thin composition root a host application
//     configures once to wire the parts below.
//   - component: the step-facing SDK: components, actions, and the
//     connection handle a step receives (fields, token, *http.Client).
//   - oauth: authorize URL with state and PKCE, the callback handler, code
//     exchange, deduplicated refresh across goroutines and replicas,
//     revocation, the client credentials grant.
//   - template: connection templates and their publication lock, resolution
//     with provenance, and the views each audience may see.
//   - store: the storage contract (connections, tokens, templates, pending
//     authorizations, logs, refresh leases) and the Sealer interface;
//     store/memory (in memory, for tests and single processes),
//     store/sqlstore (SQLite and PostgreSQL), store/keyring (the AES-256-GCM
//     Sealer with key rotation) and store/storetest (the conformance suite
//     every implementation runs).
//   - connection: the pure domain, without I/O: Type, Field, Variable,
//     Visibility, Values, Secret, Status and validation that reports every
//     problem at once.
package connkit
