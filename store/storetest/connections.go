package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

var connectionTests = []test{
	{name: "GetUnknownIsNotFound", run: testGetUnknown},
	{name: "CreateReturnsRevisionOne", run: testCreate},
	{name: "RoundTripEveryField", run: testRoundTrip},
	{name: "RoundTripMinimal", run: testRoundTripMinimal},
	{name: "UpdateIncrementsRevision", run: testUpdate},
	{name: "StaleRevisionConflicts", run: testStaleRevision},
	{name: "CreateTwiceConflicts", run: testCreateTwice},
	{name: "CreateDuplicateIDConflicts", run: testDuplicateID},
	{name: "CreateDuplicateRefConflicts", run: testDuplicateRef},
	{name: "UpdateOfMissingConflicts", run: testUpdateMissing},
	{name: "RefCanChange", run: testRefChange},
	{name: "RefChangeToTakenRefConflicts", run: testRefChangeTaken},
	{name: "UserLevelRefsAreDistinct", run: testUserRefs},
	{name: "PutDoesNotModifyInput", run: testPutKeepsInput},
	{name: "InputIsCopied", run: testInputCopied},
	{name: "ResultsAreCopies", run: testResultsCopied},
	{name: "Delete", run: testDelete},
	{name: "DeleteStaleRevisionConflicts", run: testDeleteStale},
	{name: "DeleteUnknownIsNotFound", run: testDeleteUnknown},
	{name: "DeleteThenCreateAgain", run: testDeleteRecreate},
	{name: "ListConnectionsOfInstance", run: testListConnections},
	{name: "ScanConnectionsPages", run: testScan},
	{name: "ListRefreshableOrder", run: testRefreshableOrder},
	{name: "ListRefreshablePages", run: testRefreshablePages},
	{name: "ListRefreshableFollowsUpdates", run: testRefreshableUpdates},
	{name: "ZeroLimitListsNothing", run: testZeroLimit},
	{name: "ConcurrentCASOneWinnerPerRound", run: testConcurrentCASRounds},
	{name: "ConcurrentCASLosesNoUpdate", run: testConcurrentCASIncrements},
	{name: "ConcurrentCreateOneWinner", run: testConcurrentCreate},
	{name: "InvalidIDOrRefIsRefused", run: testConnectionInvalid},
}

func testGetUnknown(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	_, err := e.s.GetConnection(e.ctx, ref("i1", "crm", ""))
	wantErr(t, err, store.ErrNotFound, "GetConnection of an unknown ref")
	_, err = e.s.GetConnectionByID(e.ctx, "no-such-id")
	wantErr(t, err, store.ErrNotFound, "GetConnectionByID of an unknown id")

	e.create(t, minimalConnection("c1", ref("i1", "crm", "")))
	_, err = e.s.GetConnection(e.ctx, ref("i1", "crm", "someone"))
	wantErr(t, err, store.ErrNotFound, "GetConnection of a user ref when only the instance-level one exists")
	_, err = e.s.GetConnection(e.ctx, ref("i1", "other", ""))
	wantErr(t, err, store.ErrNotFound, "GetConnection of another variable")
}

func testCreate(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	c := fullConnection("c1", ref("i1", "crm", ""), e.clock.Now())
	rev, err := e.s.PutConnection(e.ctx, c)
	must(t, err, "PutConnection")
	if rev != 1 {
		t.Fatalf("PutConnection of a new connection returned revision %d, want 1", rev)
	}
	got := e.get(t, "c1")
	if got.Revision != 1 {
		t.Errorf("stored Revision = %d, want 1", got.Revision)
	}
	if !sameMillisecond(got.UpdatedAt, e.clock.Now()) {
		t.Errorf("UpdatedAt = %v, want the store clock's %v", got.UpdatedAt, e.clock.Now())
	}
}

