// Package oauth is connkit's OAuth 2.0 machinery, built on
// golang.org/x/oauth2 and following RFC 9700 (the OAuth 2.0 Security BCP) as a
// client: CONNECT (an authorize URL with state and PKCE), the callback handler
// that exchanges the code, refresh that never loses a rotated refresh token
// across goroutines and host replicas, DISCONNECT with RFC 7009 revocation,
// and the client credentials grant.
//
// Tokens are sealed with a store.Sealer before they reach the store; they are
// held in memory as [Token], whose secrets never print.
//
// A token set is bound to the token and revocation URLs of its CONNECT,
// recorded sealed with it: refresh, client credentials renewal and
// revocation send credentials only there, and refuse with an
// [*EndpointChangedError] once the connection's values give another URL,
// until a new CONNECT.
package oauth
