package storetest

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/connkit/connkit/store"
)

// Benchmark runs the same sub-benchmarks against any store, so that
// implementations report comparable numbers:
//
//   - GetConnection: read one connection with every field set, by Ref.
//   - GetConnectionParallel: the same from GOMAXPROCS goroutines at once.
//   - PutConnection: a compare-and-swap update of that connection.
//   - ConsumePending: take one pending authorization (the setup that puts
//     them is not timed).
//
// s need not be empty: Benchmark works under fresh random ids. Its clock must
// not run ahead of the wall clock by a day or more, or the pending
// authorizations it puts are already expired.
func Benchmark(b *testing.B, s store.Store) {
	ctx := b.Context()
	prefix := "storetest-bench-" + store.NewID()
	instanceID := prefix + "-instance"
	if err := s.PutInstance(ctx, instance(instanceID)); err != nil {
		b.Fatalf("PutInstance: %v", err)
	}
	r := ref(instanceID, "crm", "")
	c := fullConnection(prefix+"-conn", r, time.Now())
	if _, err := s.PutConnection(ctx, c); err != nil {
		b.Fatalf("PutConnection: %v", err)
	}

	b.Run("GetConnection", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.GetConnection(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GetConnectionParallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.GetConnection(ctx, r); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("PutConnection", func(b *testing.B) {
		b.ReportAllocs()
		cur, err := s.GetConnection(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			rev, err := s.PutConnection(ctx, cur)
			if err != nil {
				b.Fatal(err)
			}
			cur.Revision = rev
		}
	})
	b.Run("ConsumePending", func(b *testing.B) {
		b.ReportAllocs()
		const batch = 1024
		// State hashes are 64 hex digits: 48 unique to this run, then a
		// counter.
		run := stateHash(prefix + "-" + strconv.Itoa(b.N))[:48]
		p := pending(run, time.Now(), 24*time.Hour)
		hashes := make([]string, 0, batch)
		for done := 0; done < b.N; {
			b.StopTimer()
			hashes = hashes[:0]
			for i := 0; i < batch && done+i < b.N; i++ {
				p.StateHash = fmt.Sprintf("%s%016x", run, done+i)
				if err := s.PutPending(ctx, p); err != nil {
					b.Fatalf("PutPending: %v", err)
				}
				hashes = append(hashes, p.StateHash)
			}
			b.StartTimer()
			for _, h := range hashes {
				if _, err := s.ConsumePending(ctx, h); err != nil {
					b.Fatal(err)
				}
			}
			done += len(hashes)
		}
	})
}
