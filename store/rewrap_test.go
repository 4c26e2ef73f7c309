package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/goleak"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/keyring"
	"github.com/connkit/connkit/store/memory"
)

// key returns a deterministic AES-256 key with the given id.
func key(t *testing.T, id uint32) keyring.Key {
	t.Helper()
	k, err := keyring.NewKey(id, bytes.Repeat([]byte{byte(id), 0x5c}, keyring.KeySize/2))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newRing(t *testing.T, primary keyring.Key) *keyring.Keyring {
	t.Helper()
	r, err := keyring.New(primary)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fixture is a store with sealed values whose plaintexts the test remembers.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	s     *memory.Store
	ring  *keyring.Keyring
	plain map[string]string // "kind/id/field" -> plaintext
}

func newFixture(t *testing.T, ring *keyring.Keyring) *fixture {
	return &fixture{t: t, ctx: t.Context(), s: memory.New(memory.Options{}), ring: ring, plain: map[string]string{}}
}

func (f *fixture) seal(kind, id, field, plaintext string) []byte {
	f.t.Helper()
	env, err := f.ring.Seal([]byte(plaintext), store.AssociatedData(kind, id, field))
	if err != nil {
		f.t.Fatal(err)
	}
	f.plain[kind+"/"+id+"/"+field] = plaintext
	return env
}

// addConnections stores n connections spread over three instances: most with
// two secrets and a token, every fifth without a token, every seventh without
// secrets.
func (f *fixture) addConnections(n int) {
	f.t.Helper()
	for i := range 3 {
		if err := f.s.PutInstance(f.ctx, connection.Instance{ID: "inst-" + strconv.Itoa(i)}); err != nil {
			f.t.Fatal(err)
		}
	}
	for i := range n {
		id := fmt.Sprintf("conn-%03d", i)
		c := &store.Connection{
			ID:     id,
			Ref:    connection.Ref{InstanceID: "inst-" + strconv.Itoa(i%3), Variable: "v" + strconv.Itoa(i)},
			Values: map[string]string{"host": "h" + strconv.Itoa(i), "writes": "0"},
		}
		if i%7 != 0 {
			c.Secrets = map[string][]byte{
				"password": f.seal("connection", id, "password", "pw-"+id),
				"apiKey":   f.seal("connection", id, "apiKey", "key-"+id),
			}
		}
		if i%5 != 0 {
			c.Token = &store.Token{
				Sealed:      f.seal("connection", id, "token", `{"access_token":"at-`+id+`"}`),
				Expiry:      time.Now().Add(time.Hour),
				Refreshable: true,
			}
		}
		if _, err := f.s.PutConnection(f.ctx, c); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fixture) addTemplate(id string) {
	f.t.Helper()
	tp := &store.Template{
		ID: id, Component: "crm",
		Values:  map[string]string{"scopes": "read"},
		Secrets: map[string][]byte{"clientSecret": f.seal("template", id, "clientSecret", "cs-"+id)},
	}
	if _, err := f.s.PutTemplate(f.ctx, tp); err != nil {
		f.t.Fatal(err)
	}
}

// openAll opens every sealed value in the store with ring and compares it to
// the remembered plaintext; it returns a description of each failure.
func (f *fixture) openAll(ring *keyring.Keyring) (opened int, problems []string) {
	f.t.Helper()
	check := func(kind, id, field string, env []byte) {
		got, err := ring.Open(env, store.AssociatedData(kind, id, field))
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s %s %s: %v", kind, id, field, err))
		case string(got) != f.plain[kind+"/"+id+"/"+field]:
			problems = append(problems, fmt.Sprintf("%s %s %s: opens to the wrong plaintext", kind, id, field))
		default:
			opened++
		}
	}
	conns, err := f.s.ScanConnections(f.ctx, "", 1<<20)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, c := range conns {
		for field, env := range c.Secrets {
			check("connection", c.ID, field, env)
		}
		if c.Token != nil {
			check("connection", c.ID, "token", c.Token.Sealed)
		}
	}
	tps, err := f.s.ListTemplates(f.ctx, "")
	if err != nil {
		f.t.Fatal(err)
	}
	for _, tp := range tps {
		for field, env := range tp.Secrets {
			check("template", tp.ID, field, env)
		}
	}
	return opened, problems
}

// TestRewrapRotation rotates the key while readers open values and a writer
// updates connections, re-wraps everything, retires the old key, and checks
// that every value still opens to its plaintext and the writer lost nothing.
func TestRewrapRotation(t *testing.T) {
	defer goleak.VerifyNone(t)
	ring := newRing(t, key(t, 1))
	f := newFixture(t, ring)
	f.addConnections(40)
	for _, id := range []string{"tpl-a", "tpl-b", "tpl-c"} {
		f.addTemplate(id)
	}
	total := len(f.plain)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var readFailures, reads atomic.Int64
	for r := range 3 {
		wg.Go(func() {
			for i := r; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("conn-%03d", i%40)
				c, err := f.s.GetConnectionByID(f.ctx, id)
				if err != nil {
					readFailures.Add(1)
					continue
				}
				for field, env := range c.Secrets {
					got, err := ring.Open(env, store.AssociatedData("connection", id, field))
					if err != nil || string(got) != f.plain["connection/"+id+"/"+field] {
						readFailures.Add(1)
					}
					reads.Add(1)
				}
			}
		})
	}
	// A writer that keeps updating connections, as a host would, so that
	// some of Rewrap's writes lose and are retried.
	var writes atomic.Int64
	perConn := make([]int, 40)
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			idx := i * 7 % 40 // another order than Rewrap's
			id := fmt.Sprintf("conn-%03d", idx)
			for {
				c, err := f.s.GetConnectionByID(f.ctx, id)
				if err != nil {
					return
				}
				n, _ := strconv.Atoi(c.Values["writes"])
				c.Values["writes"] = strconv.Itoa(n + 1)
				_, err = f.s.PutConnection(f.ctx, c)
				if err == nil {
					perConn[idx]++
					writes.Add(1)
					break
				}
				if !errors.Is(err, store.ErrConflict) {
					return
				}
			}
		}
	})

	// progress waits until the readers and the writer have each done more
	// work, so that rotation and Rewrap happen while they run.
	progress := func() {
		r, w := reads.Load(), writes.Load()
		for reads.Load() < r+50 || writes.Load() < w+20 {
			runtime.Gosched()
		}
	}
	progress()
	if err := ring.Rotate(key(t, 2)); err != nil {
		t.Fatal(err)
	}
	progress() // values sealed under both keys are read
	stats, err := store.Rewrap(f.ctx, yielding{f.s}, ring, &store.RewrapOptions{
		PageSize: 7,
		// The writer may win many times in a row on a loaded machine; this
		// test is about what happens on a conflict, not the cap on retries.
		MaxAttempts: 1000,
	})
	progress()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("Rewrap: %v", err)
	}
	t.Logf("stats %+v; concurrent reads %d, writes %d", stats, reads.Load(), writes.Load())
	if stats.Connections != 40 || stats.Templates != 3 {
		t.Errorf("Rewrap read %d connections and %d templates, want 40 and 3", stats.Connections, stats.Templates)
	}
	if stats.Resealed != total || stats.Failed != 0 {
		t.Errorf("Rewrap re-sealed %d values with %d failures, want %d and 0", stats.Resealed, stats.Failed, total)
	}
	if n := readFailures.Load(); n != 0 {
		t.Errorf("%d concurrent reads failed during rotation", n)
	}

	if err := ring.Retire(1); err != nil {
		t.Fatal(err)
	}
	opened, problems := f.openAll(ring)
	for _, p := range problems {
		t.Error(p)
	}
	if opened != total {
		t.Errorf("opened %d values after retiring the old key, want %d", opened, total)
	}
	for i := range 40 {
		c, err := f.s.GetConnectionByID(f.ctx, fmt.Sprintf("conn-%03d", i))
		if err != nil {
			t.Fatal(err)
		}
		if c.Values["writes"] != strconv.Itoa(perConn[i]) {
			t.Errorf("%s: writes = %s, want %d: an update was lost", c.ID, c.Values["writes"], perConn[i])
		}
	}

	// Nothing is left to do: a second run writes nothing.
	again, err := store.Rewrap(f.ctx, f.s, ring, nil)
	if err != nil {
		t.Fatalf("second Rewrap: %v", err)
	}
	want := store.RewrapStats{Connections: 40, Templates: 3}
	if d := cmp.Diff(want, again); d != "" {
		t.Errorf("second Rewrap stats (-want +got):\n%s", d)
	}
}

