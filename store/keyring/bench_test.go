package keyring_test

import (
	"bytes"
	"testing"

	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/keyring"
)

// benchRing returns a keyring with a primary and two older keys, a 1 KiB
// token and its associated data.
func benchRing(b *testing.B) (r *keyring.Keyring, token, ad []byte) {
	b.Helper()
	return newRing(b, testKey(b, 3, 3), testKey(b, 2, 2), testKey(b, 1, 1)),
		bytes.Repeat([]byte{'t'}, 1024),
		store.AssociatedData("connection", "0190b7d2-5f1e-7c3a-9d4e-2b8f6a1c0e55", "access_token")
}

// BenchmarkSealOpen1KiB seals and opens a 1 KiB token, the round trip of a
// token written to and read back from a store.
func BenchmarkSealOpen1KiB(b *testing.B) {
	r, token, ad := benchRing(b)
	b.SetBytes(int64(len(token)))
	b.ReportAllocs()
	for b.Loop() {
		env, err := r.Seal(token, ad)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Open(env, ad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSeal1KiB(b *testing.B) {
	r, token, ad := benchRing(b)
	b.SetBytes(int64(len(token)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Seal(token, ad); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen1KiB opens an envelope sealed under the oldest key, the
// slowest key lookup.
func BenchmarkOpen1KiB(b *testing.B) {
	_, token, ad := benchRing(b)
	env := seal(b, newRing(b, testKey(b, 1, 1)), token, ad)
	r := newRing(b, testKey(b, 3, 3), testKey(b, 2, 2), testKey(b, 1, 1))
	b.SetBytes(int64(len(token)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Open(env, ad); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealOpen1KiBParallel measures contention: every goroutine seals
// and opens through one keyring.
func BenchmarkSealOpen1KiBParallel(b *testing.B) {
	r, token, ad := benchRing(b)
	b.SetBytes(int64(len(token)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			env, err := r.Seal(token, ad)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := r.Open(env, ad); err != nil {
				b.Fatal(err)
			}
		}
	})
}
