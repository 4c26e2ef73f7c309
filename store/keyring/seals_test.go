package keyring_test

import (
	"sync"
	"testing"

	"github.com/connkit/connkit/store/keyring"
)

// Seals counts the envelopes sealed under the current primary key, Reseal
// included, concurrent seals exactly; it follows the key through rotations
// (a new primary starts at zero, a promoted old key resumes its count) and
// Open does not count (review L11).
func TestSealsCountsPerPrimaryKey(t *testing.T) {
	k1, k2 := testKey(t, 1, 0x11), testKey(t, 2, 0x22)
	r := newRing(t, k1)
	ad := []byte("connection\x00c1\x00token")
	if n := r.Seals(); n != 0 {
		t.Fatalf("Seals of a new keyring = %d, want 0", n)
	}
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if _, err := r.Seal([]byte("token"), ad); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	env := seal(t, r, []byte("one more"), ad)
	if _, err := r.Open(env, ad); err != nil {
		t.Fatal(err)
	}
	if n, want := r.Seals(), uint64(workers*each+1); n != want {
		t.Fatalf("Seals after %d seals and an Open = %d, want %d", want, n, want)
	}

	if err := r.Rotate(k2); err != nil {
		t.Fatal(err)
	}
	if n := r.Seals(); n != 0 {
		t.Errorf("Seals right after rotating to a new key = %d, want 0", n)
	}
	if _, err := r.Reseal(env, ad); err != nil {
		t.Fatal(err)
	}
	if n := r.Seals(); n != 1 {
		t.Errorf("Seals after one Reseal under the new key = %d, want 1", n)
	}
	if err := r.Rotate(k1); err != nil { // k1 is in the ring: promoted back
		t.Fatal(err)
	}
	if n, want := r.Seals(), uint64(workers*each+1); n != want {
		t.Errorf("Seals after promoting the old key again = %d, want its count %d", n, want)
	}
	if n := (&keyring.Keyring{}).Seals(); n != 0 {
		t.Errorf("Seals of a zero Keyring = %d, want 0", n)
	}
}
