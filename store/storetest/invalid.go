package storetest

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

// The checks of the records' identities ([store.ErrInvalid]) and of a
// negative log retention; each is listed in its contract part's group.

// wantInvalid fails the test unless err matches store.ErrInvalid.
func wantInvalid(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, store.ErrInvalid) {
		t.Errorf("%s: error = %v, want one matching store.ErrInvalid", what, err)
	}
}

// testConnectionInvalid: PutConnection refuses a nil connection, an empty ID
// and a Ref without instance id or variable key, for a create and for an
// update, and writes nothing.
func testConnectionInvalid(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	_, err := e.s.PutConnection(e.ctx, nil)
	wantInvalid(t, err, "PutConnection(nil)")

	_, err = e.s.PutConnection(e.ctx, minimalConnection("", ref("i1", "crm", "")))
	wantInvalid(t, err, "PutConnection with an empty ID")
	_, err = e.s.GetConnection(e.ctx, ref("i1", "crm", ""))
	wantErr(t, err, store.ErrNotFound, "GetConnection after a refused create with an empty ID")

	bad := []connection.Ref{ref("", "crm", ""), ref("i1", "", ""), ref("", "", "u1"), {}}
	for _, r := range bad {
		_, err := e.s.PutConnection(e.ctx, minimalConnection("c-bad", r))
		wantInvalid(t, err, fmt.Sprintf("PutConnection (create) with Ref %+v", r))
		if !errors.Is(err, connection.ErrBadRef) {
			t.Errorf("PutConnection (create) with Ref %+v: error = %v, want one also matching connection.ErrBadRef", r, err)
		}
	}
	_, err = e.s.GetConnectionByID(e.ctx, "c-bad")
	wantErr(t, err, store.ErrNotFound, "GetConnectionByID after refused creates with invalid Refs")

	stored := e.create(t, fullConnection("c1", ref("i1", "crm", ""), e.clock.Now()))
	for _, r := range bad {
		upd := stored.Clone()
		upd.Ref = r
		_, err := e.s.PutConnection(e.ctx, upd)
		wantInvalid(t, err, fmt.Sprintf("PutConnection (update) to Ref %+v", r))
	}
	if d := diff(stored, e.get(t, "c1")); d != "" {
		t.Errorf("refused updates changed the stored connection (-want +got):\n%s", d)
	}
	list, err := e.s.ScanConnections(e.ctx, "", 10)
	must(t, err, "ScanConnections")
	if got := ids(list); len(got) != 1 || got[0] != "c1" {
		t.Errorf("after refused writes the store holds connections %q, want only c1", got)
	}
}

// testInstanceInvalid: PutInstance refuses an empty ID.
func testInstanceInvalid(t *testing.T, e *env) {
	in := instance("i1")
	in.ID = ""
	wantInvalid(t, e.s.PutInstance(e.ctx, in), "PutInstance with an empty ID")
	list, err := e.s.ListInstances(e.ctx)
	must(t, err, "ListInstances")
	if len(list) != 0 {
		t.Errorf("a refused PutInstance stored %+v", list)
	}
}

// testTemplateInvalid: PutTemplate refuses a nil template and an empty ID;
// Publish refuses an empty integration id.
func testTemplateInvalid(t *testing.T, e *env) {
	_, err := e.s.PutTemplate(e.ctx, nil)
	wantInvalid(t, err, "PutTemplate(nil)")
	_, err = e.s.PutTemplate(e.ctx, fullTemplate("", "salesforce"))
	wantInvalid(t, err, "PutTemplate with an empty ID")
	list, err := e.s.ListTemplates(e.ctx, "")
	must(t, err, "ListTemplates")
	if len(list) != 0 {
		t.Errorf("refused PutTemplate calls stored %d templates", len(list))
	}

	e.createTemplate(t, fullTemplate("t1", "salesforce"))
	err = e.s.Publish(e.ctx, store.Version{IntegrationID: "", Version: 1}, []string{"t1"})
	wantInvalid(t, err, "Publish with an empty integration id")
	pins, err := e.s.Pins(e.ctx, "t1")
	must(t, err, "Pins t1")
	if len(pins) != 0 {
		t.Errorf("a refused Publish pinned t1: %v", pins)
	}
}

// testPendingInvalid: PutPending refuses a nil record and an empty state
// hash.
func testPendingInvalid(t *testing.T, e *env) {
	wantInvalid(t, e.s.PutPending(e.ctx, nil), "PutPending(nil)")
	p := pending("a", e.clock.Now(), time.Minute)
	p.StateHash = ""
	wantInvalid(t, e.s.PutPending(e.ctx, p), "PutPending with an empty state hash")
	_, err := e.s.ConsumePending(e.ctx, "")
	wantErr(t, err, store.ErrNotFound, "ConsumePending of the empty state hash after a refused PutPending")
}

// testLogInvalid: AppendLog refuses a nil entry and an empty connection id.
func testLogInvalid(t *testing.T, e *env) {
	_, err := e.s.AppendLog(e.ctx, nil)
	wantInvalid(t, err, "AppendLog(nil)")
	_, err = e.s.AppendLog(e.ctx, &store.LogEntry{Event: "connected"})
	wantInvalid(t, err, "AppendLog with an empty connection id")
}

// testLeaseInvalid: AcquireLease refuses an empty key or owner and takes
// nothing.
func testLeaseInvalid(t *testing.T, e *env) {
	_, err := e.s.AcquireLease(e.ctx, "", "a", leaseTTL)
	wantInvalid(t, err, "AcquireLease with an empty key")
	_, err = e.s.AcquireLease(e.ctx, "k", "", leaseTTL)
	wantInvalid(t, err, "AcquireLease with an empty owner")
	e.acquire(t, "k", "b") // the refused call took nothing
}

// testLogKeepAll runs with a negative LogRetention: every entry is kept, more
// than store.DefaultLogRetention of them.
func testLogKeepAll(t *testing.T, e *env) {
	e.logConn(t, "c1")
	n := store.DefaultLogRetention + 1
	var first, last int64
	for i := range n {
		e.clock.Advance(time.Millisecond)
		seq, err := e.s.AppendLog(e.ctx, &store.LogEntry{
			ConnectionID: "c1", Level: slog.LevelInfo, Event: "refreshed", Message: strconv.Itoa(i),
		})
		must(t, err, "AppendLog")
		if i == 0 {
			first = seq
		}
		last = seq
	}
	got, err := e.s.ListLogs(e.ctx, "c1", 0, n+10)
	must(t, err, "ListLogs")
	if len(got) != n {
		t.Fatalf("after %d appends with a negative LogRetention, ListLogs returns %d entries, want all %d", n, len(got), n)
	}
	if got[0].Seq != last || got[0].Message != strconv.Itoa(n-1) || got[n-1].Seq != first || got[n-1].Message != "0" {
		t.Errorf("with a negative LogRetention: newest %d %q, oldest %d %q; want newest %d %q, oldest %d \"0\"",
			got[0].Seq, got[0].Message, got[n-1].Seq, got[n-1].Message, last, strconv.Itoa(n-1), first)
	}
}
