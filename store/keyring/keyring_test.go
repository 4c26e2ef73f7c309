package keyring_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/keyring"
)

func TestNew(t *testing.T) {
	k1, k2, k3 := testKey(t, 1, 1), testKey(t, 2, 2), testKey(t, 3, 3)
	r := newRing(t, k3, k2, k1)
	if got := r.PrimaryID(); got != 3 {
		t.Errorf("PrimaryID() = %d, want 3", got)
	}
	if diff := cmp.Diff([]uint32{3, 2, 1}, r.KeyIDs()); diff != "" {
		t.Errorf("KeyIDs mismatch (-want +got):\n%s", diff)
	}
}

func TestNewErrors(t *testing.T) {
	k1, k2 := testKey(t, 1, 1), testKey(t, 2, 2)
	sameMaterialAsK1, err := keyring.NewKey(9, materialOf(t, k1))
	if err != nil {
		t.Fatal(err)
	}
	otherMaterialID1 := testKey(t, 1, 0x77)
	for _, tc := range []struct {
		name    string
		primary keyring.Key
		older   []keyring.Key
		want    error
		wantMsg string
	}{
		{"zero primary", keyring.Key{}, nil, keyring.ErrKeySize, "key 0 has 0 bytes"},
		{"zero older", k1, []keyring.Key{{}}, keyring.ErrKeySize, "key 0 has 0 bytes"},
		{"same key twice", k1, []keyring.Key{k1}, keyring.ErrDuplicateKey, "id 1 is used twice"},
		{"duplicate id", k1, []keyring.Key{k2, otherMaterialID1}, keyring.ErrDuplicateKey, "id 1 is used twice"},
		{"duplicate material", k1, []keyring.Key{sameMaterialAsK1}, keyring.ErrDuplicateKey, "keys 1 and 9 have the same material"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := keyring.New(tc.primary, tc.older...)
			if !errors.Is(err, tc.want) {
				t.Fatalf("New error = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not say %q", err, tc.wantMsg)
			}
			if r != nil {
				t.Error("New returned a keyring with an error")
			}
		})
	}
}

func TestRotate(t *testing.T) {
	k1, k2, k3 := testKey(t, 1, 1), testKey(t, 2, 2), testKey(t, 3, 3)
	r := newRing(t, k1)
	ad := store.AssociatedData("connection", "c1", "password")
	old := seal(t, r, []byte("hunter2"), ad)

	if err := r.Rotate(k2); err != nil {
		t.Fatalf("Rotate(k2): %v", err)
	}
	if err := r.Rotate(k3); err != nil {
		t.Fatalf("Rotate(k3): %v", err)
	}
	if diff := cmp.Diff([]uint32{3, 2, 1}, r.KeyIDs()); diff != "" {
		t.Errorf("KeyIDs after two rotations (-want +got):\n%s", diff)
	}
	mustOpen(t, r, old, ad, []byte("hunter2"))
	fresh := seal(t, r, []byte("hunter2"), ad)
	if id, err := keyring.EnvelopeKeyID(fresh); err != nil || id != 3 {
		t.Errorf("EnvelopeKeyID(new envelope) = %d, %v; want 3, nil", id, err)
	}

	// Rotating to the current primary changes nothing.
	if err := r.Rotate(k3); err != nil {
		t.Fatalf("Rotate(current primary): %v", err)
	}
	if diff := cmp.Diff([]uint32{3, 2, 1}, r.KeyIDs()); diff != "" {
		t.Errorf("KeyIDs after no-op rotation (-want +got):\n%s", diff)
	}

	// Rotating back to an older key promotes it.
	if err := r.Rotate(k1); err != nil {
		t.Fatalf("Rotate(k1): %v", err)
	}
	if diff := cmp.Diff([]uint32{1, 3, 2}, r.KeyIDs()); diff != "" {
		t.Errorf("KeyIDs after promoting k1 (-want +got):\n%s", diff)
	}
}

