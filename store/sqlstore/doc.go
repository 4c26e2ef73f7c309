// Package sqlstore implements [store.Store] over database/sql, for two
// dialects:
//
//   - [SQLite], through the pure-Go driver modernc.org/sqlite (no cgo): the
//     embedded default, one database file in WAL mode. Writers in this and
//     other processes wait for each other (busy timeout) instead of failing.
//   - [PostgreSQL], through github.com/jackc/pgx/v5/stdlib: many host
//     replicas sharing one database.
//
// [Open] opens a database from a DSN; [New] wraps a *sql.DB the host already
// owns. Either way, call [Store.Migrate] before first use (at every start is
// fine: it is idempotent and safe to run from several processes at once). The
// schema's migrations are embedded in the binary, numbered, and recorded in a
// schema_migrations table. A build started on a database that a newer build
// has migrated refuses it: Migrate returns an error wrapping
// [ErrSchemaNewer] and changes nothing, so an old binary (a rollback, or an
// old replica restarting during a rolling deploy) never writes to a schema
// it does not know.
//
// # Storage
//
// Every table name starts with [Options.TablePrefix] ("connkit_" by default),
// so the tables can live beside a host's own. Times are stored as integer Unix
// milliseconds (UTC) in both dialects; maps as JSON text; sealed secrets as
// BLOB (SQLite) or BYTEA (PostgreSQL). Text keys compare byte-wise in both
// dialects (PostgreSQL columns use the "C" collation), so listings are ordered
// the way Go orders strings.
//
// # Clocks
//
// Expiry decisions (is a lease still held, has a pending authorization
// expired) must be made by one clock for every replica that shares a
// database, or a replica whose clock runs fast takes a lease another still
// holds, and two replicas refresh one token at once. So on PostgreSQL with
// [Options.Now] nil (the production setting) these decisions and a lease's
// expiry are computed in SQL from the database server's clock
// (clock_timestamp(), in Unix milliseconds). SQLite is one file on one
// machine, so it uses the process clock, time.Now. Stamps that only inform
// (UpdatedAt, CreatedAt, log times) come from the process clock in both
// dialects. A non-nil [Options.Now] is used for everything, in both dialects:
// tests inject it.
//
// # Concurrency
//
// Compare-and-swap writes are single UPDATE statements conditioned on the
// revision; multi-statement writes run in one transaction. On SQLite every
// write transaction starts with BEGIN IMMEDIATE, so it takes the write lock up
// front and never fails upgrading a read lock. On PostgreSQL (READ COMMITTED)
// the rows a decision depends on are locked (SELECT ... FOR UPDATE / FOR
// SHARE) before the decision is made, so a template lock check and a
// concurrent Publish are atomic with respect to each other, and log sequence
// numbers come from a per-connection counter row updated in place.
//
// # Errors
//
// Errors wrap the [store] sentinels (ErrNotFound, ErrConflict, ...) and, when
// the database caused them, the driver's error too (*sqlite.Error or
// *pgconn.PgError), reachable with errors.As. Errors never contain field
// values or sealed bytes.
package sqlstore
