package sqlstore_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/sqlstore"
)

func refOf(instance, variable string) connection.Ref {
	return connection.Ref{InstanceID: instance, Variable: variable}
}

// Migrate run again on a migrated database changes nothing: no error, each
// version recorded once, and the data written in between still there.
func TestMigrateIdempotent(t *testing.T) {
	dialects(t, func(t *testing.T, d sqlstore.Dialect) {
		ctx := context.Background()
		dsn := freshDatabase(t, d)
		s := open(t, d, dsn, sqlstore.Options{}) // migrates once
		mustPut(t, s, newConnection("c1", "i1"))
		for range 2 {
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate on a migrated database: %v", err)
			}
		}
		wantVersions(t, appliedVersions(t, rawDB(t, d, dsn)))
		got, err := s.GetConnectionByID(ctx, "c1")
		if err != nil {
			t.Fatalf("GetConnectionByID after migrating again: %v", err)
		}
		if got.Values["host"] != "api.example.com" || got.Revision != 1 {
			t.Errorf("after migrating again: %+v", got)
		}
	})
}

// Two processes starting at once both migrate the same empty database: both
// succeed, the schema is created once, and both stores then work on it.
func TestMigrateConcurrent(t *testing.T) {
	dialects(t, func(t *testing.T, d sqlstore.Dialect) {
		ctx := context.Background()
		dsn := freshDatabase(t, d)
		const n = 4
		stores := make([]*sqlstore.Store, n)
		for i := range stores {
			s, err := sqlstore.Open(ctx, d, dsn, sqlstore.Options{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			stores[i] = s
		}
		errs := make([]error, n)
		var start, done sync.WaitGroup
		start.Add(1)
		for i, s := range stores {
			done.Go(func() {
				start.Wait()
				errs[i] = s.Migrate(ctx)
			})
		}
		start.Done()
		done.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("concurrent Migrate %d: %v", i, err)
			}
		}
		wantVersions(t, appliedVersions(t, rawDB(t, d, dsn)))
		mustPut(t, stores[0], newConnection("c1", "i1"))
		if _, err := stores[n-1].GetConnectionByID(ctx, "c1"); err != nil {
			t.Errorf("a second store does not see the first one's write: %v", err)
		}
	})
}

// Stores with different table prefixes share a database without sharing
// records, and each migrates its own tables.
func TestTablePrefix(t *testing.T) {
	dialects(t, func(t *testing.T, d sqlstore.Dialect) {
		ctx := context.Background()
		dsn := freshDatabase(t, d)
		a := open(t, d, dsn, sqlstore.Options{})
		b := open(t, d, dsn, sqlstore.Options{TablePrefix: "other_"})
		mustPut(t, a, newConnection("c1", "i1"))
		if _, err := b.GetConnectionByID(ctx, "c1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("store with prefix other_ sees the default prefix's record: err = %v", err)
		}
		mustPut(t, b, newConnection("c1", "i1"))
		var n int
		if err := rawDB(t, d, dsn).QueryRow("SELECT count(*) FROM other_connections").Scan(&n); err != nil || n != 1 {
			t.Errorf("other_connections holds %d rows (err %v), want 1", n, err)
		}
	})
}

func TestOptionsRejected(t *testing.T) {
	ctx := context.Background()
	if _, err := sqlstore.Open(ctx, "mysql", "x", sqlstore.Options{}); !errors.Is(err, sqlstore.ErrDialect) {
		t.Errorf("Open with an unknown dialect: err = %v, want ErrDialect", err)
	}
	for _, prefix := range []string{"Upper_", "1abc", "a-b", "x; DROP TABLE y; --", "a\"b"} {
		_, err := sqlstore.Open(ctx, sqlstore.SQLite, freshDatabase(t, sqlstore.SQLite), sqlstore.Options{TablePrefix: prefix})
		if err == nil {
			t.Errorf("Open accepted table prefix %q", prefix)
		}
	}
	if _, err := sqlstore.New(nil, sqlstore.SQLite, sqlstore.Options{}); err == nil {
		t.Error("New accepted a nil *sql.DB")
	}
}

func TestSQLiteDSN(t *testing.T) {
	const all = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	for _, tc := range []struct{ in, want string }{
		{"/tmp/x.db", "/tmp/x.db?" + all},
		{"file:/tmp/x.db?mode=rwc", "file:/tmp/x.db?mode=rwc&" + all},
		{"x.db?_pragma=busy_timeout(50)", "x.db?_pragma=busy_timeout(50)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"},
		{"x.db?_txlock=deferred&_journal_mode=DELETE", "x.db?_txlock=deferred&_journal_mode=DELETE&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"},
		{"x.db?" + all, "x.db?" + all},
	} {
		if diff := cmp.Diff(tc.want, sqlstore.SQLiteDSN(tc.in)); diff != "" {
			t.Errorf("SQLiteDSN(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

// New wraps a database the host opened and owns: Close leaves it open.
func TestNewLeavesDBOpen(t *testing.T) {
	ctx := context.Background()
	dsn := freshDatabase(t, sqlstore.SQLite)
	db := rawDB(t, sqlstore.SQLite, dsn)
	s, err := sqlstore.New(db, sqlstore.SQLite, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, newConnection("c1", "i1"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.PingContext(ctx); err != nil {
		t.Errorf("Close of a Store made by New closed the host's *sql.DB: %v", err)
	}
}

// A database that a newer build migrated (it records a schema version this
// build does not know) is refused: an older binary must not write to a schema
// it does not understand. Migrate fails with ErrSchemaNewer, naming both
// versions, and changes nothing.
func TestMigrateRefusesNewerSchema(t *testing.T) {
	dialects(t, func(t *testing.T, d sqlstore.Dialect) {
		ctx := context.Background()
		dsn := freshDatabase(t, d)
		s := open(t, d, dsn, sqlstore.Options{})
		db := rawDB(t, d, dsn)
		newer := sqlstore.SchemaVersion() + 1
		if _, err := db.ExecContext(ctx, "INSERT INTO connkit_schema_migrations (version, applied_at) VALUES ("+
			strconv.Itoa(newer)+", 0)"); err != nil {
			t.Fatal(err)
		}
		err := s.Migrate(ctx)
		if !errors.Is(err, sqlstore.ErrSchemaNewer) {
			t.Fatalf("Migrate on a database at schema version %d: err = %v, want ErrSchemaNewer", newer, err)
		}
		for _, want := range []string{strconv.Itoa(newer), strconv.Itoa(sqlstore.SchemaVersion())} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name version %s", err, want)
			}
		}
		got := appliedVersions(t, db)
		if len(got) != newer || got[len(got)-1] != newer {
			t.Errorf("after the refused Migrate, schema_migrations holds %v, want 1..%d untouched", got, newer)
		}
		// A fresh, empty database still migrates.
		open(t, d, freshDatabase(t, d), sqlstore.Options{})
	})
}
