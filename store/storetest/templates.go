package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/connkit/connkit/store"
)

var templateTests = []test{
	{name: "GetUnknownIsNotFound", run: testTemplateUnknown},
	{name: "CreateRoundTrip", run: testTemplateCreate},
	{name: "CAS", run: testTemplateCAS},
	{name: "Copies", run: testTemplateCopies},
	{name: "ListByComponent", run: testTemplateList},
	{name: "Delete", run: testTemplateDelete},
	{name: "PublishPinsAndLocks", run: testPublishLocks},
	{name: "PublishWithMissingTemplatePinsNothing", run: testPublishAtomic},
	{name: "RepublishSameIDsIsNoOp", run: testRepublishSame},
	{name: "RepublishOtherIDsConflicts", run: testRepublishOther},
	{name: "PublishWithoutTemplatesIsRecorded", run: testPublishEmpty},
	{name: "PinsOrdered", run: testPinsOrder},
	{name: "ConcurrentCASOneWinner", run: testTemplateConcurrentCAS},
	{name: "ResealPinned", run: testResealPinned},
	{name: "ResealUnpinned", run: testResealUnpinned},
	{name: "ResealRefusesFieldChanges", run: testResealFields},
	{name: "ResealCAS", run: testResealCAS},
	{name: "ResealCopiesInput", run: testResealCopies},
	{name: "ConcurrentResealOneWinner", run: testResealConcurrent},
	{name: "EmptyIDsAreRefused", run: testTemplateInvalid},
}

func fullTemplate(id, component string) *store.Template {
	return &store.Template{
		ID:        id,
		Name:      "Template " + id + " ✓",
		Component: component,
		Type:      "oauth-app",
		Values: map[string]string{
			"authorizeUrl": "https://login.example.com/authorize",
			"scopes":       "read write",
			"empty":        "",
		},
		Secrets: map[string][]byte{
			"clientSecret": sealedBytes(id+"clientSecret", 48),
			"zeros":        {0, 0, 0},
		},
	}
}

// createTemplate stores tp as a new template and returns it as read back.
func (e *env) createTemplate(t *testing.T, tp *store.Template) *store.Template {
	t.Helper()
	rev, err := e.s.PutTemplate(e.ctx, tp)
	must(t, err, "PutTemplate (create) "+tp.ID)
	if rev != 1 {
		t.Fatalf("PutTemplate (create) %s returned revision %d, want 1", tp.ID, rev)
	}
	got, err := e.s.GetTemplate(e.ctx, tp.ID)
	must(t, err, "GetTemplate "+tp.ID)
	return got
}

func testTemplateUnknown(t *testing.T, e *env) {
	_, err := e.s.GetTemplate(e.ctx, "nope")
	wantErr(t, err, store.ErrNotFound, "GetTemplate of an unknown id")
}

func testTemplateCreate(t *testing.T, e *env) {
	e.clock.Advance(777 * time.Microsecond)
	in := fullTemplate("t1", "salesforce")
	in.CreatedAt = epoch.Add(-24 * time.Hour) // ignored: the store stamps both
	in.UpdatedAt = epoch.Add(-12 * time.Hour)
	before := in.Clone()
	got := e.createTemplate(t, in)
	want := in.Clone()
	want.Revision = 1
	want.CreatedAt = e.clock.Now()
	want.UpdatedAt = e.clock.Now()
	if d := diff(want, got); d != "" {
		t.Errorf("GetTemplate after create (-want +got):\n%s", d)
	}
	if d := diff(before, in); d != "" {
		t.Errorf("PutTemplate modified its argument (-before +after):\n%s", d)
	}
	if _, ok := got.Values["empty"]; !ok {
		t.Errorf("a template value set to \"\" was lost")
	}
}

