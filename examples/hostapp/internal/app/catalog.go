package app

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/connkit/connkit/store/sqlstore"
)

// catalog is the host application's own record of its integration
// versions, in a table of its own beside connkit's: which connection
// template each version's Demo Cloud variable references, and whether the
// version is published. connkit keeps integration definitions in memory
// (Host.RegisterIntegration), so the host registers every version from
// here at start.
type catalog struct {
	db      *sql.DB
	dialect sqlstore.Dialect
	table   string
}

// version is one row of the catalog.
type version struct {
	Integration string
	Version     int
	Template    string
	Published   bool
	Created     time.Time
}

func newCatalog(ctx context.Context, db *sql.DB, dialect sqlstore.Dialect, prefix string) (*catalog, error) {
	c := &catalog{db: db, dialect: dialect, table: prefix + "hostapp_versions"}
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+c.table+` (
		integration_id TEXT NOT NULL,
		version INTEGER NOT NULL,
		template_id TEXT NOT NULL,
		published INTEGER NOT NULL DEFAULT 0,
		created_at BIGINT NOT NULL,
		PRIMARY KEY (integration_id, version))`)
	if err != nil {
		return nil, fmt.Errorf("catalog: create table: %w", err)
	}
	return c, nil
}

// q rewrites ? placeholders as $1, $2, ... for PostgreSQL.
func (c *catalog) q(query string) string {
	if c.dialect != sqlstore.PostgreSQL {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// versions lists an integration's versions, oldest first.
func (c *catalog) versions(ctx context.Context, integration string) ([]version, error) {
	rows, err := c.db.QueryContext(ctx, c.q(`SELECT integration_id, version, template_id, published, created_at FROM `+
		c.table+` WHERE integration_id = ? ORDER BY version`), integration)
	if err != nil {
		return nil, fmt.Errorf("catalog: list versions: %w", err)
	}
	defer rows.Close()
	var out []version
	for rows.Next() {
		var v version
		var published int
		var created int64
		if err := rows.Scan(&v.Integration, &v.Version, &v.Template, &published, &created); err != nil {
			return nil, fmt.Errorf("catalog: list versions: %w", err)
		}
		v.Published = published != 0
		v.Created = time.UnixMilli(created)
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: list versions: %w", err)
	}
	return out, nil
}

// add records a new draft version referencing templateID and returns its
// number.
func (c *catalog) add(ctx context.Context, integration, templateID string, now time.Time) (int, error) {
	var v int
	err := c.db.QueryRowContext(ctx, c.q(`INSERT INTO `+c.table+` (integration_id, version, template_id, published, created_at)
		SELECT ?, COALESCE(MAX(version), 0) + 1, ?, 0, ? FROM `+c.table+` WHERE integration_id = ?
		RETURNING version`), integration, templateID, now.UnixMilli(), integration).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("catalog: add version: %w", err)
	}
	return v, nil
}

// publish marks a version published.
func (c *catalog) publish(ctx context.Context, integration string, v int) error {
	_, err := c.db.ExecContext(ctx, c.q(`UPDATE `+c.table+` SET published = 1 WHERE integration_id = ? AND version = ?`), integration, v)
	if err != nil {
		return fmt.Errorf("catalog: publish version: %w", err)
	}
	return nil
}
