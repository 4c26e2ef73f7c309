package oauth

import (
	"slices"

	"golang.org/x/oauth2"

	"github.com/connkit/connkit/connection"
)

// PKCE (RFC 7636): every CONNECT of a type whose PKCE setting is not
// PKCEOff sends a code challenge derived from a fresh 256-bit verifier, S256
// unless the type says plain; the verifier is kept sealed in the pending
// authorization and sent with the code exchange.

// newVerifier returns a fresh code verifier: 32 random bytes, base64url
// (43 characters), as RFC 7636 section 4.1 recommends.
func newVerifier() string { return oauth2.GenerateVerifier() }

// s256Challenge returns BASE64URL(SHA256(verifier)), the S256 code
// challenge of RFC 7636 section 4.2.
func s256Challenge(verifier string) string { return oauth2.S256ChallengeFromVerifier(verifier) }

// pkceMethod returns the method a CONNECT uses: the type's, adjusted to
// what the provider's metadata says it supports. A provider announcing only
// plain gets plain (better than nothing); one announcing methods but
// neither S256 nor plain gets the type's choice (servers ignore parameters
// they do not understand). Without metadata the type's choice stands.
func pkceMethod(o *connection.OAuth2, md *Metadata) connection.PKCEMethod {
	m := o.PKCEOrDefault()
	if m == connection.PKCEOff || md == nil || len(md.CodeChallengeMethodsSupported) == 0 {
		return m
	}
	supported := md.CodeChallengeMethodsSupported
	if slices.Contains(supported, string(m)) {
		return m
	}
	if m == connection.PKCES256 && slices.Contains(supported, string(connection.PKCEPlain)) {
		return connection.PKCEPlain
	}
	return m
}
