package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
)

// The schema, one numbered file per version and dialect:
// migrations/<dialect>/NNNN_name.sql, with {p} standing for the table prefix.
//
//go:embed migrations
var migrationFiles embed.FS

// A migration is one numbered schema version.
type migration struct {
	version int
	name    string // file name, for errors
	sql     string // with {p} still in it
}

// migrations returns the embedded migrations of d in version order. Versions
// start at 1 and have no gaps.
func migrations(d Dialect) ([]migration, error) {
	dir := path.Join("migrations", string(d))
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read migrations: %w", err)
	}
	var list []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		if e.IsDir() || !ok || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("sqlstore: migration %s/%s: want NNNN_name.sql", dir, name)
		}
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlstore: migration %s/%s: want a positive version number", dir, name)
		}
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: read migration %s: %w", name, err)
		}
		list = append(list, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(list, func(a, b migration) int { return a.version - b.version })
	for i, m := range list {
		if m.version != i+1 {
			return nil, fmt.Errorf("sqlstore: migration %s/%s: version %d, want %d (no gaps or duplicates)", dir, m.name, m.version, i+1)
		}
	}
	return list, nil
}

// SchemaVersion is the newest schema version this build of the package
// knows; Migrate brings a database up to it.
func SchemaVersion() int {
	list, err := migrations(SQLite)
	if err != nil {
		return 0
	}
	return len(list)
}

// Migrate creates or upgrades the store's tables to the newest schema
// version this build knows, applying each missing version in order in one
// transaction and recording it in the <prefix>schema_migrations table. It is
// idempotent and safe to call from several processes at once: on PostgreSQL
// the transaction takes an advisory lock first (pg_advisory_xact_lock), on
// SQLite it starts with BEGIN IMMEDIATE. A database that records a version
// this build does not know (a newer build migrated it) is refused with an
// error wrapping [ErrSchemaNewer], and nothing is changed: run the newer
// build, whose Store can still read what this one wrote.
func (s *Store) Migrate(ctx context.Context) error {
	if err := ctxErr(ctx, "migrate"); err != nil {
		return err
	}
	list, err := migrations(s.dialect)
	if err != nil {
		return err
	}
	table := s.prefix + "schema_migrations"
	var newer error
	err = s.inTx(ctx, func(q querier) error {
		if s.dialect == PostgreSQL {
			if _, err := q.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLockKey(s.prefix)); err != nil {
				return fmt.Errorf("take the migration lock: %w", err)
			}
		}
		create := "CREATE TABLE IF NOT EXISTS " + table + " (version BIGINT NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)"
		if _, err := q.ExecContext(ctx, create); err != nil {
			return fmt.Errorf("create %s: %w", table, err)
		}
		applied, err := appliedVersions(ctx, q, table)
		if err != nil {
			return err
		}
		if top := slices.Max(append(slices.Collect(maps.Keys(applied)), 0)); top > len(list) {
			newer = fmt.Errorf("sqlstore: migrate: %w: the database is at version %d, this build knows versions 1 to %d",
				ErrSchemaNewer, top, len(list))
			return newer // rolls back: nothing is written
		}
		insert := rebind(s.dialect, "INSERT INTO "+table+" (version, applied_at) VALUES (?, ?)")
		for _, m := range list {
			if applied[m.version] {
				continue
			}
			if _, err := q.ExecContext(ctx, strings.ReplaceAll(m.sql, "{p}", s.prefix)); err != nil {
				return fmt.Errorf("apply %s: %w", m.name, err)
			}
			if _, err := q.ExecContext(ctx, insert, m.version, ms(s.now())); err != nil {
				return fmt.Errorf("record %s: %w", m.name, err)
			}
		}
		return nil
	})
	if newer != nil {
		return newer
	}
	if err != nil {
		return dbErr(ctx, "migrate", err)
	}
	return nil
}

func appliedVersions(ctx context.Context, q querier, table string) (map[int]bool, error) {
	rows, err := q.QueryContext(ctx, "SELECT version FROM "+table)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	applied := make(map[int]bool)
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read %s: %w", table, err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	return applied, nil
}

// migrationLockKey is the PostgreSQL advisory lock key that serializes
// migrations of the tables with one prefix.
func migrationLockKey(prefix string) int64 {
	h := fnv.New64a()
	h.Write([]byte("connkit-sqlstore-migrate:" + prefix))
	return int64(h.Sum64())
}
