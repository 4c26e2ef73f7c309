// Package component is the step-facing SDK: what a component author uses to
// declare components and actions, and what a step receives when it runs.
//
// A step asks its [Context] for a connection and gets a [Conn]: the resolved
// field values (secrets as connection.Secret), the OAuth 2.0 token and its
// metadata, and an *http.Client that authenticates by the type's declared
// method, refreshes tokens, retries idempotent requests and reports the
// connection's health by itself. Component authors never write auth
// plumbing.
package component