func testRoundTrip(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	e.clock.Advance(1234567 * time.Microsecond)
	c := fullConnection("c1", ref("i1", "crm", "user-7"), e.clock.Now())
	if _, err := e.s.PutConnection(e.ctx, c); err != nil {
		t.Fatalf("PutConnection: %v", err)
	}
	want := c.Clone()
	want.Revision = 1
	want.UpdatedAt = e.clock.Now()

	byID := e.get(t, "c1")
	if d := diff(want, byID); d != "" {
		t.Errorf("GetConnectionByID differs from what was written (-want +got):\n%s", d)
	}
	byRef, err := e.s.GetConnection(e.ctx, c.Ref)
	must(t, err, "GetConnection")
	if d := diff(want, byRef); d != "" {
		t.Errorf("GetConnection differs from what was written (-want +got):\n%s", d)
	}
	if _, ok := byID.Values["empty"]; !ok {
		t.Errorf("a value set to \"\" was lost: Values = %v", byID.Values)
	}
	if _, ok := byID.Secrets["emptySecret"]; !ok {
		t.Errorf("a secret set to empty bytes was lost")
	}
	listed, err := e.s.ListConnections(e.ctx, "i1")
	must(t, err, "ListConnections")
	if len(listed) != 1 {
		t.Fatalf("ListConnections returned %d connections, want 1", len(listed))
	}
	if d := diff(want, listed[0]); d != "" {
		t.Errorf("ListConnections differs from what was written (-want +got):\n%s", d)
	}
	scanned, err := e.s.ScanConnections(e.ctx, "", 10)
	must(t, err, "ScanConnections")
	if len(scanned) != 1 {
		t.Fatalf("ScanConnections returned %d connections, want 1", len(scanned))
	}
	if d := diff(want, scanned[0]); d != "" {
		t.Errorf("ScanConnections differs from what was written (-want +got):\n%s", d)
	}
	refr, err := e.s.ListRefreshable(e.ctx, store.Cursor{}, 10)
	must(t, err, "ListRefreshable")
	if len(refr) != 1 {
		t.Fatalf("ListRefreshable returned %d connections, want 1", len(refr))
	}
	if d := diff(want, refr[0]); d != "" {
		t.Errorf("ListRefreshable differs from what was written (-want +got):\n%s", d)
	}
}

func testRoundTripMinimal(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	got := e.create(t, minimalConnection("c1", ref("i1", "crm", "")))
	want := minimalConnection("c1", ref("i1", "crm", ""))
	want.Revision = 1
	want.UpdatedAt = e.clock.Now()
	if d := diff(want, got); d != "" {
		t.Errorf("minimal connection differs (-want +got):\n%s", d)
	}
	if got.Token != nil {
		t.Errorf("a connection stored without a token came back with Token = %+v", got.Token)
	}

	// A token that cannot refresh and has no ObtainedAt round-trips too.
	up := got.Clone()
	up.Token = &store.Token{Sealed: []byte{0}, Expiry: e.clock.Now().Add(time.Minute)}
	rev, err := e.s.PutConnection(e.ctx, up)
	must(t, err, "PutConnection with a non-refreshable token")
	want = up.Clone()
	want.Revision = rev
	want.UpdatedAt = e.clock.Now()
	if d := diff(want, e.get(t, "c1")); d != "" {
		t.Errorf("non-refreshable token differs (-want +got):\n%s", d)
	}
}

func testUpdate(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	cur := e.create(t, fullConnection("c1", ref("i1", "crm", ""), e.clock.Now()))
	for want := int64(2); want <= 4; want++ {
		e.clock.Advance(1500 * time.Millisecond)
		cur.Values["host"] = fmt.Sprintf("host-%d", want)
		cur.Health = connection.Health{Status: connection.StatusWorking, Since: e.clock.Now()}
		delete(cur.Secrets, "password")
		rev, err := e.s.PutConnection(e.ctx, cur)
		must(t, err, "PutConnection (update)")
		if rev != want {
			t.Fatalf("PutConnection at revision %d returned %d, want %d", cur.Revision, rev, want)
		}
		exp := cur.Clone()
		exp.Revision = want
		exp.UpdatedAt = e.clock.Now()
		got := e.get(t, "c1")
		if d := diff(exp, got); d != "" {
			t.Fatalf("after update to revision %d (-want +got):\n%s", want, d)
		}
		cur = got
	}
}

func testStaleRevision(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	first := e.create(t, fullConnection("c1", ref("i1", "crm", ""), e.clock.Now()))
	second := first.Clone()
	second.Values["host"] = "new.example.com"
	if _, err := e.s.PutConnection(e.ctx, second); err != nil {
		t.Fatalf("PutConnection at the current revision: %v", err)
	}
	stored := e.get(t, "c1")

	stale := first.Clone() // still at revision 1
	stale.Values["host"] = "stale.example.com"
	_, err := e.s.PutConnection(e.ctx, stale)
	wantErr(t, err, store.ErrConflict, "PutConnection at a stale revision")
	ahead := stored.Clone()
	ahead.Revision = stored.Revision + 5
	_, err = e.s.PutConnection(e.ctx, ahead)
	wantErr(t, err, store.ErrConflict, "PutConnection at a revision ahead of the store")
	if d := diff(stored, e.get(t, "c1")); d != "" {
		t.Errorf("a conflicting write changed the stored connection (-want +got):\n%s", d)
	}
}

