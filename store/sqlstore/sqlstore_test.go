package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/sqlstore"
	"github.com/connkit/connkit/store/storetest"
)

// postgresEnv names the environment variable with the DSN of a PostgreSQL
// database the tests may create schemas in.
const postgresEnv = "CONNKIT_TEST_POSTGRES_DSN"

// postgresDSN returns the DSN from the environment. Without one the test is
// skipped, except under CI (CI=true), where it fails: CI must run them.
func postgresDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("CI=true but %s is unset: the PostgreSQL tests must run in CI (see .ci/postgres.sh)", postgresEnv)
		}
		tb.Skipf("set %s to run the PostgreSQL conformance tests", postgresEnv)
	}
	return dsn
}

// freshDatabase returns the DSN of a new, empty database of dialect d that is
// removed when the test ends: a file in t.TempDir() for SQLite, a uniquely
// named schema (selected with search_path) for PostgreSQL.
func freshDatabase(tb testing.TB, d sqlstore.Dialect) string {
	tb.Helper()
	if d == sqlstore.SQLite {
		return filepath.Join(tb.TempDir(), "connkit.db")
	}
	base := postgresDSN(tb)
	schema := createSchema(tb, base)
	tb.Cleanup(func() { dropSchema(tb, base, schema) })
	return withSearchPath(tb, base, schema)
}

// migratedDatabase is freshDatabase for tests that only need an empty,
// migrated database with the default table prefix, such as the conformance
// suite, which opens one per subtest. On PostgreSQL, creating and migrating
// a schema costs far more than most subtests, so schemas are reused: when a
// test ends its schema's tables are emptied (TRUNCATE) and the schema goes
// back to a pool that TestMain drops at exit. A test still gets a database
// nobody else uses and that holds no records.
func migratedDatabase(tb testing.TB, d sqlstore.Dialect) string {
	tb.Helper()
	if d == sqlstore.SQLite {
		return freshDatabase(tb, d)
	}
	base := postgresDSN(tb)
	schema := pgPool.get(tb, base)
	tb.Cleanup(func() { pgPool.put(tb, base, schema) })
	return withSearchPath(tb, base, schema)
}

// schemaPool holds migrated, empty PostgreSQL schemas for reuse.
type schemaPool struct {
	mu   sync.Mutex
	free []string
	all  []string
	base string
}

var pgPool schemaPool

func (p *schemaPool) get(tb testing.TB, base string) string {
	tb.Helper()
	p.mu.Lock()
	p.base = base
	if n := len(p.free); n > 0 {
		schema := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return schema
	}
	p.mu.Unlock()
	schema := createSchema(tb, base)
	p.mu.Lock()
	p.all = append(p.all, schema)
	p.mu.Unlock()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.PostgreSQL, withSearchPath(tb, base, schema), sqlstore.Options{})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	return schema
}

// put empties every table of schema but the migrations record and returns
// it to the pool.
func (p *schemaPool) put(tb testing.TB, base, schema string) {
	tb.Helper()
	db := adminDB(tb, base)
	defer db.Close()
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, `SELECT tablename FROM pg_tables
		WHERE schemaname = $1 AND tablename <> 'connkit_schema_migrations'`, schema)
	if err != nil {
		tb.Fatalf("list tables of %s: %v", schema, err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			tb.Fatal(err)
		}
		tables = append(tables, schema+"."+name)
	}
	rows.Close()
	if len(tables) > 0 {
		if _, err := db.ExecContext(ctx, "TRUNCATE "+strings.Join(tables, ", ")); err != nil {
			tb.Fatalf("empty %s: %v", schema, err)
		}
	}
	p.mu.Lock()
	p.free = append(p.free, schema)
	p.mu.Unlock()
}

