package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/sqlstore"
)

// sabotage installs a trigger that fails the statements it names: every
// DELETE from the logs table, and every UPDATE of a connection that sets
// Health.Reason to "boom". It returns a function that removes them.
func sabotage(t *testing.T, d sqlstore.Dialect, db *sql.DB) (repair func()) {
	t.Helper()
	var install, remove []string
	if d == sqlstore.SQLite {
		install = []string{
			`CREATE TRIGGER test_fail_log_delete BEFORE DELETE ON connkit_logs
				BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
			`CREATE TRIGGER test_fail_update BEFORE UPDATE ON connkit_connections
				WHEN NEW.health_reason = 'boom'
				BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
		}
		remove = []string{`DROP TRIGGER test_fail_log_delete`, `DROP TRIGGER test_fail_update`}
	} else {
		install = []string{
			`CREATE FUNCTION test_fail() RETURNS trigger LANGUAGE plpgsql
				AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`,
			`CREATE TRIGGER test_fail_log_delete BEFORE DELETE ON connkit_logs
				FOR EACH ROW EXECUTE FUNCTION test_fail()`,
			`CREATE TRIGGER test_fail_update BEFORE UPDATE ON connkit_connections
				FOR EACH ROW WHEN (NEW.health_reason = 'boom') EXECUTE FUNCTION test_fail()`,
		}
		remove = []string{
			`DROP TRIGGER test_fail_log_delete ON connkit_logs`,
			`DROP TRIGGER test_fail_update ON connkit_connections`,
		}
	}
	for _, stmt := range install {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("install failing trigger: %v", err)
		}
	}
	return func() {
		t.Helper()
		for _, stmt := range remove {
			if _, err := db.Exec(stmt); err != nil {
				t.Fatalf("remove failing trigger: %v", err)
			}
		}
	}
}

// wantDriverError fails unless err carries the database driver's own error,
// reachable with errors.As, and none of the store's sentinels.
func wantDriverError(t *testing.T, err error, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded; the injected failure should have failed it", what)
	}
	var pgErr *pgconn.PgError
	var sqliteErr *sqlite.Error
	if !errors.As(err, &pgErr) && !errors.As(err, &sqliteErr) {
		t.Errorf("%s: error %v does not wrap the driver's error", what, err)
	}
	for _, sentinel := range []error{store.ErrNotFound, store.ErrConflict, store.ErrLeaseHeld, store.ErrTemplateLocked} {
		if errors.Is(err, sentinel) {
			t.Errorf("%s: error %v matches %v, but a database failure is not a contract outcome", what, err, sentinel)
		}
	}
}

// A write whose transaction fails part-way leaves the previous revision
// readable and changes nothing else: DeleteConnection removes the connection
// row first and its logs after, so a failure deleting the logs must bring
// the row back; an UPDATE that fails leaves the old revision, and the
// revision it failed to write is still free.
func TestFailedWriteKeepsPreviousRevision(t *testing.T) {
	dialects(t, func(t *testing.T, d sqlstore.Dialect) {
		ctx := context.Background()
		dsn := freshDatabase(t, d) // not a pooled schema: triggers are added
		s := open(t, d, dsn, sqlstore.Options{})
		mustPut(t, s, newConnection("c1", "i1"))
		for _, ev := range []string{"connected", "refreshed"} {
			if _, err := s.AppendLog(ctx, &store.LogEntry{ConnectionID: "c1", Event: ev}); err != nil {
				t.Fatal(err)
			}
		}
		before, err := s.GetConnectionByID(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		repair := sabotage(t, d, rawDB(t, d, dsn))

		wantDriverError(t, s.DeleteConnection(ctx, "c1", before.Revision), "DeleteConnection failing at its log delete")
		boom := newConnection("c1", "i1")
		boom.Revision = before.Revision
		boom.Values["host"] = "changed.example.com"
		boom.Health = connection.Health{Status: connection.StatusError, Reason: "boom"}
		_, err = s.PutConnection(ctx, boom)
		wantDriverError(t, err, "PutConnection failing in its UPDATE")

		after, err := s.GetConnectionByID(ctx, "c1")
		if err != nil {
			t.Fatalf("GetConnectionByID after the failed writes: %v", err)
		}
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("failed writes changed the connection (-before +after):\n%s", diff)
		}
		logs, err := s.ListLogs(ctx, "c1", 0, 10)
		if err != nil || len(logs) != 2 {
			t.Errorf("after the failed delete, ListLogs = %d entries (err %v), want the 2 appended", len(logs), err)
		}

		repair()
		boom.Health.Reason = "fine"
		if rev, err := s.PutConnection(ctx, boom); err != nil || rev != before.Revision+1 {
			t.Errorf("PutConnection at the revision the failed write left: rev %d, err %v; want %d", rev, err, before.Revision+1)
		}
		if err := s.DeleteConnection(ctx, "c1", before.Revision+1); err != nil {
			t.Errorf("DeleteConnection once the failure is repaired: %v", err)
		}
	})
}

// A DeleteConnection cancelled while its transaction waits part-way (its
// connection row already deleted, its log delete blocked on a row lock held
// by another session) returns context.Canceled and leaves everything as it
// was. PostgreSQL only: SQLite takes its write lock before the first
// statement, so it cannot be blocked part-way.
func TestCancelledMidTransaction(t *testing.T) {
	postgresDSN(t)
	ctx := context.Background()
	d := sqlstore.PostgreSQL
	dsn := freshDatabase(t, d)
	s := open(t, d, dsn, sqlstore.Options{})
	mustPut(t, s, newConnection("c1", "i1"))
	if _, err := s.AppendLog(ctx, &store.LogEntry{ConnectionID: "c1", Event: "connected"}); err != nil {
		t.Fatal(err)
	}
	before, err := s.GetConnectionByID(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}

	// Another session locks the log rows.
	raw := rawDB(t, d, dsn)
	blocker, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback()
	var blockerPID int
	if err := blocker.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&blockerPID); err != nil {
		t.Fatal(err)
	}
	if _, err := blocker.ExecContext(ctx, "SELECT 1 FROM connkit_logs WHERE connection_id = 'c1' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}

	delCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.DeleteConnection(delCtx, "c1", before.Revision) }()

	// Wait until the delete is blocked behind the lock: by then it has
	// deleted the connection row in its transaction.
	deadline := time.Now().Add(20 * time.Second)
	for {
		var waiting int
		err := raw.QueryRowContext(ctx,
			"SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", blockerPID).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("DeleteConnection returned (%v) without waiting for the locked log rows", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("DeleteConnection never blocked on the locked log rows")
		}
		time.Sleep(5 * time.Millisecond) // polling pg_stat_activity, not timing the test
	}
	cancel()
	err = <-done
	if !errors.Is(err, context.Canceled) {
		t.Errorf("DeleteConnection cancelled part-way: error = %v, want one matching context.Canceled", err)
	}
	if err := blocker.Rollback(); err != nil {
		t.Fatal(err)
	}

	after, err := s.GetConnectionByID(ctx, "c1")
	if err != nil {
		t.Fatalf("GetConnectionByID after the cancelled delete: %v", err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("the cancelled delete changed the connection (-before +after):\n%s", diff)
	}
	if logs, err := s.ListLogs(ctx, "c1", 0, 10); err != nil || len(logs) != 1 {
		t.Errorf("after the cancelled delete, ListLogs = %d entries (err %v), want 1", len(logs), err)
	}
}