func testCreateTwice(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	stored := e.create(t, fullConnection("c1", ref("i1", "crm", ""), e.clock.Now()))
	again := fullConnection("c1", ref("i1", "crm", ""), e.clock.Now())
	again.Values["host"] = "second.example.com"
	_, err := e.s.PutConnection(e.ctx, again)
	wantErr(t, err, store.ErrConflict, "creating (revision 0) a connection that exists")
	if d := diff(stored, e.get(t, "c1")); d != "" {
		t.Errorf("the second create changed the stored connection (-want +got):\n%s", d)
	}
}

func testDuplicateID(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	stored := e.create(t, minimalConnection("c1", ref("i1", "crm", "")))
	_, err := e.s.PutConnection(e.ctx, minimalConnection("c1", ref("i1", "erp", "")))
	wantErr(t, err, store.ErrConflict, "creating a connection whose ID exists under another Ref")
	_, err = e.s.GetConnection(e.ctx, ref("i1", "erp", ""))
	wantErr(t, err, store.ErrNotFound, "GetConnection of the rejected duplicate's Ref")
	if d := diff(stored, e.get(t, "c1")); d != "" {
		t.Errorf("the rejected create changed the stored connection (-want +got):\n%s", d)
	}
}

func testDuplicateRef(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	stored := e.create(t, minimalConnection("c1", ref("i1", "crm", "u1")))
	_, err := e.s.PutConnection(e.ctx, minimalConnection("c2", ref("i1", "crm", "u1")))
	wantErr(t, err, store.ErrConflict, "creating a connection whose Ref exists under another ID")
	_, err = e.s.GetConnectionByID(e.ctx, "c2")
	wantErr(t, err, store.ErrNotFound, "GetConnectionByID of the rejected duplicate")
	got, err := e.s.GetConnection(e.ctx, ref("i1", "crm", "u1"))
	must(t, err, "GetConnection")
	if d := diff(stored, got); d != "" {
		t.Errorf("the Ref no longer finds the first connection (-want +got):\n%s", d)
	}
}

func testUpdateMissing(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	c := minimalConnection("c1", ref("i1", "crm", ""))
	c.Revision = 3
	_, err := e.s.PutConnection(e.ctx, c)
	wantErr(t, err, store.ErrConflict, "PutConnection at revision 3 of a connection that does not exist")
	_, err = e.s.GetConnectionByID(e.ctx, "c1")
	wantErr(t, err, store.ErrNotFound, "GetConnectionByID after the rejected write")
}

func testRefChange(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	cur := e.create(t, minimalConnection("c1", ref("i1", "crm", "")))
	cur.Ref = ref("i1", "crm2", "u9")
	_, err := e.s.PutConnection(e.ctx, cur)
	must(t, err, "PutConnection moving the connection to a new Ref")
	_, err = e.s.GetConnection(e.ctx, ref("i1", "crm", ""))
	wantErr(t, err, store.ErrNotFound, "GetConnection of the old Ref")
	got, err := e.s.GetConnection(e.ctx, ref("i1", "crm2", "u9"))
	must(t, err, "GetConnection of the new Ref")
	if got.ID != "c1" {
		t.Errorf("the new Ref finds %q, want c1", got.ID)
	}
	// The old Ref is free for another connection.
	e.create(t, minimalConnection("c2", ref("i1", "crm", "")))
}

func testRefChangeTaken(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	e.create(t, minimalConnection("c1", ref("i1", "crm", "")))
	c2 := e.create(t, minimalConnection("c2", ref("i1", "erp", "")))
	moved := c2.Clone()
	moved.Ref = ref("i1", "crm", "")
	_, err := e.s.PutConnection(e.ctx, moved)
	wantErr(t, err, store.ErrConflict, "moving a connection onto another connection's Ref")
	got, err := e.s.GetConnection(e.ctx, ref("i1", "crm", ""))
	must(t, err, "GetConnection")
	if got.ID != "c1" {
		t.Errorf("the taken Ref now finds %q, want c1", got.ID)
	}
	if d := diff(c2, e.get(t, "c2")); d != "" {
		t.Errorf("the rejected move changed c2 (-want +got):\n%s", d)
	}
}

