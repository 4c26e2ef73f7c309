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

	"go.uber.org/goleak"

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
	return withParams(tb, base, map[string]string{"search_path": schema})
}

// conformanceStore returns a new Store over an empty, migrated database, for
// the conformance suite, which opens one per subtest. On SQLite that is a
// fresh file. On PostgreSQL, creating and migrating a schema and starting
// new server connections cost far more than most subtests, so schemas are
// reused together with a warm *sql.DB (the Store is made with New, which
// leaves the *sql.DB open): when a test ends its schema's tables are emptied
// with TRUNCATE and the schema goes back to a pool that TestMain drops at
// exit. A test still gets a database nobody else uses and that holds no
// records. These connections set synchronous_commit=off, which changes
// durability after a server crash, not what any session sees.
func conformanceStore(tb testing.TB, d sqlstore.Dialect, opts sqlstore.Options) *sqlstore.Store {
	tb.Helper()
	if d == sqlstore.SQLite {
		return open(tb, d, freshDatabase(tb, d), opts)
	}
	base := postgresDSN(tb)
	sc := pgPool.get(tb, base)
	tb.Cleanup(func() { pgPool.put(tb, sc) })
	s, err := sqlstore.New(sc.db, d, opts)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	if err := s.Migrate(context.Background()); err != nil { // a no-op: checks the recorded version
		tb.Fatalf("Migrate: %v", err)
	}
	return s
}

// pooledSchema is a migrated PostgreSQL schema with a *sql.DB whose
// connections use it.
type pooledSchema struct {
	name string
	db   *sql.DB
}

// schemaPool holds migrated, empty PostgreSQL schemas for reuse.
type schemaPool struct {
	mu   sync.Mutex
	free []pooledSchema
	all  []pooledSchema
	base string
}

var pgPool schemaPool

func (p *schemaPool) get(tb testing.TB, base string) pooledSchema {
	tb.Helper()
	p.mu.Lock()
	p.base = base
	if n := len(p.free); n > 0 {
		sc := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return sc
	}
	p.mu.Unlock()
	name := createSchema(tb, base)
	dsn := withParams(tb, base, map[string]string{"search_path": name, "synchronous_commit": "off"})
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	sc := pooledSchema{name: name, db: db}
	p.mu.Lock()
	p.all = append(p.all, sc)
	p.mu.Unlock()
	s, err := sqlstore.New(db, sqlstore.PostgreSQL, sqlstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(context.Background()); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	return sc
}

// put empties every table of the schema but the migrations record and
// returns it to the pool.
func (p *schemaPool) put(tb testing.TB, sc pooledSchema) {
	tb.Helper()
	ctx := context.Background()
	rows, err := sc.db.QueryContext(ctx, `SELECT tablename FROM pg_tables
		WHERE schemaname = $1 AND tablename <> 'connkit_schema_migrations'`, sc.name)
	if err != nil {
		tb.Fatalf("list tables of %s: %v", sc.name, err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			tb.Fatal(err)
		}
		tables = append(tables, sc.name+"."+name)
	}
	rows.Close()
	if len(tables) > 0 {
		if _, err := sc.db.ExecContext(ctx, "TRUNCATE "+strings.Join(tables, ", ")); err != nil {
			tb.Fatalf("empty %s: %v", sc.name, err)
		}
	}
	p.mu.Lock()
	p.free = append(p.free, sc)
	p.mu.Unlock()
}

// drop closes and drops every schema the pool made.
func (p *schemaPool) drop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.all) == 0 {
		return nil
	}
	admin, err := sql.Open("pgx", p.base)
	if err != nil {
		return err
	}
	defer admin.Close()
	for _, sc := range p.all {
		sc.db.Close()
		if _, err := admin.Exec("DROP SCHEMA " + sc.name + " CASCADE"); err != nil {
			return fmt.Errorf("drop schema %s: %w", sc.name, err)
		}
	}
	p.all, p.free = nil, nil
	return nil
}

// TestMain drops the pooled PostgreSQL schemas (closing their *sql.DB) and
// then checks with goleak that no goroutine outlives the tests: every Store
// and *sql.DB a test opens must be closed by then, which ends database/sql's
// connection openers and the drivers' goroutines.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := pgPool.drop(); err != nil {
		fmt.Fprintln(os.Stderr, "sqlstore tests:", err)
		if code == 0 {
			code = 1
		}
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "sqlstore tests: goroutines outlived the tests:", err)
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

// withParams adds run-time parameters (sent at connection start-up, such as
// search_path) to a PostgreSQL URL or keyword/value DSN.
func withParams(tb testing.TB, dsn string, params map[string]string) string {
	tb.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			tb.Fatalf("parse %s: %v", postgresEnv, err)
		}
		q := u.Query()
		for k, v := range params {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	for k, v := range params {
		dsn += " " + k + "=" + v
	}
	return dsn
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
		return conformanceStore(t, d, sqlstore.Options{Now: opts.Now, LogRetention: opts.LogRetention})
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
	storetest.Benchmark(b, open(b, d, freshDatabase(b, d), sqlstore.Options{}))
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
