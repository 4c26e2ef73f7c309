// Package storetest is the conformance suite for implementations of
// [store.Store]. An implementation proves it keeps the contract documented in
// package store by running every test here with one call, the way
// gocloud.dev's drivertest packages are used:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, opts storetest.Options) store.Store {
//			s, err := mystore.Open(..., mystore.Options{Now: opts.Now, LogRetention: opts.LogRetention})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// and reports comparable performance numbers with [Benchmark].
//
// # What the open function must do
//
// Run calls open once per subtest. Each call must return a new, empty store
// that shares no records with any store returned before (a fresh SQLite file,
// a fresh PostgreSQL schema, a new in-memory value): the suite asserts exact
// listings. open registers its own cleanup with t.Cleanup and fails the test
// with t.Fatal when it cannot open a store.
//
// The store must take every time it needs from [Options.Now]: UpdatedAt and
// CreatedAt stamps, the default time of a log entry, lease expiry and pending
// authorization expiry. The suite drives that clock forward instead of
// sleeping, so a store that reads the wall clock or its database's now()
// fails the expiry tests. (A store may decide expiry by its database's clock
// when the host configures no clock, as store/sqlstore does on PostgreSQL;
// when open passes Options.Now, that clock must decide.) It must keep at most
// [Options.LogRetention] log entries per connection, and every entry when
// Options.LogRetention is negative.
//
// # How results are compared
//
// Records are compared field by field with go-cmp, with two allowances:
//
//   - Times are compared as instants at millisecond precision: a returned time
//     may differ from the one written by less than a millisecond (a store may
//     truncate or round to the millisecond) and may be in another location.
//     A zero time must come back as a zero time (IsZero).
//   - A nil map or slice and an empty one are equal, so a store need not
//     remember which of the two it was given. A nil *Token is not equal to a
//     non-nil one, and a key present with an empty value ("" or empty bytes)
//     must stay present.
//
// Sealed values are opaque bytes (any byte, including zero bytes) and must
// come back unchanged.
//
// # How the suite reads the contract
//
// The contract is the doc comments of package store; the suite checks each
// point written there, including the edge cases: a limit of zero or less
// lists nothing; AppendLog to an unknown connection is [store.ErrNotFound];
// AcquireLease with a ttl of zero or less is an error; a zero
// PendingAuth.CreatedAt is set by the store; a positive PendingAuth.TTL
// makes the store set ExpiresAt from its own clock; an expired pending
// authorization is replaced by PutPending; CreatedAt and UpdatedAt passed
// in are ignored; Publish treats ids as a set and records a version with
// none; and something that expires has expired when the store's clock
// reads exactly its expiry (the suite checks 1 ms before and at the
// instant). Where store.go is terse, the suite reads it as follows:
//
//   - Every error asserted is matched with errors.Is against the sentinels of
//     package store ([store.ErrNotFound], [store.ErrConflict],
//     [store.ErrLeaseHeld], [store.ErrTemplateLocked], [store.ErrInvalid],
//     [store.ErrFieldsChanged]), connection.ErrBadRef or context.Canceled.
//   - Each write that [store.ErrInvalid] lists is called with the empty
//     identifier (and PutConnection with each kind of invalid Ref, for a
//     create and for an update) and must write nothing.
//   - PutConnection with a non-zero revision for a connection that does not
//     exist is [store.ErrConflict] (the stored revision, 0, differs). So is
//     an update that moves a connection to a Ref another connection holds.
//     A connection may change its Ref; the old Ref then finds nothing.
//   - A connection deleted with DeleteConnection may be created again, with
//     revision 0, under the same id; it starts with an empty log, also when
//     appends raced with the delete.
//   - Log entry sequence numbers only need to increase per connection; they
//     need not start at 1 or be contiguous, and they keep increasing after
//     retention dropped the oldest entries.
//   - Every method called with a cancelled context returns an error matching
//     context.Canceled and changes nothing.
//
// The suite never relies on a store accepting a connection without its
// instance: it stores an instance before the connections that reference it,
// so an implementation may enforce that reference (for example with a
// foreign key).
//
// Each group of subtests is named after the part of the contract it checks
// (Connections, Instances, Templates, Pending, Logs, Leases, Context), so a
// failing run names the broken promise, and one subtest can be run with
// -run, for example -run 'Conformance/Leases/ExpiredLeaseCanBeTaken'.
package storetest