func testUserRefs(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	refs := []connection.Ref{ref("i1", "crm", ""), ref("i1", "crm", "u1"), ref("i1", "crm", "u2")}
	for i, r := range refs {
		c := minimalConnection(string(rune('a'+i)), r)
		c.Values = map[string]string{"who": r.String()}
		e.create(t, c)
	}
	for _, r := range refs {
		got, err := e.s.GetConnection(e.ctx, r)
		must(t, err, "GetConnection "+r.String())
		if got.Ref != r || got.Values["who"] != r.String() {
			t.Errorf("GetConnection(%v) returned the connection of %v (%v)", r, got.Ref, got.Values)
		}
	}
}

func testPutKeepsInput(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	c := fullConnection("c1", ref("i1", "crm", ""), e.clock.Now())
	before := c.Clone()
	_, err := e.s.PutConnection(e.ctx, c)
	must(t, err, "PutConnection (create)")
	if d := diff(before, c); d != "" {
		t.Errorf("PutConnection modified its argument (-before +after):\n%s", d)
	}
	if c.Revision != 0 || !c.UpdatedAt.IsZero() {
		t.Errorf("PutConnection set Revision=%d UpdatedAt=%v on its argument", c.Revision, c.UpdatedAt)
	}
	up := e.get(t, "c1")
	before = up.Clone()
	e.clock.Advance(time.Second)
	_, err = e.s.PutConnection(e.ctx, up)
	must(t, err, "PutConnection (update)")
	if d := diff(before, up); d != "" {
		t.Errorf("PutConnection (update) modified its argument (-before +after):\n%s", d)
	}
}

func testInputCopied(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	c := fullConnection("c1", ref("i1", "crm", ""), e.clock.Now())
	_, err := e.s.PutConnection(e.ctx, c)
	must(t, err, "PutConnection")
	want := e.get(t, "c1")
	scribble(c)
	if d := diff(want, e.get(t, "c1")); d != "" {
		t.Errorf("changing the record after PutConnection changed the stored one (-want +got):\n%s", d)
	}
}

func testResultsCopied(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	e.create(t, fullConnection("c1", ref("i1", "crm", ""), e.clock.Now()))
	want := e.get(t, "c1").Clone()
	check := func(what string) {
		t.Helper()
		if d := diff(want, e.get(t, "c1")); d != "" {
			t.Fatalf("changing the record %s returned changed the stored one (-want +got):\n%s", what, d)
		}
	}

	scribble(e.get(t, "c1"))
	check("GetConnectionByID")
	got, err := e.s.GetConnection(e.ctx, want.Ref)
	must(t, err, "GetConnection")
	scribble(got)
	check("GetConnection")
	list, err := e.s.ListConnections(e.ctx, "i1")
	must(t, err, "ListConnections")
	for _, c := range list {
		scribble(c)
	}
	check("ListConnections")
	list, err = e.s.ScanConnections(e.ctx, "", 10)
	must(t, err, "ScanConnections")
	for _, c := range list {
		scribble(c)
	}
	check("ScanConnections")
	list, err = e.s.ListRefreshable(e.ctx, store.Cursor{}, 10)
	must(t, err, "ListRefreshable")
	for _, c := range list {
		scribble(c)
	}
	check("ListRefreshable")
}

func testDelete(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	c := e.create(t, fullConnection("c1", ref("i1", "crm", ""), e.clock.Now()))
	other := e.create(t, fullConnection("c2", ref("i1", "erp", ""), e.clock.Now()))
	_, err := e.s.AppendLog(e.ctx, &store.LogEntry{ConnectionID: "c1", Event: "connected", Message: "connected"})
	must(t, err, "AppendLog")

	must(t, e.s.DeleteConnection(e.ctx, "c1", c.Revision), "DeleteConnection")
	_, err = e.s.GetConnectionByID(e.ctx, "c1")
	wantErr(t, err, store.ErrNotFound, "GetConnectionByID after delete")
	_, err = e.s.GetConnection(e.ctx, c.Ref)
	wantErr(t, err, store.ErrNotFound, "GetConnection after delete")
	checkOnly(t, e, []string{"c2"})
	logs, err := e.s.ListLogs(e.ctx, "c1", 0, 10)
	must(t, err, "ListLogs after delete")
	if len(logs) != 0 {
		t.Errorf("ListLogs after delete returned %d entries, want none", len(logs))
	}
	if d := diff(other, e.get(t, "c2")); d != "" {
		t.Errorf("deleting c1 changed c2 (-want +got):\n%s", d)
	}
	err = e.s.DeleteConnection(e.ctx, "c1", c.Revision)
	wantErr(t, err, store.ErrNotFound, "deleting a deleted connection")
}