// drop drops every schema the pool made.
func (p *schemaPool) drop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.all) == 0 {
		return nil
	}
	db, err := sql.Open("pgx", p.base)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, schema := range p.all {
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			return fmt.Errorf("drop schema %s: %w", schema, err)
		}
	}
	p.all, p.free = nil, nil
	return nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if err := pgPool.drop(); err != nil {
		fmt.Fprintln(os.Stderr, "sqlstore tests:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func adminDB(tb testing.TB, base string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	return db
}

func createSchema(tb testing.TB, base string) string {
	tb.Helper()
	schema := "connkit_test_" + store.NewID()
	db := adminDB(tb, base)
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	return schema
}

func dropSchema(tb testing.TB, base, schema string) {
	tb.Helper()
	db := adminDB(tb, base)
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
		tb.Errorf("drop schema %s: %v", schema, err)
	}
}

// withSearchPath adds search_path (sent as a run-time parameter at
// connection start-up) to a PostgreSQL URL or keyword/value DSN.
func withSearchPath(tb testing.TB, dsn, schema string) string {
	tb.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			tb.Fatalf("parse %s: %v", postgresEnv, err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// open opens and migrates a Store on dsn and closes it when the test ends.
func open(tb testing.TB, d sqlstore.Dialect, dsn string, opts sqlstore.Options) *sqlstore.Store {
	tb.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, d, dsn, opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	if err := s.Migrate(ctx); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	return s
}

// rawDB opens a plain *sql.DB on the database at dsn, for tests that inspect
// or sabotage the schema behind a Store's back.
func rawDB(tb testing.TB, d sqlstore.Dialect, dsn string) *sql.DB {
	tb.Helper()
	driver := "pgx"
	if d == sqlstore.SQLite {
		driver, dsn = "sqlite", sqlstore.SQLiteDSN(dsn)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func conformance(t *testing.T, d sqlstore.Dialect) {
	storetest.Run(t, func(t *testing.T, opts storetest.Options) store.Store {
		return open(t, d, migratedDatabase(t, d), sqlstore.Options{Now: opts.Now, LogRetention: opts.LogRetention})
	})
}

func TestConformanceSQLite(t *testing.T) { conformance(t, sqlstore.SQLite) }

func TestConformancePostgres(t *testing.T) {
	postgresDSN(t)
	conformance(t, sqlstore.PostgreSQL)
}

// dialects runs f once per dialect as subtests, skipping (or, under CI,
// failing) PostgreSQL without a DSN.
func dialects(t *testing.T, f func(t *testing.T, d sqlstore.Dialect)) {
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.PostgreSQL} {
		t.Run(string(d), func(t *testing.T) {
			if d == sqlstore.PostgreSQL {
				postgresDSN(t)
			}
			f(t, d)
		})
	}
}

func benchmark(b *testing.B, d sqlstore.Dialect) {
	storetest.Benchmark(b, open(b, d, migratedDatabase(b, d), sqlstore.Options{}))
}

func BenchmarkSQLite(b *testing.B) { benchmark(b, sqlstore.SQLite) }

func BenchmarkPostgres(b *testing.B) {
	postgresDSN(b)
	benchmark(b, sqlstore.PostgreSQL)
}

// appliedVersions reads the schema_migrations table.
func appliedVersions(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.Query("SELECT version FROM connkit_schema_migrations ORDER BY version")
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func wantVersions(t *testing.T, got []int) {
	t.Helper()
	want := sqlstore.SchemaVersion()
	if want < 1 {
		t.Fatalf("SchemaVersion() = %d, want at least 1", want)
	}
	if len(got) != want {
		t.Fatalf("schema_migrations holds versions %v, want each of 1..%d once", got, want)
	}
	for i, v := range got {
		if v != i+1 {
			t.Fatalf("schema_migrations holds versions %v, want each of 1..%d once", got, want)
		}
	}
}

// newConnection returns a minimal connection record for the tests here.
func newConnection(id, instance string) *store.Connection {
	return &store.Connection{
		ID:     id,
		Ref:    refOf(instance, "crm"),
		Values: map[string]string{"host": "api.example.com"},
	}
}

func mustPut(t *testing.T, s *sqlstore.Store, c *store.Connection) int64 {
	t.Helper()
	rev, err := s.PutConnection(context.Background(), c)
	if err != nil {
		t.Fatalf("PutConnection %s: %v", c.ID, err)
	}
	return rev
}