// yielding is a store that yields the processor before every connection
// write, so that concurrent writers interleave with Rewrap's read-modify-write.
type yielding struct{ store.Store }

func (y yielding) PutConnection(ctx context.Context, c *store.Connection) (int64, error) {
	runtime.Gosched()
	return y.Store.PutConnection(ctx, c)
}

// rewrapAndRetire runs Rewrap over s with the fixture's ring, which has been
// rotated from key 1, checks its stats, retires key 1, and checks that the
// remembered values, wantOpened of them, all open to their plaintexts.
func (f *fixture) rewrapAndRetire(s store.Store, want store.RewrapStats, wantOpened int) {
	f.t.Helper()
	stats, err := store.Rewrap(f.ctx, s, f.ring, nil)
	if err != nil {
		f.t.Fatalf("Rewrap: %v", err)
	}
	if d := cmp.Diff(want, stats); d != "" {
		f.t.Errorf("Rewrap stats (-want +got):\n%s", d)
	}
	if err := f.ring.Retire(1); err != nil {
		f.t.Fatal(err)
	}
	opened, problems := f.openAll(f.ring)
	for _, p := range problems {
		f.t.Error(p)
	}
	if opened != wantOpened {
		f.t.Errorf("opened %d values after retiring the old key, want %d", opened, wantOpened)
	}
}