func testTemplateCAS(t *testing.T, e *env) {
	created := e.clock.Now()
	cur := e.createTemplate(t, fullTemplate("t1", "salesforce"))

	_, err := e.s.PutTemplate(e.ctx, fullTemplate("t1", "salesforce"))
	wantErr(t, err, store.ErrConflict, "creating (revision 0) a template that exists")

	e.clock.Advance(90 * time.Second)
	cur.Values["scopes"] = "read"
	delete(cur.Secrets, "zeros")
	cur.CreatedAt = epoch.Add(time.Hour) // ignored: CreatedAt stays
	cur.UpdatedAt = time.Time{}          // ignored: the store stamps it
	rev, err := e.s.PutTemplate(e.ctx, cur)
	must(t, err, "PutTemplate (update)")
	if rev != 2 {
		t.Fatalf("PutTemplate at revision 1 returned %d, want 2", rev)
	}
	want := cur.Clone()
	want.Revision = 2
	want.CreatedAt = created
	want.UpdatedAt = e.clock.Now()
	got, err := e.s.GetTemplate(e.ctx, "t1")
	must(t, err, "GetTemplate")
	if d := diff(want, got); d != "" {
		t.Errorf("GetTemplate after update: CreatedAt stays, UpdatedAt moves (-want +got):\n%s", d)
	}

	stale := cur.Clone() // revision 1
	stale.Name = "stale"
	_, err = e.s.PutTemplate(e.ctx, stale)
	wantErr(t, err, store.ErrConflict, "PutTemplate at a stale revision")
	missing := fullTemplate("t2", "salesforce")
	missing.Revision = 4
	_, err = e.s.PutTemplate(e.ctx, missing)
	wantErr(t, err, store.ErrConflict, "PutTemplate at revision 4 of a template that does not exist")
	_, err = e.s.GetTemplate(e.ctx, "t2")
	wantErr(t, err, store.ErrNotFound, "GetTemplate after the rejected write")
	got, err = e.s.GetTemplate(e.ctx, "t1")
	must(t, err, "GetTemplate")
	if d := diff(want, got); d != "" {
		t.Errorf("a rejected write changed the template (-want +got):\n%s", d)
	}
}

func testTemplateCopies(t *testing.T, e *env) {
	in := fullTemplate("t1", "salesforce")
	want := e.createTemplate(t, in)
	scribbleTemplate(in)
	got, err := e.s.GetTemplate(e.ctx, "t1")
	must(t, err, "GetTemplate")
	if d := diff(want, got); d != "" {
		t.Fatalf("changing the template after PutTemplate changed the stored one (-want +got):\n%s", d)
	}
	scribbleTemplate(got)
	list, err := e.s.ListTemplates(e.ctx, "")
	must(t, err, "ListTemplates")
	for _, tp := range list {
		scribbleTemplate(tp)
	}
	got, err = e.s.GetTemplate(e.ctx, "t1")
	must(t, err, "GetTemplate")
	if d := diff(want, got); d != "" {
		t.Errorf("changing returned templates changed the stored one (-want +got):\n%s", d)
	}
}

func scribbleTemplate(tp *store.Template) {
	tp.Name = "scribbled"
	for k := range tp.Values {
		tp.Values[k] = "scribbled"
	}
	for _, v := range tp.Secrets {
		for i := range v {
			v[i] ^= 0xff
		}
	}
	tp.Secrets["added"] = []byte("x")
}

func testTemplateList(t *testing.T, e *env) {
	for _, tp := range []*store.Template{
		fullTemplate("t3", "hubspot"),
		fullTemplate("t1", "salesforce"),
		fullTemplate("t4", "salesforce"),
		fullTemplate("t2", "salesforce"),
	} {
		e.createTemplate(t, tp)
	}
	tids := func(ts []*store.Template) []string {
		var out []string
		for _, tp := range ts {
			out = append(out, tp.ID)
		}
		return out
	}
	got, err := e.s.ListTemplates(e.ctx, "salesforce")
	must(t, err, "ListTemplates(salesforce)")
	if d := diff([]string{"t1", "t2", "t4"}, tids(got)); d != "" {
		t.Errorf("ListTemplates(salesforce) (-want +got):\n%s", d)
	}
	got, err = e.s.ListTemplates(e.ctx, "")
	must(t, err, "ListTemplates(\"\")")
	if d := diff([]string{"t1", "t2", "t3", "t4"}, tids(got)); d != "" {
		t.Errorf("ListTemplates(\"\") (-want +got):\n%s", d)
	}
	got, err = e.s.ListTemplates(e.ctx, "nobody")
	must(t, err, "ListTemplates(nobody)")
	if len(got) != 0 {
		t.Errorf("ListTemplates of a component without templates returned %v", tids(got))
	}
}

