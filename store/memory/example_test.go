package memory_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/memory"
)

// Writes are compare-and-swap on the revision: a writer holding a stale copy
// gets store.ErrConflict and must read again.
func Example() {
	ctx := context.Background()
	s := memory.New(memory.Options{})

	_ = s.PutInstance(ctx, connection.Instance{ID: "inst-1", Name: "Acme"})
	ref := connection.Ref{InstanceID: "inst-1", Variable: "crm"}
	rev, err := s.PutConnection(ctx, &store.Connection{
		ID:     store.NewID(),
		Ref:    ref,
		Values: map[string]string{"host": "api.example.com"},
	})
	fmt.Println("created at revision", rev, err)

	a, _ := s.GetConnection(ctx, ref)
	b, _ := s.GetConnection(ctx, ref)
	a.Values["host"] = "eu.example.com"
	rev, err = s.PutConnection(ctx, a)
	fmt.Println("first writer:", rev, err)
	b.Values["host"] = "us.example.com"
	_, err = s.PutConnection(ctx, b)
	fmt.Println("second writer conflicts:", errors.Is(err, store.ErrConflict))

	got, _ := s.GetConnection(ctx, ref)
	fmt.Println(got.Values["host"], got.Revision)
	// Output:
	// created at revision 1 <nil>
	// first writer: 2 <nil>
	// second writer conflicts: true
	// eu.example.com 2
}
