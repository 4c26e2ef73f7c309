package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	// The two database/sql drivers this package speaks to: "sqlite" and "pgx".
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/connkit/connkit/store"
)

// Dialect names the SQL dialect of a database.
type Dialect string

// The supported dialects.
const (
	// SQLite is SQLite through modernc.org/sqlite (database/sql driver name
	// "sqlite").
	SQLite Dialect = "sqlite"
	// PostgreSQL is PostgreSQL through github.com/jackc/pgx/v5/stdlib
	// (database/sql driver name "pgx").
	PostgreSQL Dialect = "postgres"
)

// driverName returns the database/sql driver name Open uses for d.
func (d Dialect) driverName() string {
	switch d {
	case SQLite:
		return "sqlite"
	case PostgreSQL:
		return "pgx"
	}
	return ""
}

func (d Dialect) valid() bool { return d.driverName() != "" }

// DefaultLogRetention is how many log entries per connection a Store keeps
// when Options.LogRetention is zero: [store.DefaultLogRetention].
const DefaultLogRetention = store.DefaultLogRetention

// DefaultTablePrefix is the table name prefix when Options.TablePrefix is
// empty.
const DefaultTablePrefix = "connkit_"

// ErrDialect is returned by Open and New for a dialect other than SQLite and
// PostgreSQL.
var ErrDialect = errors.New("sqlstore: unknown dialect")

// ErrSchemaNewer is returned by [Store.Migrate] when the database records a
// schema version newer than [SchemaVersion]: a newer build of this package
// migrated it, and this one must not write to a schema it does not know.
// Deploy the newer build (or restore the database); nothing was changed.
var ErrSchemaNewer = errors.New("sqlstore: database schema is newer than this build knows")

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// Now, when set, is the store's only clock: it stamps UpdatedAt,
	// CreatedAt and log times and decides when pending authorizations and
	// leases expire. Tests set it (the conformance suite drives it forward
	// instead of sleeping).
	//
	// Nil, the production setting, means:
	//   - On PostgreSQL, lease and pending-authorization expiry are decided
	//     by the database server's clock, computed in SQL
	//     (clock_timestamp()): a lease's Expires is the server's now + ttl,
	//     so is the ExpiresAt of a pending authorization put with a TTL,
	//     and "has it expired" compares with the server's now. Replicas that
	//     share the database thus agree on who holds a lease and when a
	//     pending authorization expires even when their own clocks disagree
	//     (a VM pause, an NTP step). Stamps (UpdatedAt, CreatedAt, log
	//     times) come from time.Now: they order nothing between replicas.
	//   - On SQLite, time.Now for everything: one database file is used from
	//     one machine, so every process reads the same clock.
	//
	// A Now set on PostgreSQL with several replicas makes each replica
	// decide leases by its own clock again: a lease is then only as good as
	// the agreement of their clocks.
	Now func() time.Time
	// LogRetention is how many log entries are kept per connection; older
	// entries are dropped as new ones are appended. Zero means
	// DefaultLogRetention; a negative value keeps every entry, as for every
	// store (see [store.DefaultLogRetention]).
	LogRetention int
	// TablePrefix is prepended to every table and index name. Empty means
	// DefaultTablePrefix. It must be lower-case ASCII letters, digits and
	// underscores, starting with a letter, at most 40 bytes.
	TablePrefix string
}

var prefixPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// Store is a [store.Store] over a SQL database. It is safe for concurrent use
// by many goroutines, and many Stores in many processes may share one
// database.
type Store struct {
	db        *sql.DB
	owned     bool // Close closes db
	dialect   Dialect
	prefix    string
	now       func() time.Time // Options.Now, else time.Now
	dbClock   bool             // expiry decided by the database's clock (PostgreSQL, Options.Now nil)
	retention int
	q         queries
	stmts     stmtCache
}

var _ store.Store = (*Store)(nil)

// Open opens the database named by dsn with the driver of dialect and returns
// a Store over it. Call [Store.Migrate] before using it, and [Store.Close]
// when done.
//
// For SQLite, dsn is a file path or a "file:" URI, optionally with
// modernc.org/sqlite query parameters. Open adds what the store relies on
// unless the DSN sets it already: a busy timeout of 10 s, WAL journal mode,
// foreign keys on and _txlock=immediate (see [SQLiteDSN]). Use a file: an
// in-memory database would be a different, empty database on every pooled
// connection. Commits are synced to disk (SQLite's default synchronous=FULL),
// so a rotated refresh token survives a power loss; a host that can afford to
// lose the last commits may add _pragma=synchronous(NORMAL) for faster
// writes.
//
// For PostgreSQL, dsn is any DSN pgx accepts, such as
// "postgres://user@host:5432/db?sslmode=disable". Tables are created in the
// connection's current schema (set search_path to choose another).
func Open(ctx context.Context, dialect Dialect, dsn string, opts Options) (*Store, error) {
	if !dialect.valid() {
		return nil, fmt.Errorf("%w %q", ErrDialect, string(dialect))
	}
	if dialect == SQLite {
		dsn = SQLiteDSN(dsn)
	}
	db, err := sql.Open(dialect.driverName(), dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s database: %w", dialect, err)
	}
	s, err := New(db, dialect, opts)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.owned = true
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlstore: connect to %s database: %w", dialect, err)
	}
	return s, nil
}

