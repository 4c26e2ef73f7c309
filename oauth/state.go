package oauth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/connkit/connkit/store"
)

// The state parameter binds a callback to the authorization request CONNECT
// started (RFC 6749 section 10.12, RFC 9700 section 4.7). It has two parts
// joined by a dot:
//
//   - 256 random bits (43 base64url characters): what makes it unguessable;
//   - the connection's id, sealed with the flow's Sealer and bound to the
//     random part, so a callback whose pending authorization is gone
//     (expired, replayed) can still be written to the right connection's
//     log, while a forged state opens to nothing. The provider never learns
//     the connection's id.
//
// Only the SHA-256 of the whole state is stored (store.PendingAuth.StateHash).

const (
	stateRandomBytes = 32
	stateRandomLen   = 43 // base64url without padding of 32 bytes
	maxStateLen      = 1024
)

// newState returns a fresh state bound to connID.
func newState(s store.Sealer, connID string) (string, error) {
	var b [stateRandomBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	r := base64.RawURLEncoding.EncodeToString(b[:])
	env, err := s.Seal([]byte(connID), stateAD(r))
	if err != nil {
		return "", fmt.Errorf("oauth: seal state: %w", err)
	}
	return r + "." + base64.RawURLEncoding.EncodeToString(env), nil
}

func stateAD(random string) []byte { return store.AssociatedData("state", random, "connection") }

// hashState returns the hex SHA-256 of state, the key of its pending
// authorization.
func hashState(state string) string {
	h := sha256.Sum256([]byte(state))
	return hex.EncodeToString(h[:])
}

// wellFormedState reports whether state has the shape newState makes. It is
// checked before any store access.
func wellFormedState(state string) bool {
	if len(state) > maxStateLen {
		return false
	}
	r, env, ok := strings.Cut(state, ".")
	if !ok || len(r) != stateRandomLen || env == "" {
		return false
	}
	return isBase64URL(r) && isBase64URL(env)
}

// stateConnection opens the connection id sealed in a well-formed state, or
// returns "" when it does not open (a forged or foreign state).
func stateConnection(s store.Sealer, state string) string {
	r, env, ok := strings.Cut(state, ".")
	if !ok {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(env)
	if err != nil {
		return ""
	}
	id, err := s.Open(b, stateAD(r))
	if err != nil {
		return ""
	}
	return string(id)
}

func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