func TestRotateErrors(t *testing.T) {
	k1, k2 := testKey(t, 1, 1), testKey(t, 2, 2)
	sameIDOtherMaterial := testKey(t, 2, 0x99)
	sameMaterialOtherID, err := keyring.NewKey(5, materialOf(t, k1))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		key  keyring.Key
		want error
	}{
		{"zero key", keyring.Key{}, keyring.ErrKeySize},
		{"id of an older key, other material", sameIDOtherMaterial, keyring.ErrDuplicateKey},
		{"material of the primary, other id", sameMaterialOtherID, keyring.ErrDuplicateKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRing(t, k1, k2)
			if err := r.Rotate(tc.key); !errors.Is(err, tc.want) {
				t.Fatalf("Rotate error = %v, want %v", err, tc.want)
			}
			if diff := cmp.Diff([]uint32{1, 2}, r.KeyIDs()); diff != "" {
				t.Errorf("a failed Rotate changed the ring (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAddThenPromote(t *testing.T) {
	k1, k2 := testKey(t, 1, 1), testKey(t, 2, 2)
	ad := store.AssociatedData("connection", "c1", "token")

	// Replica B already runs with k2 primary; replica A is given k2 as a
	// decrypt-only key first, so it opens B's envelopes before switching.
	a := newRing(t, k1)
	b := newRing(t, k2, k1)
	fromB := seal(t, b, []byte("tok"), ad)
	if _, err := a.Open(fromB, ad); !errors.Is(err, keyring.ErrUnknownKey) {
		t.Fatalf("Open before Add: error = %v, want ErrUnknownKey", err)
	}
	if err := a.Add(k2); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if err := a.Add(k2); err != nil {
		t.Fatalf("Add again: %v", err)
	}
	if diff := cmp.Diff([]uint32{1, 2}, a.KeyIDs()); diff != "" {
		t.Errorf("KeyIDs after Add (-want +got):\n%s", diff)
	}
	mustOpen(t, a, fromB, ad, []byte("tok"))
	if got := a.PrimaryID(); got != 1 {
		t.Errorf("Add changed the primary to %d", got)
	}
	if err := a.Rotate(k2); err != nil {
		t.Fatalf("Rotate to the added key: %v", err)
	}
	if diff := cmp.Diff([]uint32{2, 1}, a.KeyIDs()); diff != "" {
		t.Errorf("KeyIDs after promotion (-want +got):\n%s", diff)
	}
	if err := a.Add(testKey(t, 2, 0x33)); !errors.Is(err, keyring.ErrDuplicateKey) {
		t.Errorf("Add(same id, other material) error = %v, want ErrDuplicateKey", err)
	}
	if err := a.Add(keyring.Key{}); !errors.Is(err, keyring.ErrKeySize) {
		t.Errorf("Add(zero key) error = %v, want ErrKeySize", err)
	}
}

func TestRetire(t *testing.T) {
	k1, k2 := testKey(t, 1, 1), testKey(t, 2, 2)
	r := newRing(t, k2, k1)

	err := r.Retire(2)
	if !errors.Is(err, keyring.ErrRetirePrimary) {
		t.Fatalf("Retire(primary) error = %v, want ErrRetirePrimary", err)
	}
	err = r.Retire(42)
	if !errors.Is(err, keyring.ErrUnknownKey) || !strings.Contains(err.Error(), "42") {
		t.Fatalf("Retire(42) error = %v, want ErrUnknownKey naming 42", err)
	}
	if errors.Is(err, store.ErrSealed) {
		t.Errorf("Retire error wraps store.ErrSealed; only Open errors should")
	}
	if err := r.Retire(1); err != nil {
		t.Fatalf("Retire(1): %v", err)
	}
	if diff := cmp.Diff([]uint32{2}, r.KeyIDs()); diff != "" {
		t.Errorf("KeyIDs after Retire (-want +got):\n%s", diff)
	}
	if err := r.Retire(1); !errors.Is(err, keyring.ErrUnknownKey) {
		t.Errorf("Retire(1) twice: error = %v, want ErrUnknownKey", err)
	}
}

func TestZeroKeyring(t *testing.T) {
	for _, r := range []*keyring.Keyring{nil, new(keyring.Keyring)} {
		if _, err := r.Seal([]byte("x"), nil); err == nil {
			t.Error("Seal on a zero Keyring succeeded")
		}
		if _, err := r.Open(make([]byte, 64), nil); err == nil {
			t.Error("Open on a zero Keyring succeeded")
		}
		if _, err := r.Reseal(make([]byte, 64), nil); err == nil {
			t.Error("Reseal on a zero Keyring succeeded")
		}
		if !r.NeedsReseal(nil) {
			t.Error("NeedsReseal on a zero Keyring = false")
		}
		if got := r.PrimaryID(); got != 0 {
			t.Errorf("PrimaryID = %d", got)
		}
		if got := r.KeyIDs(); got != nil {
			t.Errorf("KeyIDs = %v", got)
		}
		if got := r.String(); got != "keyring.Keyring{}" {
			t.Errorf("String = %q", got)
		}
	}
	var r keyring.Keyring
	for name, err := range map[string]error{
		"Rotate": r.Rotate(testKey(t, 1, 1)),
		"Add":    r.Add(testKey(t, 1, 1)),
		"Retire": r.Retire(1),
	} {
		if err == nil {
			t.Errorf("%s on a zero Keyring succeeded", name)
		}
	}
}

func TestKeyringPrinting(t *testing.T) {
	k1, k2 := testKey(t, 1, 1), testKey(t, 2, 2)
	r := newRing(t, k2, k1)
	want := "keyring.Keyring{primary: 2, decrypt-only: [1]}"
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		if got := fmt.Sprintf(format, r); got != want {
			t.Errorf("Sprintf(%q) = %q, want %q", format, got, want)
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("ring", "keyring", r)
	if !strings.Contains(buf.String(), "keyring.primary=2 keyring.decrypt_only=[1]") {
		t.Errorf("log = %q", buf.String())
	}
	for _, k := range []keyring.Key{k1, k2} {
		if strings.Contains(buf.String(), k.Base64()) {
			t.Error("log contains key material")
		}
	}
}