// checkOnly fails unless exactly the connections with the given ids (sorted)
// are listed by ListConnections("i1"), ScanConnections and ListRefreshable.
func checkOnly(t *testing.T, e *env, want []string) {
	t.Helper()
	list, err := e.s.ListConnections(e.ctx, "i1")
	must(t, err, "ListConnections")
	if d := diff(want, ids(list)); d != "" {
		t.Errorf("ListConnections ids (-want +got):\n%s", d)
	}
	list, err = e.s.ScanConnections(e.ctx, "", 100)
	must(t, err, "ScanConnections")
	if d := diff(want, ids(list)); d != "" {
		t.Errorf("ScanConnections ids (-want +got):\n%s", d)
	}
	list, err = e.s.ListRefreshable(e.ctx, store.Cursor{}, 100)
	must(t, err, "ListRefreshable")
	if d := diff(want, ids(list)); d != "" {
		t.Errorf("ListRefreshable ids (-want +got):\n%s", d)
	}
}

func testDeleteStale(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	c := e.create(t, minimalConnection("c1", ref("i1", "crm", "")))
	_, err := e.s.PutConnection(e.ctx, c)
	must(t, err, "PutConnection")
	err = e.s.DeleteConnection(e.ctx, "c1", 1)
	wantErr(t, err, store.ErrConflict, "DeleteConnection at a stale revision")
	err = e.s.DeleteConnection(e.ctx, "c1", 3)
	wantErr(t, err, store.ErrConflict, "DeleteConnection at a revision ahead of the store")
	if got := e.get(t, "c1"); got.Revision != 2 {
		t.Errorf("after rejected deletes, Revision = %d, want 2", got.Revision)
	}
}

func testDeleteUnknown(t *testing.T, e *env) {
	err := e.s.DeleteConnection(e.ctx, "no-such-id", 1)
	wantErr(t, err, store.ErrNotFound, "DeleteConnection of an unknown id")
}

func testDeleteRecreate(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	c := e.create(t, minimalConnection("c1", ref("i1", "crm", "")))
	for range 3 {
		_, err := e.s.AppendLog(e.ctx, &store.LogEntry{ConnectionID: "c1", Event: "refreshed"})
		must(t, err, "AppendLog")
	}
	must(t, e.s.DeleteConnection(e.ctx, "c1", c.Revision), "DeleteConnection")
	again := e.create(t, minimalConnection("c1", ref("i1", "crm", "")))
	if again.Revision != 1 {
		t.Errorf("re-created connection has Revision %d, want 1", again.Revision)
	}
	logs, err := e.s.ListLogs(e.ctx, "c1", 0, 10)
	must(t, err, "ListLogs")
	if len(logs) != 0 {
		t.Errorf("re-created connection inherited %d log entries of the deleted one", len(logs))
	}
}

func testListConnections(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	e.putInstance(t, "i2")
	e.putInstance(t, "i3")
	// Created out of order; ids deliberately not in the listing order.
	for _, c := range []*store.Connection{
		minimalConnection("z", ref("i1", "b", "")),
		minimalConnection("y", ref("i1", "a", "u2")),
		minimalConnection("x", ref("i2", "a", "")),
		minimalConnection("w", ref("i1", "a", "")),
		minimalConnection("v", ref("i1", "a", "u1")),
		minimalConnection("u", ref("i1", "c", "u0")),
	} {
		e.create(t, c)
	}
	got, err := e.s.ListConnections(e.ctx, "i1")
	must(t, err, "ListConnections")
	var refs []connection.Ref
	for _, c := range got {
		refs = append(refs, c.Ref)
	}
	want := []connection.Ref{
		ref("i1", "a", ""), ref("i1", "a", "u1"), ref("i1", "a", "u2"),
		ref("i1", "b", ""), ref("i1", "c", "u0"),
	}
	if d := diff(want, refs); d != "" {
		t.Errorf("ListConnections(i1) refs, in order (-want +got):\n%s", d)
	}
	got, err = e.s.ListConnections(e.ctx, "i3")
	must(t, err, "ListConnections of an instance without connections")
	if len(got) != 0 {
		t.Errorf("ListConnections(i3) returned %d connections, want none", len(got))
	}
	got, err = e.s.ListConnections(e.ctx, "no-such-instance")
	must(t, err, "ListConnections of an unknown instance")
	if len(got) != 0 {
		t.Errorf("ListConnections(unknown) returned %d connections, want none", len(got))
	}
}

