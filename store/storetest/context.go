package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

var contextTests = []test{
	{name: "CancelledContextFailsEveryMethod", run: testCancelledEveryMethod},
	{name: "CancelledWritesChangeNothing", run: testCancelledWrites},
}

// cancelled returns a context that is already cancelled.
func cancelled(parent context.Context) context.Context {
	ctx, cancel := context.WithCancel(parent)
	cancel()
	return ctx
}

func testCancelledEveryMethod(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	c := e.create(t, fullConnection("c1", ref("i1", "crm", ""), e.clock.Now()))
	e.createTemplate(t, fullTemplate("t1", "salesforce"))
	p := pending("a", e.clock.Now(), time.Minute)
	must(t, e.s.PutPending(e.ctx, p), "PutPending")

	ctx := cancelled(e.ctx)
	calls := []struct {
		name string
		call func() error
	}{
		{"GetConnection", func() error { _, err := e.s.GetConnection(ctx, c.Ref); return err }},
		{"GetConnectionByID", func() error { _, err := e.s.GetConnectionByID(ctx, "c1"); return err }},
		{"PutConnection", func() error { _, err := e.s.PutConnection(ctx, c); return err }},
		{"DeleteConnection", func() error { return e.s.DeleteConnection(ctx, "c1", c.Revision) }},
		{"ListConnections", func() error { _, err := e.s.ListConnections(ctx, "i1"); return err }},
		{"ScanConnections", func() error { _, err := e.s.ScanConnections(ctx, "", 10); return err }},
		{"ListRefreshable", func() error { _, err := e.s.ListRefreshable(ctx, store.Cursor{}, 10); return err }},
		{"PutInstance", func() error { return e.s.PutInstance(ctx, connection.Instance{ID: "i2"}) }},
		{"GetInstance", func() error { _, err := e.s.GetInstance(ctx, "i1"); return err }},
		{"ListInstances", func() error { _, err := e.s.ListInstances(ctx); return err }},
		{"DeleteInstance", func() error { return e.s.DeleteInstance(ctx, "i1") }},
		{"GetTemplate", func() error { _, err := e.s.GetTemplate(ctx, "t1"); return err }},
		{"ListTemplates", func() error { _, err := e.s.ListTemplates(ctx, ""); return err }},
		{"PutTemplate", func() error { _, err := e.s.PutTemplate(ctx, fullTemplate("t2", "x")); return err }},
		{"ResealTemplate", func() error {
			_, err := e.s.ResealTemplate(ctx, "t1", 1, resealed(fullTemplate("t1", "x").Secrets, "k2"))
			return err
		}},
		{"DeleteTemplate", func() error { return e.s.DeleteTemplate(ctx, "t1") }},
		{"Publish", func() error { return e.s.Publish(ctx, store.Version{IntegrationID: "x", Version: 1}, []string{"t1"}) }},
		{"Pins", func() error { _, err := e.s.Pins(ctx, "t1"); return err }},
		{"PutPending", func() error { return e.s.PutPending(ctx, pending("b", e.clock.Now(), time.Minute)) }},
		{"ConsumePending", func() error { _, err := e.s.ConsumePending(ctx, p.StateHash); return err }},
		{"AppendLog", func() error { _, err := e.s.AppendLog(ctx, &store.LogEntry{ConnectionID: "c1"}); return err }},
		{"ListLogs", func() error { _, err := e.s.ListLogs(ctx, "c1", 0, 10); return err }},
		{"AcquireLease", func() error { _, err := e.s.AcquireLease(ctx, "k", "a", time.Minute); return err }},
		{"ReleaseLease", func() error { return e.s.ReleaseLease(ctx, "k", "a") }},
	}
	for _, tc := range calls {
		if err := tc.call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: error = %v, want one matching context.Canceled", tc.name, err)
		}
	}
}

func testCancelledWrites(t *testing.T, e *env) {
	e.putInstance(t, "i1")
	c := e.create(t, fullConnection("c1", ref("i1", "crm", ""), e.clock.Now()))
	tp := e.createTemplate(t, fullTemplate("t1", "salesforce"))
	p := pending("a", e.clock.Now(), time.Minute)
	must(t, e.s.PutPending(e.ctx, p), "PutPending")
	e.acquire(t, "held", "a")
	ctx := cancelled(e.ctx)

	up := c.Clone()
	up.Values["host"] = "changed"
	_, _ = e.s.PutConnection(ctx, up)
	_, _ = e.s.PutConnection(ctx, minimalConnection("c2", ref("i1", "erp", "")))
	_ = e.s.DeleteConnection(ctx, "c1", c.Revision)
	_ = e.s.DeleteInstance(ctx, "i1")
	_ = e.s.PutInstance(ctx, connection.Instance{ID: "i2"})
	tpUp := tp.Clone()
	tpUp.Name = "changed"
	_, _ = e.s.PutTemplate(ctx, tpUp)
	_, _ = e.s.ResealTemplate(ctx, "t1", tp.Revision, resealed(tp.Secrets, "k2"))
	_ = e.s.DeleteTemplate(ctx, "t1")
	_ = e.s.Publish(ctx, store.Version{IntegrationID: "x", Version: 1}, []string{"t1"})
	_ = e.s.PutPending(ctx, pending("b", e.clock.Now(), time.Minute))
	_, _ = e.s.ConsumePending(ctx, p.StateHash)
	_, _ = e.s.AppendLog(ctx, &store.LogEntry{ConnectionID: "c1", Event: "x"})
	_, _ = e.s.AcquireLease(ctx, "free", "a", time.Minute)
	_ = e.s.ReleaseLease(ctx, "held", "a")

	if d := diff(c, e.get(t, "c1")); d != "" {
		t.Errorf("a cancelled write changed c1 (-want +got):\n%s", d)
	}
	_, err := e.s.GetConnectionByID(e.ctx, "c2")
	wantErr(t, err, store.ErrNotFound, "GetConnectionByID of a connection created with a cancelled context")
	_, err = e.s.GetInstance(e.ctx, "i1")
	must(t, err, "GetInstance of the instance deleted with a cancelled context")
	_, err = e.s.GetInstance(e.ctx, "i2")
	wantErr(t, err, store.ErrNotFound, "GetInstance of an instance put with a cancelled context")
	got, err := e.s.GetTemplate(e.ctx, "t1")
	must(t, err, "GetTemplate")
	if d := diff(tp, got); d != "" {
		t.Errorf("a cancelled write changed t1 (-want +got):\n%s", d)
	}
	pins, err := e.s.Pins(e.ctx, "t1")
	must(t, err, "Pins")
	if len(pins) != 0 {
		t.Errorf("Publish with a cancelled context pinned t1: %v", pins)
	}
	_, err = e.s.ConsumePending(e.ctx, stateHash("b"))
	wantErr(t, err, store.ErrNotFound, "ConsumePending of a state put with a cancelled context")
	_, err = e.s.ConsumePending(e.ctx, p.StateHash)
	must(t, err, "ConsumePending of the state consumed with a cancelled context")
	logs, err := e.s.ListLogs(e.ctx, "c1", 0, 10)
	must(t, err, "ListLogs")
	if len(logs) != 0 {
		t.Errorf("AppendLog with a cancelled context appended: %+v", logs)
	}
	e.acquire(t, "free", "b")
	e.held(t, "held", "b")
}