// New returns a Store over db, a database the caller opened and owns:
// [Store.Close] leaves it open. db must have been opened with the driver of
// dialect ("sqlite" from modernc.org/sqlite, or "pgx" from
// github.com/jackc/pgx/v5/stdlib). A SQLite database should be opened with a
// busy timeout and in WAL mode, as [SQLiteDSN] arranges, or concurrent writers
// fail with SQLITE_BUSY instead of waiting.
func New(db *sql.DB, dialect Dialect, opts Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	if !dialect.valid() {
		return nil, fmt.Errorf("%w %q", ErrDialect, string(dialect))
	}
	prefix := opts.TablePrefix
	if prefix == "" {
		prefix = DefaultTablePrefix
	}
	if !prefixPattern.MatchString(prefix) {
		return nil, fmt.Errorf("sqlstore: table prefix %q: want lower-case letters, digits and underscores, starting with a letter, at most 40 bytes", prefix)
	}
	now, dbClock := opts.Now, false
	if now == nil {
		now, dbClock = time.Now, dialect == PostgreSQL
	}
	retention := opts.LogRetention
	if retention == 0 {
		retention = DefaultLogRetention
	}
	return &Store{
		db:        db,
		dialect:   dialect,
		prefix:    prefix,
		now:       now,
		dbClock:   dbClock,
		retention: retention,
		q:         buildQueries(dialect, prefix),
	}, nil
}

// Close releases the store's prepared statements and closes the database if
// Open opened it; a Store made by New leaves its *sql.DB to the caller. The
// Store must not be used after Close. Close is safe to call more than once.
func (s *Store) Close() error {
	s.closeStmts()
	if !s.owned {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlstore: close: %w", err)
	}
	return nil
}

// Dialect returns the store's dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// SQLiteDSN returns dsn (a SQLite file path or "file:" URI) with the
// modernc.org/sqlite parameters a Store relies on added, each only when dsn
// does not already set it:
//
//	_pragma=busy_timeout(10000)  concurrent writers wait up to 10 s
//	_pragma=journal_mode(WAL)    readers do not block the writer
//	_pragma=foreign_keys(1)      foreign keys are enforced
//	_txlock=immediate            transactions take the write lock up front
//
// Hosts that open their own SQLite *sql.DB for [New] can use it too.
func SQLiteDSN(dsn string) string {
	base, query, _ := strings.Cut(dsn, "?")
	has := func(s string) bool { return strings.Contains(strings.ToLower(query), s) }
	var add []string
	if !has("busy_timeout") && !has("_timeout") {
		add = append(add, "_pragma=busy_timeout(10000)")
	}
	if !has("journal_mode") && !has("_journal") {
		add = append(add, "_pragma=journal_mode(WAL)")
	}
	if !has("foreign_keys") && !has("_fk") {
		add = append(add, "_pragma=foreign_keys(1)")
	}
	if !has("_txlock") {
		add = append(add, "_txlock=immediate")
	}
	if len(add) == 0 {
		return dsn
	}
	if query != "" {
		return base + "?" + query + "&" + strings.Join(add, "&")
	}
	return base + "?" + strings.Join(add, "&")
}

// clockArg is the argument for a query's clock placeholder (see nowSQL): the
// store's clock in Unix milliseconds, or NULL when the database's clock
// decides.
func (s *Store) clockArg() any {
	if s.dbClock {
		return nil
	}
	return ms(s.now())
}

// querier is what *sql.DB, *sql.Tx and *sql.Conn have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn in a write transaction and commits it when fn returns nil.
// On SQLite the transaction is BEGIN IMMEDIATE on a dedicated connection,
// whatever the DSN says, so it holds the write lock from its first statement
// (a deferred transaction that reads and then writes can fail with
// SQLITE_BUSY when another writer got in between). On PostgreSQL it is a
// READ COMMITTED transaction; fn locks the rows its decisions depend on.
func (s *Store) inTx(ctx context.Context, fn func(q querier) error) error {
	if s.dialect == SQLite {
		return s.sqliteTx(ctx, fn)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (s *Store) sqliteTx(ctx context.Context, fn func(q querier) error) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	if err = fn(conn); err == nil {
		// COMMIT is not interrupted by ctx: the write lock is held, so it
		// does not wait, and an interrupted COMMIT would leave the outcome
		// unknown. A call cancelled after its statements ran thus commits
		// and reports success; one cancelled earlier failed in fn.
		if _, err = conn.ExecContext(context.WithoutCancel(ctx), "COMMIT"); err == nil {
			return nil
		}
	}
	// Roll back even when ctx is done. SQLite may have rolled back already
	// (an interrupted statement ends its transaction); whenever ROLLBACK
	// fails, the connection's state is unknown, so it is discarded rather
	// than returned to the pool.
	if _, rbErr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rbErr != nil {
		_ = conn.Raw(func(any) error { return driverErrBadConn })
	}
	return err
}

// ctxErr returns ctx's error, wrapped for operation op, if ctx is done.
func ctxErr(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return nil
}

// dbErr wraps err, which the database returned for operation op. When ctx
// is done the context's error is wrapped too: a driver does not always say
// that it stopped because of the context (SQLite reports "interrupted").
func dbErr(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("sqlstore: %s: %w (%w)", op, cerr, err)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// sentinelErr wraps a store sentinel for operation op, with the database
// error that caused it (if any) reachable too.
func sentinelErr(op string, sentinel, cause error) error {
	if cause == nil {
		return fmt.Errorf("sqlstore: %s: %w", op, sentinel)
	}
	return fmt.Errorf("sqlstore: %s: %w (%w)", op, sentinel, cause)
}

// rebind turns ? placeholders into $1, $2, ... for PostgreSQL. The package's
// queries contain no ? inside string literals.
func rebind(d Dialect, q string) string {
	if d != PostgreSQL || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}
