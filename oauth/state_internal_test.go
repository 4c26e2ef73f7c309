package oauth

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/connkit/connkit/store/keyring"
)

func newTestKeyring(t *testing.T) *keyring.Keyring {
	t.Helper()
	k, err := keyring.GenerateKey(7)
	if err != nil {
		t.Fatal(err)
	}
	r, err := keyring.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestStateRoundTrip(t *testing.T) {
	kr := newTestKeyring(t)
	s1, err := newState(kr, "conn-1")
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := newState(kr, "conn-1")
	if s1 == s2 {
		t.Fatal("two states are equal")
	}
	if !wellFormedState(s1) || len(strings.SplitN(s1, ".", 2)[0]) != 43 {
		t.Errorf("state %q is not well formed", s1)
	}
	if strings.Contains(s1, "conn-1") {
		t.Error("state shows the connection id")
	}
	if got := stateConnection(kr, s1); got != "conn-1" {
		t.Errorf("stateConnection = %q", got)
	}
	sum := sha256.Sum256([]byte(s1))
	if hashState(s1) != hex.EncodeToString(sum[:]) {
		t.Error("hashState is not the hex SHA-256")
	}
	// The sealed part is bound to the random part: swapping random parts
	// between states, or using another key, opens nothing.
	r1, e1, _ := strings.Cut(s1, ".")
	r2, e2, _ := strings.Cut(s2, ".")
	for _, forged := range []string{r1 + "." + e2, r2 + "." + e1, r1 + ".QUJD", "x." + e1} {
		if got := stateConnection(kr, forged); got != "" {
			t.Errorf("forged state %q opens to %q", forged, got)
		}
	}
	if got := stateConnection(newTestKeyring(t), s1); got != "" {
		t.Errorf("state opens under another key: %q", got)
	}
}

func TestWellFormedState(t *testing.T) {
	r := strings.Repeat("a", 43)
	for s, want := range map[string]bool{
		r + ".abc":                          true,
		r:                                   false,
		r + ".":                             false,
		strings.Repeat("a", 42) + ".x":      false,
		r + ".a+b":                          false,
		r + ".a.b":                          false,
		r + "." + strings.Repeat("a", 2000): false,
		"":                                  false,
	} {
		if got := wellFormedState(s); got != want {
			t.Errorf("wellFormedState(%.60q) = %v, want %v", s, got, want)
		}
	}
}