func testScan(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	e.putInstance(t, "i2")
	all := []string{"c1", "c2", "c3", "c4", "c5", "c6", "c7"}
	// Created in another order than their ids, across two instances.
	for i, id := range []string{"c4", "c7", "c1", "c3", "c6", "c2", "c5"} {
		inst := []string{"i1", "i2"}[i%2]
		e.create(t, minimalConnection(id, ref(inst, "v-"+id, "")))
	}
	var pages [][]string
	after := ""
	for range len(all) + 2 {
		page, err := e.s.ScanConnections(e.ctx, after, 3)
		must(t, err, "ScanConnections")
		if len(page) == 0 {
			break
		}
		pages = append(pages, ids(page))
		after = page[len(page)-1].ID
	}
	want := [][]string{{"c1", "c2", "c3"}, {"c4", "c5", "c6"}, {"c7"}}
	if d := diff(want, pages); d != "" {
		t.Errorf("ScanConnections pages of 3 (-want +got):\n%s", d)
	}
	page, err := e.s.ScanConnections(e.ctx, "c35", 10)
	must(t, err, "ScanConnections after an id that is not stored")
	if d := diff([]string{"c4", "c5", "c6", "c7"}, ids(page)); d != "" {
		t.Errorf("ScanConnections after %q (-want +got):\n%s", "c35", d)
	}
	page, err = e.s.ScanConnections(e.ctx, "c7", 10)
	must(t, err, "ScanConnections after the last id")
	if len(page) != 0 {
		t.Errorf("ScanConnections after the last id returned %v", ids(page))
	}
}

// refreshFixture stores connections whose refresh order is, by (Expiry, ID):
// r3 (t+1m), r1 (t+2m), r2 (t+2m), r5 (t+2m), r4 (t+3m). n1 (earliest, not
// refreshable) and n2 (no token) are never listed.
func refreshFixture(t *testing.T, e *env) (order []string, expiries map[string]time.Time) {
	t.Helper()
	e.putInstance(t, "i1")
	now := e.clock.Now()
	expiries = map[string]time.Time{
		"r1": now.Add(2 * time.Minute),
		"r2": now.Add(2 * time.Minute),
		"r3": now.Add(1 * time.Minute),
		"r4": now.Add(3 * time.Minute),
		"r5": now.Add(2 * time.Minute),
	}
	for _, id := range []string{"r4", "r2", "r5", "r1", "r3"} {
		e.create(t, refreshable(id, ref("i1", "v-"+id, ""), expiries[id], true))
	}
	e.create(t, refreshable("n1", ref("i1", "v-n1", ""), now.Add(-time.Hour), false))
	e.create(t, minimalConnection("n2", ref("i1", "v-n2", "")))
	return []string{"r3", "r1", "r2", "r5", "r4"}, expiries
}

