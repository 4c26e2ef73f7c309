package storetest

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/connkit/connkit/store"
)

// contenders is how many goroutines race in every concurrency test.
const contenders = 16

// race runs f(0..contenders-1) in goroutines, all released at once after
// prepare (which may be nil) has run in each of them, and returns their
// results. prepare runs concurrently too; f starts only when every prepare has
// returned, so every f works from a state read before any f wrote.
func race[T any](prepare func(i int), f func(i int) T) []T {
	out := make([]T, contenders)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range contenders {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			if prepare != nil {
				prepare(i)
			}
			ready.Done()
			<-start
			out[i] = f(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return out
}

// winners returns the indexes of nil errors, failing the test on any error
// that does not match lose.
func winners(t *testing.T, errs []error, lose error, what string) []int {
	t.Helper()
	var won []int
	for i, err := range errs {
		switch {
		case err == nil:
			won = append(won, i)
		case !errors.Is(err, lose):
			t.Errorf("%s: contender %d got %v, want nil or an error matching %v", what, i, err, lose)
		}
	}
	return won
}

func testConcurrentCASRounds(t *testing.T, e *env) {
	const rounds = 5
	e.putInstance(t, "i1")
	c := minimalConnection("c1", ref("i1", "crm", ""))
	c.Values = map[string]string{"count": "0"}
	e.create(t, c)
	for round := 1; round <= rounds; round++ {
		read := make([]*store.Connection, contenders)
		readErr := make([]error, contenders)
		errs := race(func(i int) {
			read[i], readErr[i] = e.s.GetConnectionByID(e.ctx, "c1")
		}, func(i int) error {
			if readErr[i] != nil {
				return fmt.Errorf("read: %w", readErr[i])
			}
			cur := read[i]
			n, _ := strconv.Atoi(cur.Values["count"])
			cur.Values["count"] = strconv.Itoa(n + 1)
			cur.Values["winner"] = strconv.Itoa(i)
			_, err := e.s.PutConnection(e.ctx, cur)
			return err
		})
		won := winners(t, errs, store.ErrConflict, fmt.Sprintf("round %d", round))
		if len(won) != 1 {
			t.Fatalf("round %d: %d of %d writers at the same revision succeeded, want exactly 1 (winners %v)", round, len(won), contenders, won)
		}
		got := e.get(t, "c1")
		if got.Revision != int64(round+1) {
			t.Errorf("round %d: Revision = %d, want %d", round, got.Revision, round+1)
		}
		if got.Values["count"] != strconv.Itoa(round) || got.Values["winner"] != strconv.Itoa(won[0]) {
			t.Fatalf("round %d: stored count=%s winner=%s, want count=%d winner=%d (the one writer told it won)",
				round, got.Values["count"], got.Values["winner"], round, won[0])
		}
	}
}

func testConcurrentCASIncrements(t *testing.T, e *env) {
	const perWriter = 5
	const maxAttempts = 10000 // ends the test on a store where nobody ever wins
	e.putInstance(t, "i1")
	c := minimalConnection("c1", ref("i1", "crm", ""))
	c.Values = map[string]string{"count": "0"}
	e.create(t, c)
	errs := race(nil, func(i int) error {
		key := "writer-" + strconv.Itoa(i)
		done := 0
		for attempt := 0; done < perWriter; attempt++ {
			if attempt == maxAttempts {
				return fmt.Errorf("no write succeeded in %d attempts", maxAttempts)
			}
			cur, err := e.s.GetConnectionByID(e.ctx, "c1")
			if err != nil {
				return fmt.Errorf("read: %w", err)
			}
			n, _ := strconv.Atoi(cur.Values["count"])
			mine, _ := strconv.Atoi(cur.Values[key])
			cur.Values["count"] = strconv.Itoa(n + 1)
			cur.Values[key] = strconv.Itoa(mine + 1)
			rev, err := e.s.PutConnection(e.ctx, cur)
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			if err != nil {
				return err
			}
			if rev != cur.Revision+1 {
				return fmt.Errorf("PutConnection at revision %d returned %d", cur.Revision, rev)
			}
			done++
		}
		return nil
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	got := e.get(t, "c1")
	total := contenders * perWriter
	if got.Values["count"] != strconv.Itoa(total) {
		t.Errorf("count = %s after %d successful increments: updates were lost", got.Values["count"], total)
	}
	if got.Revision != int64(total+1) {
		t.Errorf("Revision = %d, want %d", got.Revision, total+1)
	}
	for i := range contenders {
		if v := got.Values["writer-"+strconv.Itoa(i)]; v != strconv.Itoa(perWriter) {
			t.Errorf("writer %d's own count = %q, want %d", i, v, perWriter)
		}
	}
}

func testConcurrentCreate(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	// Same ID, different Refs.
	errs := race(nil, func(i int) error {
		_, err := e.s.PutConnection(e.ctx, minimalConnection("c1", ref("i1", "v"+strconv.Itoa(i), "")))
		return err
	})
	won := winners(t, errs, store.ErrConflict, "create with one ID")
	if len(won) != 1 {
		t.Fatalf("%d of %d concurrent creates of one ID succeeded, want 1", len(won), contenders)
	}
	if got := e.get(t, "c1"); got.Ref != ref("i1", "v"+strconv.Itoa(won[0]), "") {
		t.Errorf("stored Ref %v is not the winner's", got.Ref)
	}

	// Different IDs, same Ref.
	errs = race(nil, func(i int) error {
		_, err := e.s.PutConnection(e.ctx, minimalConnection("d"+strconv.Itoa(i), ref("i1", "shared", "u")))
		return err
	})
	won = winners(t, errs, store.ErrConflict, "create with one Ref")
	if len(won) != 1 {
		t.Fatalf("%d of %d concurrent creates of one Ref succeeded, want 1", len(won), contenders)
	}
	got, err := e.s.GetConnection(e.ctx, ref("i1", "shared", "u"))
	must(t, err, "GetConnection")
	if got.ID != "d"+strconv.Itoa(won[0]) {
		t.Errorf("the Ref finds %s, not the winner d%d", got.ID, won[0])
	}
	list, err := e.s.ListConnections(e.ctx, "i1")
	must(t, err, "ListConnections")
	if len(list) != 2 {
		t.Errorf("ListConnections has %d connections after the races, want 2: %v", len(list), ids(list))
	}
}
