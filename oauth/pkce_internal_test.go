package oauth

import (
	"encoding/base64"
	"net/url"
	"testing"

	"github.com/connkit/connkit/connection"
)

// TestPKCERFC7636AppendixB checks the S256 transformation against the
// example of RFC 7636 Appendix B, both directly and in an authorize URL.
func TestPKCERFC7636AppendixB(t *testing.T) {
	// The 32 octets of the appendix and their base64url encoding.
	octets := []byte{116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186,
		22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121}
	const (
		verifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
		challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	)
	if got := base64.RawURLEncoding.EncodeToString(octets); got != verifier {
		t.Fatalf("verifier encoding = %q, want %q", got, verifier)
	}
	// SHA-256 of the verifier, as listed in the appendix.
	hashed := []byte{19, 211, 30, 150, 26, 26, 216, 236, 47, 22, 177, 12, 76, 152, 46, 8,
		118, 168, 120, 173, 109, 241, 68, 86, 110, 225, 137, 74, 203, 112, 249, 195}
	if got := base64.RawURLEncoding.EncodeToString(hashed); got != challenge {
		t.Fatalf("challenge encoding = %q, want %q", got, challenge)
	}
	if got := s256Challenge(verifier); got != challenge {
		t.Errorf("s256Challenge = %q, want %q", got, challenge)
	}
	typ := connection.MustDeclare(connection.Type{Key: "t", OAuth2: &connection.OAuth2{
		AuthorizeURL: "https://as.example/authorize", TokenURL: "https://as.example/token"}})
	ep, err := NewEndpoint(&typ, connection.ValuesOf(map[string]string{connection.FieldClientID: "c"}), "https://app.example/cb")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(ep.AuthCodeURL("st", verifier))
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); q.Get("code_challenge") != challenge || q.Get("code_challenge_method") != "S256" {
		t.Errorf("authorize URL challenge %q method %q", q.Get("code_challenge"), q.Get("code_challenge_method"))
	}
}

func TestNewVerifier(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		v := newVerifier()
		// RFC 7636 section 4.1: 43 to 128 unreserved characters.
		if len(v) != 43 || !isBase64URL(v) || seen[v] {
			t.Fatalf("verifier %q: wrong shape or repeated", v)
		}
		seen[v] = true
	}
}

func TestPKCEMethodFromMetadata(t *testing.T) {
	for _, tc := range []struct {
		typ       connection.PKCEMethod
		supported []string
		want      connection.PKCEMethod
	}{
		{"", nil, connection.PKCES256},
		{"", []string{"S256"}, connection.PKCES256},
		// Never downgraded to plain (L5): metadata may be a tenant's.
		{"", []string{"plain"}, connection.PKCES256},
		{connection.PKCES256, []string{"plain"}, connection.PKCES256},
		{"", []string{"S256", "plain"}, connection.PKCES256},
		{"", []string{"other"}, connection.PKCES256},
		// Upgraded to S256 when the server supports it (RFC 7636 4.2).
		{connection.PKCEPlain, []string{"S256", "plain"}, connection.PKCES256},
		{connection.PKCEPlain, []string{"plain"}, connection.PKCEPlain},
		{connection.PKCEPlain, nil, connection.PKCEPlain},
		{connection.PKCEOff, []string{"S256"}, connection.PKCEOff},
		{connection.PKCEOff, []string{"plain"}, connection.PKCEOff},
	} {
		o := &connection.OAuth2{PKCE: tc.typ}
		if got := pkceMethod(o, &Metadata{CodeChallengeMethodsSupported: tc.supported}); got != tc.want {
			t.Errorf("pkceMethod(%q, %v) = %q, want %q", tc.typ, tc.supported, got, tc.want)
		}
	}
}
