package keyring_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/keyring"
)

// secret is a plaintext that must never show up in an error.
const secret = "s3cr3t-refresh-token-DO-NOT-LEAK"

func TestSealOpenRoundTrip(t *testing.T) {
	r := newRing(t, testKey(t, 1, 1))
	ad := store.AssociatedData("connection", "conn-1", "access_token")
	for _, tc := range []struct {
		name      string
		plaintext []byte
		ad        []byte
	}{
		{"nil plaintext", nil, ad},
		{"empty plaintext", []byte{}, ad},
		{"one byte", []byte{0}, ad},
		{"token", []byte(secret), ad},
		{"1 KiB", bytes.Repeat([]byte{0xAB}, 1024), ad},
		{"1 MiB", bytes.Repeat([]byte("x"), 1<<20), ad},
		{"nil associated data", []byte(secret), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := seal(t, r, tc.plaintext, tc.ad)
			if got, want := len(env), len(tc.plaintext)+keyring.Overhead; got != want {
				t.Errorf("len(envelope) = %d, want %d", got, want)
			}
			if len(tc.plaintext) >= 8 && bytes.Contains(env, tc.plaintext) {
				t.Error("envelope contains the plaintext")
			}
			got, err := r.Open(env, tc.ad)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if diff := cmp.Diff(tc.plaintext, got, cmpEmptyEqual); diff != "" {
				t.Errorf("Open mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// cmpEmptyEqual treats nil and empty byte slices as equal.
var cmpEmptyEqual = cmp.Comparer(func(a, b []byte) bool { return bytes.Equal(a, b) })

func TestSealUsesFreshNonces(t *testing.T) {
	r := newRing(t, testKey(t, 1, 1))
	seen := make(map[string]bool)
	for range 1000 {
		env := seal(t, r, []byte(secret), nil)
		nonce := string(env[5:17])
		if seen[nonce] {
			t.Fatal("nonce repeated")
		}
		seen[nonce] = true
	}
}

func TestOpenDoesNotModifyEnvelope(t *testing.T) {
	r := newRing(t, testKey(t, 1, 1))
	env := seal(t, r, []byte(secret), nil)
	orig := bytes.Clone(env)
	mustOpen(t, r, env, nil, []byte(secret))
	if _, err := r.Open(env, []byte("other")); err == nil {
		t.Fatal("Open with other associated data succeeded")
	}
	if !bytes.Equal(env, orig) {
		t.Error("Open modified its input")
	}
}

// TestWrongAssociatedData checks that an envelope only opens for the owner
// and field it was sealed for.
func TestWrongAssociatedData(t *testing.T) {
	r := newRing(t, testKey(t, 1, 1))
	env := seal(t, r, []byte(secret), store.AssociatedData("connection", "A", "x"))
	mustOpen(t, r, env, store.AssociatedData("connection", "A", "x"), []byte(secret))
	for _, tc := range []struct {
		name string
		ad   []byte
	}{
		{"other connection", store.AssociatedData("connection", "B", "x")},
		{"other field", store.AssociatedData("connection", "A", "y")},
		{"other owner kind", store.AssociatedData("template", "A", "x")},
		{"parts shifted", store.AssociatedData("connection", "Ax", "")},
		{"nil", nil},
		{"raw bytes", []byte("connectionAx")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Open(env, tc.ad)
			checkOpenError(t, err, keyring.ErrAuthentication, "authentication failed under key id 1")
			if got != nil {
				t.Errorf("Open returned %q with an error", got)
			}
		})
	}
}

func TestOpenUnknownKey(t *testing.T) {
	other := newRing(t, testKey(t, 7, 7))
	env := seal(t, other, []byte(secret), nil)
	r := newRing(t, testKey(t, 1, 1))
	_, err := r.Open(env, nil)
	checkOpenError(t, err, keyring.ErrUnknownKey, "unknown key id 7")
}

// TestOpenCorruptedEveryByte flips each bit of every byte of an envelope in
// turn and checks that Open fails with the error that byte's field calls for.
func TestOpenCorruptedEveryByte(t *testing.T) {
	// Key 0 is what flipping the low bit of key id 1 names.
	r := newRing(t, testKey(t, 1, 1), testKey(t, 0, 2))
	ad := store.AssociatedData("connection", "c", "f")
	env := seal(t, r, []byte(secret), ad)
	for i := range env {
		for _, mask := range []byte{0x01, 0x80, 0xFF} {
			bad := bytes.Clone(env)
			bad[i] ^= mask
			want, wantMsg := keyring.ErrAuthentication, "" // nonce, ciphertext or tag
			switch {
			case i == 0:
				want, wantMsg = keyring.ErrMalformed, "unsupported version"
			case i < 5:
				id, _ := keyring.EnvelopeKeyID(bad)
				if !slices.Contains(r.KeyIDs(), id) {
					want, wantMsg = keyring.ErrUnknownKey, fmt.Sprintf("unknown key id %d ", id)
				} // else the id now names the other key, which does not authenticate
			}
			got, err := r.Open(bad, ad)
			if err == nil {
				t.Fatalf("byte %d ^ %#x: Open succeeded with %q", i, mask, got)
			}
			checkOpenError(t, err, want, wantMsg)
		}
	}
}

// TestOpenTruncatedEveryLength opens every proper prefix of an envelope.
func TestOpenTruncatedEveryLength(t *testing.T) {
	r := newRing(t, testKey(t, 1, 1))
	env := seal(t, r, []byte(secret), nil)
	for n := range len(env) {
		_, err := r.Open(env[:n], nil)
		switch {
		case n < keyring.Overhead:
			checkOpenError(t, err, keyring.ErrMalformed, "truncated")
		default:
			// Long enough to parse; the tag no longer matches.
			checkOpenError(t, err, keyring.ErrAuthentication, "")
		}
	}
	// Extending an envelope fails too.
	_, err := r.Open(append(bytes.Clone(env), 0), nil)
	checkOpenError(t, err, keyring.ErrAuthentication, "")
}

func TestOpenMalformed(t *testing.T) {
	r := newRing(t, testKey(t, 1, 1))
	valid := seal(t, r, []byte(secret), nil)
	v2 := bytes.Clone(valid)
	v2[0] = 2
	for _, tc := range []struct {
		name    string
		in      []byte
		wantMsg string
	}{
		{"nil", nil, "keyring: sealed value does not open: malformed envelope: truncated: empty, want at least 33 bytes"},
		{"short", valid[:10], "keyring: sealed value does not open: malformed envelope: truncated: 10 bytes, want at least 33"},
		{"version 2", v2, "keyring: sealed value does not open: malformed envelope: unsupported version 2, want 1"},
		{"plaintext stored by mistake", []byte(secret), "keyring: sealed value does not open: malformed envelope: unsupported version 115, want 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Open(tc.in, nil)
			checkOpenError(t, err, keyring.ErrMalformed, "")
			if err.Error() != tc.wantMsg {
				t.Errorf("error text = %q, want %q", err, tc.wantMsg)
			}
		})
	}
}

// TestErrorsNeverContainPlaintext provokes every kind of Open error for an
// envelope of a known plaintext and looks for the plaintext in the texts.
func TestErrorsNeverContainPlaintext(t *testing.T) {
	k1 := testKey(t, 1, 1)
	r := newRing(t, k1)
	ad := store.AssociatedData("connection", "c", "password")
	env := seal(t, r, []byte(secret), ad)

	var errs []error
	_, err := r.Open(env, store.AssociatedData("connection", "other", "password"))
	errs = append(errs, err)
	for i := range env {
		bad := bytes.Clone(env)
		bad[i] ^= 0x55
		_, err := r.Open(bad, ad)
		errs = append(errs, err)
		_, err = r.Open(env[:i], ad)
		errs = append(errs, err)
	}
	_, err = newRing(t, testKey(t, 2, 2)).Open(env, ad)
	errs = append(errs, err)
	_, err = r.Open([]byte(secret), ad) // a plaintext stored without sealing
	errs = append(errs, err)
	_, err = r.Reseal(env, nil)
	errs = append(errs, err)

	forbidden := []string{secret, fmt.Sprintf("%x", secret), k1.Base64(), string(materialOf(t, k1))}
	for _, err := range errs {
		if err == nil {
			t.Fatal("an Open that should fail succeeded")
		}
		for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprintf("%v", errors.Unwrap(err))} {
			for _, f := range forbidden {
				if strings.Contains(text, f) {
					t.Errorf("error text %q contains secret %q", text, f)
				}
			}
		}
	}
}

func TestNeedsReseal(t *testing.T) {
	k1, k2 := testKey(t, 1, 1), testKey(t, 2, 2)
	r := newRing(t, k1)
	old := seal(t, r, []byte(secret), nil)
	if r.NeedsReseal(old) {
		t.Error("NeedsReseal(envelope under the primary) = true")
	}
	if err := r.Rotate(k2); err != nil {
		t.Fatal(err)
	}
	if !r.NeedsReseal(old) {
		t.Error("NeedsReseal(envelope under the old primary) = false")
	}
	for _, bad := range [][]byte{nil, {}, {1}, []byte(secret), old[:keyring.Overhead-1]} {
		if !r.NeedsReseal(bad) {
			t.Errorf("NeedsReseal(malformed %q) = false, want true", bad)
		}
	}

	ad := []byte("ad")
	env := seal(t, r, []byte(secret), ad)
	if r.NeedsReseal(env) {
		t.Error("NeedsReseal(new envelope) = true")
	}
}

func TestReseal(t *testing.T) {
	k1, k2 := testKey(t, 1, 1), testKey(t, 2, 2)
	r := newRing(t, k1)
	ad := store.AssociatedData("connection", "c", "token")
	old := seal(t, r, []byte(secret), ad)
	if err := r.Rotate(k2); err != nil {
		t.Fatal(err)
	}
	re, err := r.Reseal(old, ad)
	if err != nil {
		t.Fatalf("Reseal: %v", err)
	}
	if r.NeedsReseal(re) {
		t.Error("NeedsReseal(resealed) = true")
	}
	if id, _ := keyring.EnvelopeKeyID(re); id != 2 {
		t.Errorf("resealed under key %d, want 2", id)
	}
	mustOpen(t, r, re, ad, []byte(secret))
	if _, err := r.Reseal(old, []byte("other")); !errors.Is(err, keyring.ErrAuthentication) {
		t.Errorf("Reseal with other associated data: error = %v, want ErrAuthentication", err)
	}
}

func TestEnvelopeKeyID(t *testing.T) {
	r := newRing(t, testKey(t, 0xDEADBEEF, 1))
	env := seal(t, r, nil, nil)
	id, err := keyring.EnvelopeKeyID(env)
	if err != nil || id != 0xDEADBEEF {
		t.Errorf("EnvelopeKeyID = %#x, %v; want 0xdeadbeef, nil", id, err)
	}
	_, err = keyring.EnvelopeKeyID(env[:3])
	checkOpenError(t, err, keyring.ErrMalformed, "truncated")
}

func TestSealOpenAllocations(t *testing.T) {
	r := newRing(t, testKey(t, 1, 1), testKey(t, 2, 2))
	plaintext := bytes.Repeat([]byte{'t'}, 1024)
	ad := store.AssociatedData("connection", "c", "token")
	env := seal(t, r, plaintext, ad)
	if n := testing.AllocsPerRun(100, func() { _, _ = r.Seal(plaintext, ad) }); n != 1 {
		t.Errorf("Seal allocates %v times, want 1 (the envelope)", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = r.Open(env, ad) }); n != 1 {
		t.Errorf("Open allocates %v times, want 1 (the plaintext)", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = r.NeedsReseal(env) }); n != 0 {
		t.Errorf("NeedsReseal allocates %v times, want 0", n)
	}
}

// checkOpenError checks that err is an Open error wrapping store.ErrSealed
// and reason, and that its text contains wantMsg.
func checkOpenError(t *testing.T, err, reason error, wantMsg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one wrapping %v", reason)
	}
	if !errors.Is(err, store.ErrSealed) {
		t.Errorf("error %q does not wrap store.ErrSealed", err)
	}
	if !errors.Is(err, reason) {
		t.Errorf("error %q does not wrap %q", err, reason)
	}
	for _, other := range []error{keyring.ErrUnknownKey, keyring.ErrMalformed, keyring.ErrAuthentication} {
		if other != reason && errors.Is(err, other) {
			t.Errorf("error %q wraps %q as well as %q", err, other, reason)
		}
	}
	if !strings.HasPrefix(err.Error(), "keyring: sealed value does not open: ") {
		t.Errorf("error %q lacks the Open prefix", err)
	}
	if !strings.Contains(err.Error(), wantMsg) {
		t.Errorf("error %q does not contain %q", err, wantMsg)
	}
}