func testTemplateDelete(t *testing.T, e *env) {
	e.createTemplate(t, fullTemplate("t1", "salesforce"))
	e.createTemplate(t, fullTemplate("t2", "salesforce"))
	must(t, e.s.DeleteTemplate(e.ctx, "t1"), "DeleteTemplate")
	_, err := e.s.GetTemplate(e.ctx, "t1")
	wantErr(t, err, store.ErrNotFound, "GetTemplate after delete")
	err = e.s.DeleteTemplate(e.ctx, "t1")
	wantErr(t, err, store.ErrNotFound, "DeleteTemplate of a deleted template")
	list, err := e.s.ListTemplates(e.ctx, "")
	must(t, err, "ListTemplates")
	if len(list) != 1 || list[0].ID != "t2" {
		t.Errorf("ListTemplates after delete returned %d templates, want only t2", len(list))
	}
}

func testPublishLocks(t *testing.T, e *env) {
	t1 := e.createTemplate(t, fullTemplate("t1", "salesforce"))
	e.createTemplate(t, fullTemplate("t2", "salesforce"))
	free := e.createTemplate(t, fullTemplate("t3", "salesforce"))
	v1 := store.Version{IntegrationID: "int-1", Version: 1}
	must(t, e.s.Publish(e.ctx, v1, []string{"t1", "t2"}), "Publish")

	for _, id := range []string{"t1", "t2"} {
		pins, err := e.s.Pins(e.ctx, id)
		must(t, err, "Pins "+id)
		if d := diff([]store.Version{v1}, pins); d != "" {
			t.Errorf("Pins(%s) (-want +got):\n%s", id, d)
		}
	}
	up := t1.Clone()
	up.Values["scopes"] = "admin"
	_, err := e.s.PutTemplate(e.ctx, up)
	wantErr(t, err, store.ErrTemplateLocked, "PutTemplate of a pinned template")
	err = e.s.DeleteTemplate(e.ctx, "t2")
	wantErr(t, err, store.ErrTemplateLocked, "DeleteTemplate of a pinned template")
	got, err := e.s.GetTemplate(e.ctx, "t1")
	must(t, err, "GetTemplate")
	if d := diff(t1, got); d != "" {
		t.Errorf("the locked template changed (-want +got):\n%s", d)
	}
	_, err = e.s.GetTemplate(e.ctx, "t2")
	must(t, err, "GetTemplate of the template whose delete was refused")

	// An unpinned template stays writable.
	pins, err := e.s.Pins(e.ctx, "t3")
	must(t, err, "Pins t3")
	if len(pins) != 0 {
		t.Errorf("Pins of an unpinned template = %v", pins)
	}
	free.Name = "changed"
	_, err = e.s.PutTemplate(e.ctx, free)
	must(t, err, "PutTemplate of an unpinned template")
}

func testPublishAtomic(t *testing.T, e *env) {
	e.createTemplate(t, fullTemplate("t1", "salesforce"))
	t2 := e.createTemplate(t, fullTemplate("t2", "salesforce"))
	v := store.Version{IntegrationID: "int-1", Version: 2}
	// The missing id sorts first, last and in the middle of the given ids.
	for _, tids := range [][]string{
		{"t1", "t2", "t9-missing"},
		{"a-missing", "t2", "t1"},
		{"t2", "t10-missing", "t1"},
	} {
		err := e.s.Publish(e.ctx, v, tids)
		wantErr(t, err, store.ErrNotFound, fmt.Sprintf("Publish(%v) with a template id that does not exist", tids))
	}
	for _, id := range []string{"t1", "t2"} {
		pins, err := e.s.Pins(e.ctx, id)
		must(t, err, "Pins "+id)
		if len(pins) != 0 {
			t.Errorf("a failed Publish pinned %s: %v", id, pins)
		}
	}
	t2.Name = "still writable"
	_, err := e.s.PutTemplate(e.ctx, t2)
	must(t, err, "PutTemplate after a failed Publish")
	must(t, e.s.DeleteTemplate(e.ctx, "t1"), "DeleteTemplate after a failed Publish")

	// The failed Publish recorded nothing: the version can be published now.
	must(t, e.s.Publish(e.ctx, v, []string{"t2"}), "Publish of the version after a failed attempt")
	pins, err := e.s.Pins(e.ctx, "t2")
	must(t, err, "Pins t2")
	if d := diff([]store.Version{v}, pins); d != "" {
		t.Errorf("Pins(t2) (-want +got):\n%s", d)
	}
}

