// Package oauthtest is a fake OAuth 2.0 authorization server for tests.
//
// It implements the parts of the protocol connkit talks to for real, so a
// client that gets something wrong fails against it:
//
//   - the authorization code grant (RFC 6749 section 4.1) with exact
//     redirect URI matching, single-use short-lived codes and PKCE
//     (RFC 7636, S256 and plain);
//   - the client credentials grant (section 4.4) and refresh (section 6),
//     optionally with refresh token rotation and reuse detection that
//     revokes the whole grant, the way strict providers do;
//   - client authentication by HTTP Basic or by form body
//     (client_secret_basic / client_secret_post), checked against the
//     style each registered [Client] expects;
//   - token revocation (RFC 7009) and authorization server metadata
//     (RFC 8414), including the RFC 9207 iss response parameter;
//   - a tiny protected resource, GET /api/me, that accepts a valid Bearer
//     access token and answers 401 with WWW-Authenticate otherwise.
//
// Every behaviour that real providers vary on is a field of [Config]
// (token lifetimes, omitted fields, extra fields, nested responses,
// consent outcome, extra callback parameters such as QuickBooks' realmId),
// and faults can be injected at run time with [Server.FailToken] and
// [Server.FailRevoke]: 5xx and 429 responses with Retry-After, OAuth
// errors such as invalid_grant, and hangs that last until the request's
// context is done or a channel is closed. [Config.Intercept] takes over any
// request entirely.
//
// The server records what it saw so tests can assert on it: calls per
// endpoint and grant type, every authorization and token request (token
// request forms include client secrets and codes: they are for assertions
// only and must never be logged), revocations in order, and refresh token
// reuse detections. [Server.Active] reports whether an access token is
// currently valid.
//
// [New] starts a real loopback server (net/http/httptest). [NewUnstarted]
// listens on nothing: requests are served in memory by [Server.Transport]
// or [Server.Client], which also works inside a testing/synctest bubble.
// Both take their clock from [Config.Now], which defaults to time.Now and
// so follows a bubble's fake clock.
//
// A Server is safe for concurrent use. Hooks are called without the
// server's lock held, so they may call the server's methods.
package oauthtest