// TestRewrapPublishedTemplate: the secrets of a template pinned by a
// published version are re-sealed too (with ResealTemplate), so the old key
// can be retired; nothing else about the published template changes, and it
// stays locked.
func TestRewrapPublishedTemplate(t *testing.T) {
	ring := newRing(t, key(t, 1))
	f := newFixture(t, ring)
	f.addTemplate("tpl-free")
	f.addTemplate("tpl-pinned")
	v := store.Version{IntegrationID: "int", Version: 1}
	if err := f.s.Publish(f.ctx, v, []string{"tpl-pinned"}); err != nil {
		t.Fatal(err)
	}
	before, err := f.s.GetTemplate(f.ctx, "tpl-pinned")
	if err != nil {
		t.Fatal(err)
	}
	if err := ring.Rotate(key(t, 2)); err != nil {
		t.Fatal(err)
	}

	f.rewrapAndRetire(f.s, store.RewrapStats{Templates: 2, TemplatesWritten: 2, Resealed: 2}, 2)

	after, err := f.s.GetTemplate(f.ctx, "tpl-pinned")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(after.Secrets["clientSecret"], before.Secrets["clientSecret"]) {
		t.Error("the published template's secret was not re-sealed")
	}
	if d := cmp.Diff(before, after, cmpopts.IgnoreFields(store.Template{}, "Secrets", "Revision", "UpdatedAt")); d != "" {
		t.Errorf("Rewrap changed more of the published template than its sealed secrets (-before +after):\n%s", d)
	}
	if pins, err := f.s.Pins(f.ctx, "tpl-pinned"); err != nil || len(pins) != 1 || pins[0] != v {
		t.Errorf("Pins after Rewrap = %v, %v; want [%v]", pins, err, v)
	}
	after.Name = "changed"
	if _, err := f.s.PutTemplate(f.ctx, after); !errors.Is(err, store.ErrTemplateLocked) {
		t.Errorf("PutTemplate of the published template after Rewrap: error = %v, want ErrTemplateLocked", err)
	}

	again, err := store.Rewrap(f.ctx, f.s, ring, nil)
	if err != nil || again != (store.RewrapStats{Templates: 2}) {
		t.Errorf("second Rewrap = %+v, %v; want nothing written", again, err)
	}
}

// racingTemplates is a store in which, just before Rewrap's first
// ResealTemplate of each template, another writer changes that template
// (PutTemplate or, for a pinned one, ResealTemplate of the same plaintext)
// or deletes it.
type racingTemplates struct {
	store.Store
	t     *testing.T
	ring  *keyring.Keyring
	raced map[string]bool
}

