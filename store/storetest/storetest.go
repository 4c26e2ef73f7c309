package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

// Options are what the suite asks of the store it opens. Every implementation
// takes the equivalent as its own options.
type Options struct {
	// Now is the clock the store must take every time from. The suite
	// advances it to test expiry without sleeping.
	Now func() time.Time
	// LogRetention is the number of log entries per connection the store
	// keeps; the oldest are dropped beyond it. Never zero: either positive,
	// or negative, meaning keep every entry (as store.DefaultLogRetention
	// documents for every implementation's retention option).
	LogRetention int
}

// OpenFunc opens a new, empty store with the given options for one subtest.
// See the package documentation for what it must do.
type OpenFunc func(t *testing.T, opts Options) store.Store

// defaultRetention is the retention the suite asks for when a test does not
// test retention: large enough that no such test drops entries.
const defaultRetention = 1000

// Run runs the whole conformance suite against the stores open returns.
func Run(t *testing.T, open OpenFunc) {
	t.Helper()
	groups := []struct {
		name  string
		tests []test
	}{
		{"Connections", connectionTests},
		{"Instances", instanceTests},
		{"Templates", templateTests},
		{"Pending", pendingTests},
		{"Logs", logTests},
		{"Leases", leaseTests},
		{"Context", contextTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, newEnv(t, open, tc.retention))
				})
			}
		})
	}
}

// test is one subtest of the suite.
type test struct {
	name string
	// retention is the LogRetention to open the store with; 0 means
	// defaultRetention, a negative value is passed on (keep every entry).
	retention int
	run       func(t *testing.T, e *env)
}

// env is what every subtest works with: a fresh store, its clock and a
// background context.
type env struct {
	s     store.Store
	clock *Clock
	ctx   context.Context
}

func newEnv(t *testing.T, open OpenFunc, retention int) *env {
	t.Helper()
	if retention == 0 {
		retention = defaultRetention
	}
	c := NewClock(epoch)
	s := open(t, Options{Now: c.Now, LogRetention: retention})
	if s == nil {
		t.Fatal("storetest: open returned a nil store")
	}
	return &env{s: s, clock: c, ctx: t.Context()}
}

// epoch is where the suite's clock starts: a fixed instant, so failures
// reproduce, on a whole millisecond, so expiry boundaries do not depend on how
// a store rounds.
var epoch = time.Date(2026, time.January, 15, 10, 0, 0, 0, time.UTC)

// Clock is a manual clock, safe for concurrent use: Now returns the time set
// by NewClock and moved by Advance. The suite gives one to every store it
// opens; it is exported for implementations' own tests.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads start until advanced.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// cmpOpts compares records as the package documentation says: times as
// instants to the millisecond, nil and empty maps and slices alike.
var cmpOpts = cmp.Options{
	cmp.Comparer(sameMillisecond),
	cmpopts.EquateEmpty(),
}

func sameMillisecond(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero() == b.IsZero()
	}
	d := a.Sub(b)
	return d > -time.Millisecond && d < time.Millisecond
}

// diff returns a go-cmp diff of want and got, empty when they match.
func diff(want, got any) string { return cmp.Diff(want, got, cmpOpts) }

// wantErr fails the test unless err matches target with errors.Is.
func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error = %v, want one matching %v", what, err, target)
	}
}

// must fails the test on a non-nil error.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// ---- fixtures ----

func ref(instance, variable, user string) connection.Ref {
	return connection.Ref{InstanceID: instance, Variable: variable, User: user}
}

// putInstance stores instance(id).
func (e *env) putInstance(t *testing.T, id string) {
	t.Helper()
	must(t, e.s.PutInstance(e.ctx, instance(id)), "PutInstance "+id)
}

// create stores c as a new connection (revision 0) and returns the stored
// record as read back by id. c is not modified.
func (e *env) create(t *testing.T, c *store.Connection) *store.Connection {
	t.Helper()
	in := c.Clone()
	in.Revision = 0
	rev, err := e.s.PutConnection(e.ctx, in)
	must(t, err, "PutConnection (create) "+c.ID)
	if rev != 1 {
		t.Fatalf("PutConnection (create) %s: revision = %d, want 1", c.ID, rev)
	}
	return e.get(t, c.ID)
}