func testRepublishSame(t *testing.T, e *env) {
	e.createTemplate(t, fullTemplate("t1", "salesforce"))
	e.createTemplate(t, fullTemplate("t2", "salesforce"))
	v := store.Version{IntegrationID: "int-1", Version: 1}
	must(t, e.s.Publish(e.ctx, v, []string{"t2", "t1", "t2"}), "Publish with a repeated id")
	must(t, e.s.Publish(e.ctx, v, []string{"t1", "t2"}), "Publish again with the same ids")
	must(t, e.s.Publish(e.ctx, v, []string{"t2", "t1"}), "Publish again with the same ids in another order")
	must(t, e.s.Publish(e.ctx, v, []string{"t1", "t1", "t2", "t1"}), "Publish again with repeated ids")
	for _, id := range []string{"t1", "t2"} {
		pins, err := e.s.Pins(e.ctx, id)
		must(t, err, "Pins "+id)
		if d := diff([]store.Version{v}, pins); d != "" {
			t.Errorf("Pins(%s) after republishing (-want +got):\n%s", id, d)
		}
	}
}

func testRepublishOther(t *testing.T, e *env) {
	e.createTemplate(t, fullTemplate("t1", "salesforce"))
	e.createTemplate(t, fullTemplate("t2", "salesforce"))
	e.createTemplate(t, fullTemplate("t3", "salesforce"))
	v := store.Version{IntegrationID: "int-1", Version: 1}
	must(t, e.s.Publish(e.ctx, v, []string{"t1", "t2"}), "Publish")
	err := e.s.Publish(e.ctx, v, []string{"t1"})
	wantErr(t, err, store.ErrConflict, "republishing a version with fewer ids")
	err = e.s.Publish(e.ctx, v, []string{"t1", "t2", "t3"})
	wantErr(t, err, store.ErrConflict, "republishing a version with more ids")
	err = e.s.Publish(e.ctx, v, []string{"t3"})
	wantErr(t, err, store.ErrConflict, "republishing a version with other ids")
	pins, err := e.s.Pins(e.ctx, "t3")
	must(t, err, "Pins t3")
	if len(pins) != 0 {
		t.Errorf("a conflicting republish pinned t3: %v", pins)
	}
	// Another version of the same integration is a new publication.
	v2 := store.Version{IntegrationID: "int-1", Version: 2}
	must(t, e.s.Publish(e.ctx, v2, []string{"t3"}), "Publish of the next version")
}

func testPublishEmpty(t *testing.T, e *env) {
	e.createTemplate(t, fullTemplate("t1", "salesforce"))
	v := store.Version{IntegrationID: "int-1", Version: 1}
	must(t, e.s.Publish(e.ctx, v, nil), "Publish without templates")
	must(t, e.s.Publish(e.ctx, v, []string{}), "Publish without templates again")
	err := e.s.Publish(e.ctx, v, []string{"t1"})
	wantErr(t, err, store.ErrConflict, "republishing a version published without templates, now with one")
	pins, err := e.s.Pins(e.ctx, "t1")
	must(t, err, "Pins t1")
	if len(pins) != 0 {
		t.Errorf("a conflicting republish pinned t1: %v", pins)
	}
}

