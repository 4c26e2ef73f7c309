package keyring_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/keyring"
)

// fuzzRing returns the keyring FuzzOpen uses: primary key 2, older key 1,
// both with fixed material, so the committed seed corpus (in
// testdata/fuzz/FuzzOpen, made with these keys) holds envelopes that open.
func fuzzRing(t testing.TB) *keyring.Keyring {
	return newRing(t, testKey(t, 2, 2), testKey(t, 1, 1))
}

// FuzzOpen feeds arbitrary envelopes and associated data to Open. Open must
// never panic; its errors must wrap store.ErrSealed and exactly one reason;
// what it does open must re-seal and open to the same plaintext.
func FuzzOpen(f *testing.F) {
	r := fuzzRing(f)
	ad := store.AssociatedData("connection", "conn-1", "refresh_token")
	old := newRing(f, testKey(f, 1, 1))
	f.Add(seal(f, r, []byte("refresh-token"), ad), ad)
	f.Add(seal(f, old, []byte("sealed under the older key"), ad), ad)
	f.Add(seal(f, r, nil, nil), []byte(nil))
	f.Add(seal(f, newRing(f, testKey(f, 9, 9)), []byte("unknown key"), ad), ad)
	f.Add([]byte{}, []byte{})
	f.Add([]byte{1, 0, 0, 0, 2}, ad)

	f.Fuzz(func(t *testing.T, env, ad []byte) {
		orig := bytes.Clone(env)
		needsReseal := r.NeedsReseal(env)
		plaintext, err := r.Open(env, ad)
		if !bytes.Equal(env, orig) {
			t.Fatal("Open modified its input")
		}
		if err != nil {
			if plaintext != nil {
				t.Fatal("Open returned a plaintext with an error")
			}
			if !errors.Is(err, store.ErrSealed) {
				t.Fatalf("Open error %q does not wrap store.ErrSealed", err)
			}
			reasons := 0
			for _, reason := range []error{keyring.ErrUnknownKey, keyring.ErrMalformed, keyring.ErrAuthentication} {
				if errors.Is(err, reason) {
					reasons++
				}
			}
			if reasons != 1 {
				t.Fatalf("Open error %q wraps %d reasons, want 1", err, reasons)
			}
			if !strings.HasPrefix(err.Error(), "keyring: sealed value does not open: ") {
				t.Fatalf("Open error %q lacks its prefix", err)
			}
			return
		}
		if got, want := len(env), len(plaintext)+keyring.Overhead; got != want {
			t.Fatalf("opened an envelope of %d bytes into %d bytes of plaintext", got, len(plaintext))
		}
		id, err := keyring.EnvelopeKeyID(env)
		if err != nil {
			t.Fatalf("EnvelopeKeyID of an envelope that opened: %v", err)
		}
		if needsReseal != (id != r.PrimaryID()) {
			t.Fatalf("NeedsReseal = %v for key id %d, primary %d", needsReseal, id, r.PrimaryID())
		}
		re, err := r.Reseal(env, ad)
		if err != nil {
			t.Fatalf("Reseal of an envelope that opened: %v", err)
		}
		if r.NeedsReseal(re) {
			t.Fatal("NeedsReseal(Reseal(env)) = true")
		}
		back, err := r.Open(re, ad)
		if err != nil || !bytes.Equal(back, plaintext) {
			t.Fatalf("Open(Reseal(env)) = %q, %v; want %q", back, err, plaintext)
		}
	})
}