func testRefreshableOrder(t *testing.T, e *env) {
	order, expiries := refreshFixture(t, e)
	got, err := e.s.ListRefreshable(e.ctx, store.Cursor{}, 100)
	must(t, err, "ListRefreshable")
	if d := diff(order, ids(got)); d != "" {
		t.Errorf("ListRefreshable order (-want +got):\n%s", d)
	}
	for _, c := range got {
		if c.Token == nil || !c.Token.Refreshable {
			t.Errorf("ListRefreshable returned %s, which has no refreshable token", c.ID)
		}
	}
	// Strictly after the cursor: the cursor's own entry is excluded, an
	// entry with the same expiry and a greater id is not.
	got, err = e.s.ListRefreshable(e.ctx, store.Cursor{Expiry: expiries["r1"], ID: "r1"}, 100)
	must(t, err, "ListRefreshable after (t+2m, r1)")
	if d := diff([]string{"r2", "r5", "r4"}, ids(got)); d != "" {
		t.Errorf("ListRefreshable after (t+2m, r1) (-want +got):\n%s", d)
	}
	got, err = e.s.ListRefreshable(e.ctx, store.Cursor{Expiry: expiries["r1"], ID: "r3"}, 100)
	must(t, err, "ListRefreshable after (t+2m, r3)")
	if d := diff([]string{"r5", "r4"}, ids(got)); d != "" {
		t.Errorf("ListRefreshable after (t+2m, r3), an id between r2 and r5 (-want +got):\n%s", d)
	}
	got, err = e.s.ListRefreshable(e.ctx, store.Cursor{Expiry: expiries["r3"].Add(30 * time.Second)}, 100)
	must(t, err, "ListRefreshable after t+1m30s")
	if d := diff([]string{"r1", "r2", "r5", "r4"}, ids(got)); d != "" {
		t.Errorf("ListRefreshable after an expiry between entries (-want +got):\n%s", d)
	}
	got, err = e.s.ListRefreshable(e.ctx, store.Cursor{Expiry: expiries["r4"], ID: "r4"}, 100)
	must(t, err, "ListRefreshable after the last entry")
	if len(got) != 0 {
		t.Errorf("ListRefreshable after the last entry returned %v", ids(got))
	}
}

func testRefreshablePages(t *testing.T, e *env) {
	order, _ := refreshFixture(t, e)
	for _, size := range []int{1, 2, 3, 5} {
		var got []string
		var cur store.Cursor
		for range len(order) + 2 {
			page, err := e.s.ListRefreshable(e.ctx, cur, size)
			must(t, err, "ListRefreshable")
			if len(page) > size {
				t.Fatalf("ListRefreshable with limit %d returned %d entries", size, len(page))
			}
			if len(page) == 0 {
				break
			}
			got = append(got, ids(page)...)
			last := page[len(page)-1]
			cur = store.Cursor{Expiry: last.Token.Expiry, ID: last.ID}
		}
		if d := diff(order, got); d != "" {
			t.Errorf("ListRefreshable in pages of %d (-want +got):\n%s", size, d)
		}
	}
}

func testRefreshableUpdates(t *testing.T, e *env) {
	refreshFixture(t, e)
	now := e.clock.Now()
	// r3 loses its token (DISCONNECT), n1 gets a refresh token, r4's expiry
	// moves to the front.
	r3 := e.get(t, "r3")
	r3.Token = nil
	_, err := e.s.PutConnection(e.ctx, r3)
	must(t, err, "PutConnection r3")
	n1 := e.get(t, "n1")
	n1.Token.Refreshable = true
	n1.Token.Expiry = now.Add(150 * time.Second)
	_, err = e.s.PutConnection(e.ctx, n1)
	must(t, err, "PutConnection n1")
	r4 := e.get(t, "r4")
	r4.Token.Expiry = now.Add(30 * time.Second)
	_, err = e.s.PutConnection(e.ctx, r4)
	must(t, err, "PutConnection r4")
	r5 := e.get(t, "r5")
	must(t, e.s.DeleteConnection(e.ctx, "r5", r5.Revision), "DeleteConnection r5")

	got, err := e.s.ListRefreshable(e.ctx, store.Cursor{}, 100)
	must(t, err, "ListRefreshable")
	if d := diff([]string{"r4", "r1", "r2", "n1"}, ids(got)); d != "" {
		t.Errorf("ListRefreshable after updates (-want +got):\n%s", d)
	}
}

func testZeroLimit(t *testing.T, e *env) {
	refreshFixture(t, e)
	for _, limit := range []int{0, -1} {
		got, err := e.s.ScanConnections(e.ctx, "", limit)
		must(t, err, fmt.Sprintf("ScanConnections with limit %d", limit))
		if len(got) != 0 {
			t.Errorf("ScanConnections with limit %d returned %v, want nothing", limit, ids(got))
		}
		got, err = e.s.ListRefreshable(e.ctx, store.Cursor{}, limit)
		must(t, err, fmt.Sprintf("ListRefreshable with limit %d", limit))
		if len(got) != 0 {
			t.Errorf("ListRefreshable with limit %d returned %v, want nothing", limit, ids(got))
		}
	}
}
