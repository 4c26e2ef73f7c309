package keyring_test

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/connkit/connkit/store/keyring"
)

// testKey returns a key with the given id and material derived from seed, so
// that tests get distinct, reproducible keys.
func testKey(t testing.TB, id uint32, seed byte) keyring.Key {
	t.Helper()
	material := make([]byte, keyring.KeySize)
	for i := range material {
		material[i] = seed ^ byte(i*7)
	}
	k, err := keyring.NewKey(id, material)
	if err != nil {
		t.Fatalf("NewKey(%d): %v", id, err)
	}
	return k
}

// newRing returns a keyring of the given keys, the first one primary.
func newRing(t testing.TB, primary keyring.Key, older ...keyring.Key) *keyring.Keyring {
	t.Helper()
	r, err := keyring.New(primary, older...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

// seal seals plaintext or fails the test.
func seal(t testing.TB, r *keyring.Keyring, plaintext, ad []byte) []byte {
	t.Helper()
	env, err := r.Seal(plaintext, ad)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return env
}

// mustOpen opens env and checks that it holds want.
func mustOpen(t testing.TB, r *keyring.Keyring, env, ad, want []byte) {
	t.Helper()
	got, err := r.Open(env, ad)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Open = %q, want %q", got, want)
	}
}

// materialOf returns k's key material.
func materialOf(t testing.TB, k keyring.Key) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(k.Base64())
	if err != nil {
		t.Fatal(err)
	}
	return b
}
