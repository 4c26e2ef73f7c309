package storetest

import (
	"testing"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

var instanceTests = []test{
	{name: "GetUnknownIsNotFound", run: testInstanceUnknown},
	{name: "PutGet", run: testInstancePutGet},
	{name: "PutReplaces", run: testInstanceReplace},
	{name: "ListOrderedByID", run: testInstanceList},
	{name: "DeleteRemovesConnectionsAndLogs", run: testInstanceDelete},
	{name: "DeleteUnknownIsNotFound", run: testInstanceDeleteUnknown},
	{name: "EmptyIDIsRefused", run: testInstanceInvalid},
}

func instance(id string) connection.Instance {
	return connection.Instance{
		ID:                 id,
		Name:               "Acme " + id,
		IntegrationID:      "int-" + id,
		IntegrationName:    "Sync ✓ " + id,
		IntegrationVersion: 7,
	}
}

func testInstanceUnknown(t *testing.T, e *env) {
	_, err := e.s.GetInstance(e.ctx, "nope")
	wantErr(t, err, store.ErrNotFound, "GetInstance of an unknown id")
	list, err := e.s.ListInstances(e.ctx)
	must(t, err, "ListInstances of an empty store")
	if len(list) != 0 {
		t.Errorf("ListInstances of an empty store returned %v", list)
	}
}

func testInstancePutGet(t *testing.T, e *env) {
	in := instance("i1")
	must(t, e.s.PutInstance(e.ctx, in), "PutInstance")
	got, err := e.s.GetInstance(e.ctx, "i1")
	must(t, err, "GetInstance")
	if d := diff(in, got); d != "" {
		t.Errorf("GetInstance (-want +got):\n%s", d)
	}
}

func testInstanceReplace(t *testing.T, e *env) {
	must(t, e.s.PutInstance(e.ctx, instance("i1")), "PutInstance")
	e.create(t, minimalConnection("c1", ref("i1", "crm", "")))
	in := instance("i1")
	in.Name = "Renamed"
	in.IntegrationVersion = 8
	must(t, e.s.PutInstance(e.ctx, in), "PutInstance (replace)")
	got, err := e.s.GetInstance(e.ctx, "i1")
	must(t, err, "GetInstance")
	if d := diff(in, got); d != "" {
		t.Errorf("GetInstance after replace (-want +got):\n%s", d)
	}
	list, err := e.s.ListInstances(e.ctx)
	must(t, err, "ListInstances")
	if len(list) != 1 {
		t.Errorf("ListInstances after replace has %d instances, want 1", len(list))
	}
	// Replacing an instance keeps its connections.
	e.get(t, "c1")
}

func testInstanceList(t *testing.T, e *env) {
	for _, id := range []string{"i3", "i1", "i10", "i2"} {
		must(t, e.s.PutInstance(e.ctx, instance(id)), "PutInstance "+id)
	}
	got, err := e.s.ListInstances(e.ctx)
	must(t, err, "ListInstances")
	want := []connection.Instance{instance("i1"), instance("i10"), instance("i2"), instance("i3")}
	if d := diff(want, got); d != "" {
		t.Errorf("ListInstances (-want +got):\n%s", d)
	}
}

func testInstanceDelete(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	e.putInstance(t, "i2")
	now := e.clock.Now()
	e.create(t, fullConnection("a1", ref("i1", "crm", ""), now))
	e.create(t, fullConnection("a2", ref("i1", "crm", "u1"), now))
	keep := e.create(t, fullConnection("b1", ref("i2", "crm", ""), now))
	for _, id := range []string{"a1", "a2", "b1"} {
		_, err := e.s.AppendLog(e.ctx, &store.LogEntry{ConnectionID: id, Event: "connected"})
		must(t, err, "AppendLog "+id)
	}

	must(t, e.s.DeleteInstance(e.ctx, "i1"), "DeleteInstance")

	_, err := e.s.GetInstance(e.ctx, "i1")
	wantErr(t, err, store.ErrNotFound, "GetInstance after delete")
	for _, id := range []string{"a1", "a2"} {
		_, err := e.s.GetConnectionByID(e.ctx, id)
		wantErr(t, err, store.ErrNotFound, "GetConnectionByID of a deleted instance's connection "+id)
		logs, err := e.s.ListLogs(e.ctx, id, 0, 10)
		must(t, err, "ListLogs "+id)
		if len(logs) != 0 {
			t.Errorf("connection %s of a deleted instance still has %d log entries", id, len(logs))
		}
	}
	_, err = e.s.GetConnection(e.ctx, ref("i1", "crm", "u1"))
	wantErr(t, err, store.ErrNotFound, "GetConnection of a deleted instance's connection")
	list, err := e.s.ListConnections(e.ctx, "i1")
	must(t, err, "ListConnections")
	if len(list) != 0 {
		t.Errorf("ListConnections of a deleted instance returned %v", ids(list))
	}
	list, err = e.s.ScanConnections(e.ctx, "", 10)
	must(t, err, "ScanConnections")
	if d := diff([]string{"b1"}, ids(list)); d != "" {
		t.Errorf("ScanConnections after DeleteInstance (-want +got):\n%s", d)
	}
	list, err = e.s.ListRefreshable(e.ctx, store.Cursor{}, 10)
	must(t, err, "ListRefreshable")
	if d := diff([]string{"b1"}, ids(list)); d != "" {
		t.Errorf("ListRefreshable after DeleteInstance (-want +got):\n%s", d)
	}

	// The other instance is untouched.
	if d := diff(keep, e.get(t, "b1")); d != "" {
		t.Errorf("deleting i1 changed i2's connection (-want +got):\n%s", d)
	}
	logs, err := e.s.ListLogs(e.ctx, "b1", 0, 10)
	must(t, err, "ListLogs b1")
	if len(logs) != 1 {
		t.Errorf("deleting i1 changed i2's connection log: %d entries, want 1", len(logs))
	}
	instances, err := e.s.ListInstances(e.ctx)
	must(t, err, "ListInstances")
	if len(instances) != 1 || instances[0].ID != "i2" {
		t.Errorf("ListInstances after DeleteInstance(i1): %v, want only i2", instances)
	}
}

func testInstanceDeleteUnknown(t *testing.T, e *env) {
	err := e.s.DeleteInstance(e.ctx, "nope")
	wantErr(t, err, store.ErrNotFound, "DeleteInstance of an unknown id")
}
