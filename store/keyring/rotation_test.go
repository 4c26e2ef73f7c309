package keyring_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/keyring"
)

// record is one sealed value as a store would hold it.
type record struct {
	owner, field string
	envelope     []byte
}

func (rec record) ad() []byte { return store.AssociatedData("connection", rec.owner, rec.field) }

func (rec record) plaintext() []byte {
	return []byte("secret of " + rec.owner + "/" + rec.field)
}

// TestRotationEndToEnd seals values, rotates through several keys while
// goroutines keep sealing and opening, re-seals what NeedsReseal flags,
// retires the old keys, and checks that every re-sealed value still opens and
// every value that was not re-sealed fails with a clear error. Run it with
// -race.
func TestRotationEndToEnd(t *testing.T) {
	keys := []keyring.Key{testKey(t, 1, 1), testKey(t, 2, 2), testKey(t, 3, 3), testKey(t, 4, 4)}
	r := newRing(t, keys[0])

	// Values sealed under key 1 before any rotation.
	var stored []record
	for i := range 50 {
		rec := record{owner: fmt.Sprintf("conn-%d", i), field: "refresh_token"}
		rec.envelope = seal(t, r, rec.plaintext(), rec.ad())
		stored = append(stored, rec)
	}

	// Readers and writers run while the keyring rotates to keys 2, 3 and 4.
	const workers = 8
	var (
		wg       sync.WaitGroup
		stop     atomic.Bool
		mu       sync.Mutex
		written  []record // sealed during the rotation, by every worker
		failures atomic.Int64
		ops      atomic.Int64 // Seal+Open rounds done by all workers
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load() || i < 20; i++ {
				// Open an old value: its key stays in the ring throughout.
				old := stored[(w+i)%len(stored)]
				if got, err := r.Open(old.envelope, old.ad()); err != nil || string(got) != string(old.plaintext()) {
					failures.Add(1)
					t.Errorf("worker %d: Open(old %s) = %q, %v", w, old.owner, got, err)
					return
				}
				// Seal and open a new value under whatever key is primary now.
				rec := record{owner: fmt.Sprintf("w%d-%d", w, i), field: "access_token"}
				env, err := r.Seal(rec.plaintext(), rec.ad())
				if err != nil {
					failures.Add(1)
					t.Errorf("worker %d: Seal: %v", w, err)
					return
				}
				rec.envelope = env
				if got, err := r.Open(env, rec.ad()); err != nil || string(got) != string(rec.plaintext()) {
					failures.Add(1)
					t.Errorf("worker %d: Open(new) = %q, %v", w, got, err)
					return
				}
				_ = r.NeedsReseal(env)
				ops.Add(1)
				mu.Lock()
				written = append(written, rec)
				mu.Unlock()
			}
		}()
	}
	// letWorkersRun waits until the workers have sealed and opened under the
	// current primary for a while.
	letWorkersRun := func() {
		for target := ops.Load() + 10*workers; ops.Load() < target && failures.Load() == 0; {
			runtime.Gosched()
		}
	}
	for _, k := range keys[1:] {
		letWorkersRun()
		if err := r.Rotate(k); err != nil {
			t.Fatalf("Rotate(%d): %v", k.ID(), err)
		}
	}
	letWorkersRun()
	stop.Store(true)
	wg.Wait()
	if failures.Load() > 0 {
		t.FailNow()
	}
	if got := r.PrimaryID(); got != 4 {
		t.Fatalf("PrimaryID = %d, want 4", got)
	}

	all := append(stored, written...)
	usedKeys := make(map[uint32]int)
	for _, rec := range all {
		id, err := keyring.EnvelopeKeyID(rec.envelope)
		if err != nil {
			t.Fatal(err)
		}
		usedKeys[id]++
	}
	for _, k := range keys {
		if usedKeys[k.ID()] == 0 {
			t.Errorf("no envelope was sealed under key %d during the rotation", k.ID())
		}
	}

	// Maintenance: re-seal everything not under the primary, except the
	// values we leave behind on purpose to check the failure after Retire.
	missed := map[int]bool{0: true, 7: true}
	resealed := 0
	for i := range all {
		if missed[i] || !r.NeedsReseal(all[i].envelope) {
			continue
		}
		plaintext, err := r.Open(all[i].envelope, all[i].ad())
		if err != nil {
			t.Fatalf("Open(%s) before reseal: %v", all[i].owner, err)
		}
		env, err := r.Seal(plaintext, all[i].ad())
		if err != nil {
			t.Fatal(err)
		}
		all[i].envelope = env
		resealed++
	}
	if resealed < len(stored)-len(missed) {
		t.Fatalf("re-sealed %d envelopes, want at least %d", resealed, len(stored)-len(missed))
	}
	for i, rec := range all {
		if !missed[i] && r.NeedsReseal(rec.envelope) {
			t.Fatalf("%s still needs a reseal", rec.owner)
		}
	}

	for _, id := range []uint32{1, 2, 3} {
		if err := r.Retire(id); err != nil {
			t.Fatalf("Retire(%d): %v", id, err)
		}
	}
	if got := r.KeyIDs(); len(got) != 1 || got[0] != 4 {
		t.Fatalf("KeyIDs after retiring = %v, want [4]", got)
	}

	for i, rec := range all {
		got, err := r.Open(rec.envelope, rec.ad())
		if missed[i] {
			if !errors.Is(err, store.ErrSealed) || !errors.Is(err, keyring.ErrUnknownKey) {
				t.Errorf("Open(%s, not re-sealed, key retired) error = %v, want ErrSealed and ErrUnknownKey", rec.owner, err)
			} else if !strings.Contains(err.Error(), "unknown key id 1 (retired") {
				t.Errorf("error %q does not name retired key 1", err)
			}
			continue
		}
		if err != nil || string(got) != string(rec.plaintext()) {
			t.Errorf("Open(%s) after retiring = %q, %v", rec.owner, got, err)
		}
	}
}

// TestConcurrentRotateAndRetire hammers every mutating method at once with
// readers; it has no ordering to check, only races (under -race) and Open
// failures for envelopes of the primary key, which is never retired.
func TestConcurrentRotateAndRetire(t *testing.T) {
	base := testKey(t, 100, 100)
	r := newRing(t, base)
	env := seal(t, r, []byte(secret), nil)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				k := testKey(t, uint32(w*1000+i), byte(w*64+i%64))
				_ = r.Add(k)
				_ = r.Rotate(k)
				_ = r.Rotate(base)
				_ = r.Retire(k.ID())
			}
		})
		wg.Go(func() {
			for range 2000 {
				if _, err := r.Open(env, nil); err != nil {
					t.Errorf("Open: %v", err)
					return
				}
				_ = r.KeyIDs()
				_ = r.String()
			}
		})
	}
	wg.Wait()
}
