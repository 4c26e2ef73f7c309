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
// # Who may choose the endpoints
//
// A connection's client secret goes, with every code, PKCE verifier and
// refresh token, to its token and revocation URLs, and its authorize URL
// decides where customers sign in. So connkit accepts an endpoint URL only
// from the layer of the connection's resolution (see package template)
// that gives the client secret, or from one below it in precedence:
//
//	type default < template < variable default < instance value
//
// A secret the host set on the instance goes with URLs from any of these
// but the customer's; a secret from a variable default with URLs from type
// defaults, templates and variable defaults; a secret from a template with
// URLs from type defaults and that template; a secret from a type default
// with the type's URLs only. A URL the customer set goes only with a
// client secret the customer set too (the customer's own client); a client
// without secret has nothing to protect. So an integration builder, who
// may be a customer in an embedded designer, cannot point a template's (or
// a host-set) client at a server of their own with a variable default.
// Every flow and token source checks this before it sends anything
// (CONNECT, the callback, refresh, client credentials, revocation) and
// refuses with an error matching [ErrMisconfigured] that names the field
// and both layers; a refused refresh turns the connection red with the
// status reason "refresh failed: configuration refused locally: ...".
// It relies on the [template.Resolution]'s Sources, which
// *template.Manager fills: a [Resolver] of the host's own must fill them
// too (a secret without a recorded source counts as an instance value set
// by the host, a URL without one as a type default). Endpoints built
// directly with [NewEndpoint] are not checked. Tenant-specific hosts
// belong in URL templates in the type's defaults
// ("https://{shop}.myshopify.com/...").
//
// # Endpoint pinning
//
// A token set is bound to the token and revocation URLs of its CONNECT,
// recorded sealed with it: refresh, client credentials renewal and
// revocation send credentials only there, and refuse with an
// [*EndpointChangedError] once the connection's values give another URL,
// until a new CONNECT.
package oauth