func testPinsOrder(t *testing.T, e *env) {
	e.createTemplate(t, fullTemplate("t1", "salesforce"))
	e.createTemplate(t, fullTemplate("t2", "salesforce"))
	for _, v := range []store.Version{
		{IntegrationID: "int-b", Version: 1},
		{IntegrationID: "int-a", Version: 10},
		{IntegrationID: "int-a", Version: 2},
		{IntegrationID: "int-a", Version: 1},
	} {
		must(t, e.s.Publish(e.ctx, v, []string{"t1"}), "Publish")
	}
	must(t, e.s.Publish(e.ctx, store.Version{IntegrationID: "int-c", Version: 1}, []string{"t2"}), "Publish")
	pins, err := e.s.Pins(e.ctx, "t1")
	must(t, err, "Pins")
	want := []store.Version{
		{IntegrationID: "int-a", Version: 1},
		{IntegrationID: "int-a", Version: 2},
		{IntegrationID: "int-a", Version: 10},
		{IntegrationID: "int-b", Version: 1},
	}
	if d := diff(want, pins); d != "" {
		t.Errorf("Pins ordered by integration id then version (-want +got):\n%s", d)
	}
}

func testTemplateConcurrentCAS(t *testing.T, e *env) {
	e.createTemplate(t, fullTemplate("t1", "salesforce"))
	read := make([]*store.Template, contenders)
	readErr := make([]error, contenders)
	errs := race(func(i int) {
		read[i], readErr[i] = e.s.GetTemplate(e.ctx, "t1")
	}, func(i int) error {
		if readErr[i] != nil {
			return readErr[i]
		}
		read[i].Name = "winner " + string(rune('a'+i))
		_, err := e.s.PutTemplate(e.ctx, read[i])
		return err
	})
	won := winners(t, errs, store.ErrConflict, "concurrent PutTemplate")
	if len(won) != 1 {
		t.Fatalf("%d of %d concurrent PutTemplate at one revision succeeded, want 1", len(won), contenders)
	}
	got, err := e.s.GetTemplate(e.ctx, "t1")
	must(t, err, "GetTemplate")
	if got.Name != "winner "+string(rune('a'+won[0])) || got.Revision != 2 {
		t.Errorf("stored %q at revision %d, want the winner's name at revision 2", got.Name, got.Revision)
	}
}

// resealed returns new sealed bytes for every field of secrets, standing for
// the same plaintexts sealed again under another key: other bytes, other
// lengths, the same field keys.
func resealed(secrets map[string][]byte, round string) map[string][]byte {
	out := make(map[string][]byte, len(secrets))
	for k, v := range secrets {
		out[k] = sealedBytes(round+k+string(v), len(v)+7)
	}
	return out
}

func testResealPinned(t *testing.T, e *env) {
	created := e.clock.Now()
	tp := e.createTemplate(t, fullTemplate("t1", "salesforce"))
	v := store.Version{IntegrationID: "int-1", Version: 1}
	must(t, e.s.Publish(e.ctx, v, []string{"t1"}), "Publish")

	e.clock.Advance(time.Minute)
	secrets := resealed(tp.Secrets, "k2")
	rev, err := e.s.ResealTemplate(e.ctx, "t1", tp.Revision, secrets)
	must(t, err, "ResealTemplate of a pinned template")
	if rev != 2 {
		t.Fatalf("ResealTemplate at revision 1 returned %d, want 2", rev)
	}
	want := tp.Clone()
	want.Secrets = secrets
	want.Revision = 2
	want.CreatedAt = created
	want.UpdatedAt = e.clock.Now()
	got, err := e.s.GetTemplate(e.ctx, "t1")
	must(t, err, "GetTemplate")
	if d := diff(want, got); d != "" {
		t.Errorf("after ResealTemplate only Secrets, Revision and UpdatedAt change (-want +got):\n%s", d)
	}

	// Still published and locked for everything else.
	pins, err := e.s.Pins(e.ctx, "t1")
	must(t, err, "Pins")
	if d := diff([]store.Version{v}, pins); d != "" {
		t.Errorf("Pins after ResealTemplate (-want +got):\n%s", d)
	}
	up := got.Clone()
	up.Values["scopes"] = "admin"
	_, err = e.s.PutTemplate(e.ctx, up)
	wantErr(t, err, store.ErrTemplateLocked, "PutTemplate of a pinned template after ResealTemplate")
	wantErr(t, e.s.DeleteTemplate(e.ctx, "t1"), store.ErrTemplateLocked, "DeleteTemplate of a pinned template after ResealTemplate")

	// A second rotation re-seals again.
	e.clock.Advance(time.Minute)
	again := resealed(secrets, "k3")
	rev, err = e.s.ResealTemplate(e.ctx, "t1", 2, again)
	must(t, err, "ResealTemplate at revision 2")
	if rev != 3 {
		t.Errorf("ResealTemplate at revision 2 returned %d, want 3", rev)
	}
	want.Secrets, want.Revision, want.UpdatedAt = again, 3, e.clock.Now()
	got, err = e.s.GetTemplate(e.ctx, "t1")
	must(t, err, "GetTemplate")
	if d := diff(want, got); d != "" {
		t.Errorf("after a second ResealTemplate (-want +got):\n%s", d)
	}
	list, err := e.s.ListTemplates(e.ctx, "salesforce")
	must(t, err, "ListTemplates")
	if len(list) != 1 {
		t.Fatalf("ListTemplates returned %d templates, want 1", len(list))
	}
	if d := diff(want, list[0]); d != "" {
		t.Errorf("ListTemplates after ResealTemplate (-want +got):\n%s", d)
	}
}

