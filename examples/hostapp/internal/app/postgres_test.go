package app_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
)

func randomSuffix(t *testing.T) string {
	t.Helper()
	return strings.ToLower(rand.Text()[:8])
}

// dropTables removes every table whose name starts with prefix.
func dropTables(t *testing.T, dsn, prefix string) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Error(err)
		return
	}
	defer db.Close()
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND left(table_name, length($1)) = $1`, prefix)
	if err != nil {
		t.Error(err)
		return
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Error(err)
		}
		names = append(names, `"`+n+`"`)
	}
	rows.Close()
	if len(names) > 0 {
		if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+strings.Join(names, ", ")+" CASCADE"); err != nil {
			t.Errorf("drop tables: %v", err)
		}
	}
}
