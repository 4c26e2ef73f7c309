package storemock_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/mock/gomock"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/keyring"
	"github.com/connkit/connkit/store/memory"
	"github.com/connkit/connkit/store/storemock"
	"github.com/connkit/connkit/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestDelegateConformance runs the conformance suite through a mock that
// delegates every call: Delegate covers every method and changes nothing.
func TestDelegateConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts storetest.Options) store.Store {
		m := storemock.NewMockStore(gomock.NewController(t))
		storemock.Delegate(m, memory.New(memory.Options{Now: opts.Now, LogRetention: opts.LogRetention}))
		return m
	})
}

// rotated returns a memory store holding three connections (conn-1..conn-3,
// each with a secret and a token) sealed under key 1 of the returned ring,
// which has since been rotated to key 2.
func rotated(t *testing.T) (*memory.Store, *keyring.Keyring) {
	t.Helper()
	ctx := t.Context()
	k1, err := keyring.NewKey(1, bytes.Repeat([]byte{1}, keyring.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	k2, err := keyring.NewKey(2, bytes.Repeat([]byte{2}, keyring.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.New(k1)
	if err != nil {
		t.Fatal(err)
	}
	s := memory.New(memory.Options{})
	if err := s.PutInstance(ctx, connection.Instance{ID: "inst"}); err != nil {
		t.Fatal(err)
	}
	seal := func(id, field string) []byte {
		env, err := ring.Seal([]byte("secret of "+id), store.AssociatedData("connection", id, field))
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("conn-%d", i)
		_, err := s.PutConnection(ctx, &store.Connection{
			ID:      id,
			Ref:     connection.Ref{InstanceID: "inst", Variable: id},
			Values:  map[string]string{"host": "api.example.com"},
			Secrets: map[string][]byte{"password": seal(id, "password")},
			Token:   &store.Token{Sealed: seal(id, "token"), Expiry: time.Now().Add(time.Hour), Refreshable: true},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := ring.Rotate(k2); err != nil {
		t.Fatal(err)
	}
	return s, ring
}

// isConn matches a *store.Connection with the given id.
func isConn(id string) gomock.Matcher {
	return gomock.Cond(func(c *store.Connection) bool { return c.ID == id })
}

// needsReseal reports whether any sealed value of connection id still needs
// the old key.
func needsReseal(t *testing.T, s store.Store, ring *keyring.Keyring, id string) bool {
	t.Helper()
	c, err := s.GetConnectionByID(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return ring.NeedsReseal(c.Secrets["password"]) || ring.NeedsReseal(c.Token.Sealed)
}

// TestRewrapWriteFails: the store fails Rewrap's write of one connection
// once. Rewrap reports that connection, re-seals the others, and a second run
// finishes the job.
func TestRewrapWriteFails(t *testing.T) {
	mem, ring := rotated(t)
	errDisk := errors.New("disk full")
	m := storemock.NewMockStore(gomock.NewController(t))
	m.EXPECT().PutConnection(gomock.Any(), isConn("conn-2")).Return(int64(0), errDisk).Times(1)
	storemock.Delegate(m, mem)

	stats, err := store.Rewrap(t.Context(), m, ring, nil)
	if !errors.Is(err, errDisk) {
		t.Fatalf("Rewrap error = %v, want the injected one", err)
	}
	var re *store.RewrapError
	if !errors.As(err, &re) || re.ID != "conn-2" || re.Field != "" {
		t.Errorf("Rewrap error %v does not name the write of conn-2", err)
	}
	if stats.ConnectionsWritten != 2 || stats.Failed != 1 {
		t.Errorf("stats = %+v, want 2 connections written and 1 failure", stats)
	}
	if !needsReseal(t, mem, ring, "conn-2") || needsReseal(t, mem, ring, "conn-1") || needsReseal(t, mem, ring, "conn-3") {
		t.Error("want only conn-2 left on the old key")
	}

	// The fault was one-off: the next run re-seals conn-2 alone.
	stats, err = store.Rewrap(t.Context(), m, ring, nil)
	if err != nil {
		t.Fatalf("second Rewrap: %v", err)
	}
	if stats.ConnectionsWritten != 1 || needsReseal(t, mem, ring, "conn-2") {
		t.Errorf("second Rewrap: stats %+v, conn-2 still on the old key: %v", stats, needsReseal(t, mem, ring, "conn-2"))
	}
}

// TestRewrapConflictRereads: another writer changes conn-2 between Rewrap's
// read and its write. Rewrap's write loses, it reads conn-2 again and writes
// both its re-sealed values and the other writer's change.
func TestRewrapConflictRereads(t *testing.T) {
	mem, ring := rotated(t)
	m := storemock.NewMockStore(gomock.NewController(t))
	m.EXPECT().PutConnection(gomock.Any(), isConn("conn-2")).DoAndReturn(
		func(ctx context.Context, c *store.Connection) (int64, error) {
			// The other writer gets in first.
			other, err := mem.GetConnectionByID(ctx, c.ID)
			if err != nil {
				return 0, err
			}
			other.Values["host"] = "moved.example.com"
			if _, err := mem.PutConnection(ctx, other); err != nil {
				return 0, err
			}
			return mem.PutConnection(ctx, c) // loses: ErrConflict
		}).Times(1)
	storemock.Delegate(m, mem)

	stats, err := store.Rewrap(t.Context(), m, ring, nil)
	if err != nil {
		t.Fatalf("Rewrap: %v", err)
	}
	if stats.Conflicts != 1 || stats.ConnectionsWritten != 3 {
		t.Errorf("stats = %+v, want 1 conflict and 3 connections written", stats)
	}
	got, err := mem.GetConnectionByID(t.Context(), "conn-2")
	if err != nil {
		t.Fatal(err)
	}
	if got.Values["host"] != "moved.example.com" {
		t.Errorf("the other writer's change was lost: host = %q", got.Values["host"])
	}
	if needsReseal(t, mem, ring, "conn-2") {
		t.Error("conn-2 was not re-sealed after the conflict")
	}
}

// TestRewrapDeletedMeanwhile: conn-1 is deleted between Rewrap's read and
// its write. The write loses, the re-read finds nothing, and Rewrap moves on
// without an error.
func TestRewrapDeletedMeanwhile(t *testing.T) {
	mem, ring := rotated(t)
	m := storemock.NewMockStore(gomock.NewController(t))
	m.EXPECT().PutConnection(gomock.Any(), isConn("conn-1")).DoAndReturn(
		func(ctx context.Context, c *store.Connection) (int64, error) {
			if err := mem.DeleteConnection(ctx, c.ID, c.Revision); err != nil {
				return 0, err
			}
			return mem.PutConnection(ctx, c)
		}).Times(1)
	storemock.Delegate(m, mem)

	stats, err := store.Rewrap(t.Context(), m, ring, nil)
	if err != nil {
		t.Fatalf("Rewrap: %v", err)
	}
	if stats.Conflicts != 1 || stats.ConnectionsWritten != 2 || stats.Failed != 0 {
		t.Errorf("stats = %+v, want 1 conflict, 2 connections written, no failure", stats)
	}
	if _, err := mem.GetConnectionByID(t.Context(), "conn-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("conn-1 came back: %v", err)
	}
}

// TestRewrapScanFails: a failing scan stops Rewrap with that error.
func TestRewrapScanFails(t *testing.T) {
	mem, ring := rotated(t)
	errNet := errors.New("connection reset")
	m := storemock.NewMockStore(gomock.NewController(t))
	m.EXPECT().ScanConnections(gomock.Any(), "conn-1", gomock.Any()).Return(nil, errNet).Times(1)
	storemock.Delegate(m, mem)

	stats, err := store.Rewrap(t.Context(), m, ring, &store.RewrapOptions{PageSize: 1})
	if !errors.Is(err, errNet) {
		t.Fatalf("Rewrap error = %v, want the scan's", err)
	}
	if stats.Connections != 1 || stats.Templates != 0 {
		t.Errorf("stats = %+v: Rewrap should stop after the first page", stats)
	}
}