// get reads the connection with the given id, failing the test if absent.
func (e *env) get(t *testing.T, id string) *store.Connection {
	t.Helper()
	got, err := e.s.GetConnectionByID(e.ctx, id)
	must(t, err, "GetConnectionByID "+id)
	return got
}

// fullConnection returns a connection with every field set, including edge
// cases: an empty value, non-ASCII text, sealed bytes with zero bytes, times
// with sub-millisecond parts.
func fullConnection(id string, r connection.Ref, now time.Time) *store.Connection {
	return &store.Connection{
		ID:  id,
		Ref: r,
		Values: map[string]string{
			"host":       "api.example.com",
			"apiVersion": "2024-01",
			"empty":      "",
			"label":      "Zoë's CRM ✓ \"quoted\" \n newline",
		},
		Secrets: map[string][]byte{
			"password":     {0x00, 0x01, 0x02, 0xfe, 0xff, 0x00},
			"clientSecret": sealedBytes(id+"clientSecret", 61),
			"emptySecret":  {},
		},
		Sources: map[string]connection.Source{
			"host":         connection.SourceCustomer,
			"apiVersion":   connection.SourceHost,
			"password":     connection.SourceCustomer,
			"clientSecret": connection.SourceHost,
		},
		Token: &store.Token{
			Sealed:      sealedBytes(id+"token", 97),
			Expiry:      now.Add(time.Hour + 123456789*time.Nanosecond),
			Refreshable: true,
			ObtainedAt:  now.Add(-time.Second + 987*time.Microsecond),
		},
		Metadata: map[string]string{
			"instance_url": "https://eu12.example.com",
			"realmId":      "4620816365179440000",
		},
		Health: connection.Health{
			Status: connection.StatusError,
			Reason: "refresh failed: invalid_grant",
			Since:  now.Add(-time.Minute - 250*time.Microsecond),
		},
	}
}

// minimalConnection returns a connection with only its identity: no maps, no
// token, zero health.
func minimalConnection(id string, r connection.Ref) *store.Connection {
	return &store.Connection{ID: id, Ref: r}
}

// refreshable returns a connection whose token expires at expiry.
func refreshable(id string, r connection.Ref, expiry time.Time, canRefresh bool) *store.Connection {
	return &store.Connection{
		ID:     id,
		Ref:    r,
		Values: map[string]string{"host": "h-" + id},
		Token: &store.Token{
			Sealed:      sealedBytes(id, 40),
			Expiry:      expiry,
			Refreshable: canRefresh,
			ObtainedAt:  expiry.Add(-time.Hour),
		},
	}
}

// sealedBytes returns n deterministic bytes standing for a sealed value,
// covering every byte value over enough length.
func sealedBytes(seed string, n int) []byte {
	b := make([]byte, n)
	var h uint32 = 2166136261
	for i := range seed {
		h = (h ^ uint32(seed[i])) * 16777619
	}
	for i := range b {
		h = (h ^ uint32(i)) * 16777619
		b[i] = byte(h >> 13)
	}
	return b
}

// scribble changes every mutable part of c in place, to show that a store
// keeps no reference to it.
func scribble(c *store.Connection) {
	for k := range c.Values {
		c.Values[k] = "scribbled"
	}
	if c.Values != nil {
		c.Values["added"] = "scribbled"
	}
	for _, v := range c.Secrets {
		for i := range v {
			v[i] ^= 0xa5
		}
	}
	if c.Secrets != nil {
		c.Secrets["added"] = []byte("scribbled")
	}
	for k := range c.Sources {
		c.Sources[k] = connection.SourceTemplate
	}
	for k := range c.Metadata {
		c.Metadata[k] = "scribbled"
	}
	if c.Token != nil {
		for i := range c.Token.Sealed {
			c.Token.Sealed[i] ^= 0x5a
		}
		c.Token.Expiry = c.Token.Expiry.Add(time.Hour)
		c.Token.Refreshable = !c.Token.Refreshable
	}
	c.Health.Reason = "scribbled"
}

// ids returns the ids of cs, in order.
func ids(cs []*store.Connection) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}
