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

// pkceMethod returns the method a CONNECT uses: the type's, never weakened
// by metadata. S256 stays S256 even when the metadata lists only plain
// (RFC 9700 section 2.1.1 asks for S256, servers ignore parameters they do
// not support, and discovered metadata may be influenced by a tenant), and a
// type declaring plain gets S256 when the metadata lists S256 (RFC 7636
// section 4.2: a client able to use S256 must use it). PKCEOff stays off.
// Without metadata the type's choice stands.
func pkceMethod(o *connection.OAuth2, md *Metadata) connection.PKCEMethod {
	m := o.PKCEOrDefault()
	if m == connection.PKCEPlain && md != nil && slices.Contains(md.CodeChallengeMethodsSupported, string(connection.PKCES256)) {
		return connection.PKCES256
	}
	return m
}