func (r *racingTemplates) ResealTemplate(ctx context.Context, id string, rev int64, secrets map[string][]byte) (int64, error) {
	if !r.raced[id] {
		r.raced[id] = true
		cur, err := r.Store.GetTemplate(ctx, id)
		if err != nil {
			r.t.Fatal(err)
		}
		switch id {
		case "tpl-deleted":
			err = r.Store.DeleteTemplate(ctx, id)
		case "tpl-pinned":
			// Another rewrap got there first, under the same key.
			ad := store.AssociatedData("template", id, "clientSecret")
			plain, openErr := r.ring.Open(cur.Secrets["clientSecret"], ad)
			if openErr != nil {
				r.t.Fatal(openErr)
			}
			env, sealErr := r.ring.Seal(plain, ad)
			if sealErr != nil {
				r.t.Fatal(sealErr)
			}
			_, err = r.Store.ResealTemplate(ctx, id, cur.Revision, map[string][]byte{"clientSecret": env})
		default:
			cur.Values["scopes"] = "read write"
			_, err = r.Store.PutTemplate(ctx, cur)
		}
		if err != nil {
			r.t.Fatal(err)
		}
	}
	return r.Store.ResealTemplate(ctx, id, rev, secrets)
}

// TestRewrapTemplateRaces: a template changed between Rewrap's read and its
// write is read again and re-sealed without losing the other change; one
// deleted meanwhile is skipped without an error.
func TestRewrapTemplateRaces(t *testing.T) {
	ring := newRing(t, key(t, 1))
	f := newFixture(t, ring)
	for _, id := range []string{"tpl-changed", "tpl-deleted", "tpl-pinned"} {
		f.addTemplate(id)
	}
	if err := f.s.Publish(f.ctx, store.Version{IntegrationID: "int", Version: 1}, []string{"tpl-pinned"}); err != nil {
		t.Fatal(err)
	}
	if err := ring.Rotate(key(t, 2)); err != nil {
		t.Fatal(err)
	}
	delete(f.plain, "template/tpl-deleted/clientSecret")
	// tpl-changed: a conflict, then re-sealed. tpl-deleted: gone. tpl-pinned:
	// a conflict, then nothing left to re-seal (the racer used the new key).
	f.rewrapAndRetire(&racingTemplates{Store: f.s, t: t, ring: f.ring, raced: map[string]bool{}},
		store.RewrapStats{Templates: 3, TemplatesWritten: 1, Resealed: 1, Conflicts: 2}, 2)
	changed, err := f.s.GetTemplate(f.ctx, "tpl-changed")
	if err != nil {
		t.Fatal(err)
	}
	if changed.Values["scopes"] != "read write" {
		t.Errorf("the concurrent change to tpl-changed was lost: scopes = %q", changed.Values["scopes"])
	}
}

// TestRewrapUnopenable: a value that does not open (here: a ciphertext copied
// from another connection, so its associated data differs) is reported by
// connection id and field, never by value, and the connection's other values
// are still re-sealed.
func TestRewrapUnopenable(t *testing.T) {
	ring := newRing(t, key(t, 1))
	f := newFixture(t, ring)
	f.addConnections(3) // conn-000 has no secrets; conn-001 and conn-002 do
	c1, err := f.s.GetConnectionByID(f.ctx, "conn-001")
	if err != nil {
		t.Fatal(err)
	}
	c2, err := f.s.GetConnectionByID(f.ctx, "conn-002")
	if err != nil {
		t.Fatal(err)
	}
	c2.Secrets["password"] = c1.Secrets["password"]
	if _, err := f.s.PutConnection(f.ctx, c2); err != nil {
		t.Fatal(err)
	}
	if err := ring.Rotate(key(t, 2)); err != nil {
		t.Fatal(err)
	}

	stats, err := store.Rewrap(f.ctx, f.s, ring, nil)
	if !errors.Is(err, store.ErrSealed) {
		t.Fatalf("Rewrap error = %v, want one matching ErrSealed", err)
	}
	var re *store.RewrapError
	if !errors.As(err, &re) || re.Kind != "connection" || re.ID != "conn-002" || re.Field != "password" {
		t.Fatalf("Rewrap error %v does not name connection conn-002 field password", err)
	}
	for _, secret := range []string{"pw-conn-001", "pw-conn-002", "key-conn-002", "at-conn-002"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Rewrap error contains the plaintext %q: %v", secret, err)
		}
	}
	if stats.Failed != 1 || stats.ConnectionsWritten != 2 {
		t.Errorf("stats = %+v, want 1 failure and 2 connections written", stats)
	}
	got, err := f.s.GetConnectionByID(f.ctx, "conn-002")
	if err != nil {
		t.Fatal(err)
	}
	if ring.NeedsReseal(got.Secrets["apiKey"]) || ring.NeedsReseal(got.Token.Sealed) {
		t.Error("conn-002's openable values were not re-sealed")
	}
	if !bytes.Equal(got.Secrets["password"], c1.Secrets["password"]) {
		t.Error("the value that did not open was changed")
	}
}