func testResealUnpinned(t *testing.T, e *env) {
	tp := e.createTemplate(t, fullTemplate("t1", "salesforce"))
	secrets := resealed(tp.Secrets, "k2")
	_, err := e.s.ResealTemplate(e.ctx, "t1", 1, secrets)
	must(t, err, "ResealTemplate of an unpinned template")
	got, err := e.s.GetTemplate(e.ctx, "t1")
	must(t, err, "GetTemplate")
	if d := diff(secrets, got.Secrets); d != "" {
		t.Errorf("Secrets after ResealTemplate (-want +got):\n%s", d)
	}
	// The template stays writable, at its new revision only.
	stale := tp.Clone()
	stale.Name = "stale"
	_, err = e.s.PutTemplate(e.ctx, stale)
	wantErr(t, err, store.ErrConflict, "PutTemplate at the revision ResealTemplate replaced")
	got.Name = "renamed"
	rev, err := e.s.PutTemplate(e.ctx, got)
	must(t, err, "PutTemplate after ResealTemplate")
	if rev != 3 {
		t.Errorf("PutTemplate at revision 2 returned %d, want 3", rev)
	}

	// A template without secrets re-seals nothing, nil or empty alike.
	e.createTemplate(t, &store.Template{ID: "t0", Component: "salesforce"})
	rev, err = e.s.ResealTemplate(e.ctx, "t0", 1, map[string][]byte{})
	must(t, err, "ResealTemplate of a template without secrets, with an empty map")
	_, err = e.s.ResealTemplate(e.ctx, "t0", rev, nil)
	must(t, err, "ResealTemplate of a template without secrets, with nil")
}

func testResealFields(t *testing.T, e *env) {
	tp := e.createTemplate(t, fullTemplate("t1", "salesforce"))
	must(t, e.s.Publish(e.ctx, store.Version{IntegrationID: "int-1", Version: 1}, []string{"t1"}), "Publish")
	e.createTemplate(t, &store.Template{ID: "t0", Component: "salesforce"})
	base := resealed(tp.Secrets, "k2")
	with := func(change func(m map[string][]byte)) map[string][]byte {
		m := resealed(tp.Secrets, "k2")
		change(m)
		return m
	}
	for _, tc := range []struct {
		name    string
		secrets map[string][]byte
	}{
		{"a field added", with(func(m map[string][]byte) { m["extra"] = []byte{1} })},
		{"a field removed", with(func(m map[string][]byte) { delete(m, "zeros") })},
		{"a field renamed", with(func(m map[string][]byte) { m["Zeros"] = m["zeros"]; delete(m, "zeros") })},
		{"every field removed", nil},
	} {
		_, err := e.s.ResealTemplate(e.ctx, "t1", tp.Revision, tc.secrets)
		wantErr(t, err, store.ErrFieldsChanged, "ResealTemplate with "+tc.name)
	}
	_, err := e.s.ResealTemplate(e.ctx, "t0", 1, map[string][]byte{"new": {1}})
	wantErr(t, err, store.ErrFieldsChanged, "ResealTemplate adding a field to a template without secrets")
	got, err := e.s.GetTemplate(e.ctx, "t1")
	must(t, err, "GetTemplate")
	if d := diff(tp, got); d != "" {
		t.Errorf("a refused ResealTemplate changed the template (-want +got):\n%s", d)
	}
	// The same keys, at last, work.
	_, err = e.s.ResealTemplate(e.ctx, "t1", tp.Revision, base)
	must(t, err, "ResealTemplate with the stored field keys")
}

