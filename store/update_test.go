package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/memory"
)

// racer is a store whose first few PutConnection calls lose to another
// writer that bumps the record just before them.
type racer struct {
	store.Store
	losses int
}

func (r *racer) PutConnection(ctx context.Context, c *store.Connection) (int64, error) {
	if r.losses > 0 {
		r.losses--
		other, err := r.Store.GetConnectionByID(ctx, c.ID)
		if err != nil {
			return 0, err
		}
		other.Metadata = map[string]string{"other": "writer"}
		if _, err := r.Store.PutConnection(ctx, other); err != nil {
			return 0, err
		}
	}
	return r.Store.PutConnection(ctx, c)
}

func TestUpdateConnection(t *testing.T) {
	ctx := t.Context()
	mem := memory.New(memory.Options{})
	if err := mem.PutInstance(ctx, connection.Instance{ID: "i"}); err != nil {
		t.Fatal(err)
	}
	if _, err := mem.PutConnection(ctx, &store.Connection{ID: "c1", Ref: connection.Ref{InstanceID: "i", Variable: "v"}}); err != nil {
		t.Fatal(err)
	}
	setRed := func(c *store.Connection) bool {
		if c.Health.Status == connection.StatusError {
			return false
		}
		c.Health.Status = connection.StatusError
		return true
	}

	r := &racer{Store: mem, losses: 3}
	c, err := store.UpdateConnection(ctx, r, "c1", setRed)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := mem.GetConnectionByID(ctx, "c1")
	if got.Health.Status != connection.StatusError || got.Metadata["other"] != "writer" || c.Revision != got.Revision {
		t.Fatalf("after 3 lost races: %+v (returned revision %d); want red, the other writer's change kept, same revision", got, c.Revision)
	}

	before := got.Revision
	if _, err := store.UpdateConnection(ctx, mem, "c1", setRed); err != nil {
		t.Fatal(err)
	}
	if got, _ := mem.GetConnectionByID(ctx, "c1"); got.Revision != before {
		t.Errorf("an update that changes nothing wrote revision %d (was %d)", got.Revision, before)
	}

	if _, err := store.UpdateConnection(ctx, &racer{Store: mem, losses: 100}, "c1", func(c *store.Connection) bool {
		c.Health.Status = connection.StatusWorking
		return true
	}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("always losing: err = %v, want ErrConflict", err)
	}
	if _, err := store.UpdateConnection(ctx, mem, "missing", setRed); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown id: err = %v, want ErrNotFound", err)
	}
}