// TestRewrapErrorLimit: failures beyond MaxErrors are counted, not listed.
func TestRewrapErrorLimit(t *testing.T) {
	ring := newRing(t, key(t, 1))
	f := newFixture(t, ring)
	f.addConnections(6) // conn-001..conn-005 have secrets
	for i := 1; i <= 5; i++ {
		c, err := f.s.GetConnectionByID(f.ctx, fmt.Sprintf("conn-%03d", i))
		if err != nil {
			t.Fatal(err)
		}
		c.Secrets["apiKey"] = []byte("not an envelope")
		if _, err := f.s.PutConnection(f.ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := ring.Rotate(key(t, 2)); err != nil {
		t.Fatal(err)
	}
	stats, err := store.Rewrap(f.ctx, f.s, ring, &store.RewrapOptions{MaxErrors: 2})
	if stats.Failed != 5 {
		t.Errorf("Failed = %d, want 5", stats.Failed)
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("Rewrap error %v is not a joined error", err)
	}
	errs := joined.Unwrap()
	if len(errs) != 3 || !strings.Contains(errs[2].Error(), "3 more") {
		t.Errorf("Rewrap error lists %d errors, want 2 and a count of 3 more: %v", len(errs), err)
	}
}

// TestRewrapCancelled: a cancelled context stops Rewrap with its error.
func TestRewrapCancelled(t *testing.T) {
	ring := newRing(t, key(t, 1))
	f := newFixture(t, ring)
	f.addConnections(3)
	if err := ring.Rotate(key(t, 2)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	if _, err := store.Rewrap(ctx, f.s, ring, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Rewrap with a cancelled context: error = %v, want context.Canceled", err)
	}
	_, problems := f.openAll(ring)
	if len(problems) != 0 {
		t.Errorf("values no longer open after a cancelled Rewrap: %v", problems)
	}
}

// Rotating the sealing key: make the new key primary, re-seal what the old
// key sealed with Rewrap, then retire the old key.
func ExampleRewrap() {
	ctx := context.Background()
	oldKey, _ := keyring.NewKey(1, bytes.Repeat([]byte{1}, keyring.KeySize))
	newKey, _ := keyring.NewKey(2, bytes.Repeat([]byte{2}, keyring.KeySize))
	ring, _ := keyring.New(oldKey)
	s := memory.New(memory.Options{})

	_ = s.PutInstance(ctx, connection.Instance{ID: "inst-1"})
	ad := store.AssociatedData("connection", "conn-1", "password")
	sealed, _ := ring.Seal([]byte("hunter2"), ad)
	_, _ = s.PutConnection(ctx, &store.Connection{
		ID:      "conn-1",
		Ref:     connection.Ref{InstanceID: "inst-1", Variable: "crm"},
		Secrets: map[string][]byte{"password": sealed},
		Token:   &store.Token{Sealed: mustSeal(ring, "token set", "conn-1", "token"), Expiry: time.Now().Add(time.Hour)},
	})

	_ = ring.Rotate(newKey)
	stats, err := store.Rewrap(ctx, s, ring, nil)
	fmt.Printf("re-sealed %d values in %d connections, err %v\n", stats.Resealed, stats.ConnectionsWritten, err)
	_ = ring.Retire(oldKey.ID())

	c, _ := s.GetConnectionByID(ctx, "conn-1")
	plain, err := ring.Open(c.Secrets["password"], ad)
	fmt.Println(string(plain), err)
	// Output:
	// re-sealed 2 values in 1 connections, err <nil>
	// hunter2 <nil>
}

func mustSeal(ring *keyring.Keyring, plaintext, id, field string) []byte {
	env, err := ring.Seal([]byte(plaintext), store.AssociatedData("connection", id, field))
	if err != nil {
		panic(err)
	}
	return env
}