func testResealCAS(t *testing.T, e *env) {
	tp := e.createTemplate(t, fullTemplate("t1", "salesforce"))
	secrets := resealed(tp.Secrets, "k2")
	for _, rev := range []int64{0, 2, 5} {
		_, err := e.s.ResealTemplate(e.ctx, "t1", rev, secrets)
		wantErr(t, err, store.ErrConflict, fmt.Sprintf("ResealTemplate at revision %d of a template at revision 1", rev))
	}
	// A stale revision is a conflict even when the field keys differ too: the
	// caller must read again before anything else can be said.
	_, err := e.s.ResealTemplate(e.ctx, "t1", 7, map[string][]byte{"other": {1}})
	wantErr(t, err, store.ErrConflict, "ResealTemplate at a stale revision with other field keys")
	_, err = e.s.ResealTemplate(e.ctx, "nope", 1, secrets)
	wantErr(t, err, store.ErrNotFound, "ResealTemplate of an unknown template")
	_, err = e.s.GetTemplate(e.ctx, "nope")
	wantErr(t, err, store.ErrNotFound, "GetTemplate after ResealTemplate of an unknown template")
	got, err := e.s.GetTemplate(e.ctx, "t1")
	must(t, err, "GetTemplate")
	if d := diff(tp, got); d != "" {
		t.Errorf("a conflicting ResealTemplate changed the template (-want +got):\n%s", d)
	}

	// After a PutTemplate the old revision no longer re-seals.
	up := got.Clone()
	up.Name = "renamed"
	_, err = e.s.PutTemplate(e.ctx, up)
	must(t, err, "PutTemplate")
	_, err = e.s.ResealTemplate(e.ctx, "t1", 1, secrets)
	wantErr(t, err, store.ErrConflict, "ResealTemplate at the revision a PutTemplate replaced")
	_, err = e.s.ResealTemplate(e.ctx, "t1", 2, secrets)
	must(t, err, "ResealTemplate at the current revision")
}

func testResealCopies(t *testing.T, e *env) {
	tp := e.createTemplate(t, fullTemplate("t1", "salesforce"))
	secrets := resealed(tp.Secrets, "k2")
	want := resealed(tp.Secrets, "k2")
	_, err := e.s.ResealTemplate(e.ctx, "t1", 1, secrets)
	must(t, err, "ResealTemplate")
	for k, v := range secrets {
		for i := range v {
			v[i] ^= 0xff
		}
		secrets[k] = append(v, 'x')
	}
	secrets["added"] = []byte("x")
	got, err := e.s.GetTemplate(e.ctx, "t1")
	must(t, err, "GetTemplate")
	if d := diff(want, got.Secrets); d != "" {
		t.Errorf("changing the map after ResealTemplate changed the stored secrets (-want +got):\n%s", d)
	}
}

func testResealConcurrent(t *testing.T, e *env) {
	tp := e.createTemplate(t, fullTemplate("t1", "salesforce"))
	must(t, e.s.Publish(e.ctx, store.Version{IntegrationID: "int-1", Version: 1}, []string{"t1"}), "Publish")
	mine := make([]map[string][]byte, contenders)
	errs := race(func(i int) {
		mine[i] = resealed(tp.Secrets, fmt.Sprint("contender-", i))
	}, func(i int) error {
		_, err := e.s.ResealTemplate(e.ctx, "t1", tp.Revision, mine[i])
		return err
	})
	won := winners(t, errs, store.ErrConflict, "concurrent ResealTemplate")
	if len(won) != 1 {
		t.Fatalf("%d of %d concurrent ResealTemplate at one revision succeeded, want 1", len(won), contenders)
	}
	got, err := e.s.GetTemplate(e.ctx, "t1")
	must(t, err, "GetTemplate")
	if d := diff(mine[won[0]], got.Secrets); d != "" || got.Revision != 2 {
		t.Errorf("stored revision %d with secrets other than the winner's (-want +got):\n%s", got.Revision, d)
	}
}
