package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/sqlstore"
)

// Open a SQLite store in a file, create its tables, and write a connection
// with compare-and-swap: a second writer holding the old revision loses.
// For PostgreSQL, pass sqlstore.PostgreSQL and a DSN such as
// "postgres://connkit@db.internal:5432/connkit".
func Example() {
	dir, err := os.MkdirTemp("", "connkit-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.SQLite, filepath.Join(dir, "connkit.db"), sqlstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil { // at every start: idempotent
		log.Fatal(err)
	}

	ref := connection.Ref{InstanceID: "inst-1", Variable: "crm"}
	rev, err := s.PutConnection(ctx, &store.Connection{
		ID:     store.NewID(),
		Ref:    ref,
		Values: map[string]string{"host": "api.example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created at revision", rev)

	// Two writers read revision 1; the first write wins.
	a, _ := s.GetConnection(ctx, ref)
	b, _ := s.GetConnection(ctx, ref)
	a.Values["host"] = "eu.api.example.com"
	rev, err = s.PutConnection(ctx, a)
	fmt.Println("first writer:", rev, err)
	b.Values["host"] = "us.api.example.com"
	_, err = s.PutConnection(ctx, b)
	fmt.Println("second writer conflicts:", errors.Is(err, store.ErrConflict))

	c, _ := s.GetConnection(ctx, ref)
	fmt.Println(c.Values["host"], c.Revision)
	// Output:
	// created at revision 1
	// first writer: 2 <nil>
	// second writer conflicts: true
	// eu.api.example.com 2
}
