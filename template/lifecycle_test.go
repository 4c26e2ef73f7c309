package template_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/template"
)

// TestTemplateLifecycle: a template changes freely until an integration
// version referencing it is published; then it is locked (update and delete
// refused), instances of that version keep its values, and a new template
// for a new version gives that version's instances the new values.
func TestTemplateLifecycle(t *testing.T) {
	testAll(t, func(t *testing.T, e *env) {
		a := e.oauthTemplate(t, "client-A")
		if a.Locked() || a.Revision != 1 {
			t.Fatalf("new template: locked=%v revision=%d", a.Locked(), a.Revision)
		}

		// Update before publish works.
		specA2 := template.TemplateSpec{Name: "Acme app (v2 name)", Component: "acme", Type: oauthType,
			Values: values(connection.FieldClientID, "client-A2", connection.FieldClientSecret, sentinel)}
		a2, err := e.m.UpdateTemplate(e.ctx, a.ID, specA2)
		if err != nil {
			t.Fatalf("UpdateTemplate before publish: %v", err)
		}
		if a2.Values[connection.FieldClientID] != "client-A2" || a2.Name != specA2.Name || a2.Revision != 2 {
			t.Errorf("updated template = %+v", a2)
		}

		v1 := acmeIntegration(e.id("int"), 1, a.ID)
		e.register(t, v1)
		inst1 := e.deploy(t, v1.ID, 1)
		if err := e.m.Publish(e.ctx, v1.ID, 1); err != nil {
			t.Fatalf("Publish v1: %v", err)
		}
		if err := e.m.Publish(e.ctx, v1.ID, 1); err != nil {
			t.Errorf("publishing the same version again: %v", err)
		}
		got, err := e.m.GetTemplate(e.ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantPins := []store.Version{{IntegrationID: v1.ID, Version: 1}}
		if diff := cmp.Diff(wantPins, got.PinnedBy); diff != "" || !got.Locked() {
			t.Errorf("pins of the published template (-want +got):\n%s", diff)
		}

		// After publish: locked.
		specA3 := specA2
		specA3.Values = values(connection.FieldClientID, "client-A3")
		_, err = e.m.UpdateTemplate(e.ctx, a.ID, specA3)
		if !errors.Is(err, template.ErrTemplateLocked) || !errors.Is(err, store.ErrTemplateLocked) {
			t.Errorf("UpdateTemplate after publish = %v, want ErrTemplateLocked", err)
		}
		if err := e.m.DeleteTemplate(e.ctx, a.ID); !errors.Is(err, template.ErrTemplateLocked) {
			t.Errorf("DeleteTemplate of a pinned template = %v, want ErrTemplateLocked", err)
		}

		// The way forward: a new template for a new version.
		b := e.oauthTemplate(t, "client-B")
		v2 := acmeIntegration(v1.ID, 2, b.ID)
		e.register(t, v2)
		if err := e.m.Publish(e.ctx, v1.ID, 2); err != nil {
			t.Fatalf("Publish v2: %v", err)
		}
		inst2 := e.deploy(t, v1.ID, 2)

		for _, c := range []struct {
			inst connection.Instance
			want string
		}{{inst1, "client-A2"}, {inst2, "client-B"}} {
			res := e.resolve(t, connection.Ref{InstanceID: c.inst.ID, Variable: "Acme OAuth", User: "u"})
			if got := res.Values.String(connection.FieldClientID); got != c.want || res.Sources[connection.FieldClientID] != connection.SourceTemplate {
				t.Errorf("instance on version %d resolves client id %q from %q, want %q from the template",
					c.inst.IntegrationVersion, got, res.Sources[connection.FieldClientID], c.want)
			}
			if res.Values.String(connection.FieldClientSecret) != sentinel {
				t.Errorf("instance on version %d does not resolve the template's secret", c.inst.IntegrationVersion)
			}
		}

		// Redeploying the old instance on the new version moves it to the new
		// template.
		inst1.IntegrationVersion = 2
		if err := e.m.Deploy(e.ctx, inst1); err != nil {
			t.Fatal(err)
		}
		res := e.resolve(t, connection.Ref{InstanceID: inst1.ID, Variable: "Acme OAuth", User: "u"})
		if got := res.Values.String(connection.FieldClientID); got != "client-B" {
			t.Errorf("upgraded instance resolves client id %q, want client-B", got)
		}

		// An unpinned template can be deleted.
		c := e.oauthTemplate(t, "client-C")
		if err := e.m.DeleteTemplate(e.ctx, c.ID); err != nil {
			t.Errorf("DeleteTemplate of an unpinned template: %v", err)
		}
		if _, err := e.m.GetTemplate(e.ctx, c.ID); !errors.Is(err, template.ErrNotFound) {
			t.Errorf("GetTemplate after delete = %v, want ErrNotFound", err)
		}
	})
}

// TestTemplateNeverRevealsSecrets: template views list secret fields by key
// only, and the store holds them sealed and bound to the template.
func TestTemplateNeverRevealsSecrets(t *testing.T) {
	testAll(t, func(t *testing.T, e *env) {
		tpl := e.oauthTemplate(t, "client-s")
		list, err := e.m.ListTemplates(e.ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range append(list, tpl) {
			js, _ := json.Marshal(v)
			for _, form := range []string{string(js), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", *v)} {
				if strings.Contains(form, sentinel) {
					t.Fatalf("template view holds a secret: %s", form)
				}
			}
		}
		if diff := cmp.Diff([]string{connection.FieldClientSecret}, tpl.Secrets); diff != "" {
			t.Errorf("Secrets (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{connection.FieldClientID, connection.FieldClientSecret}, tpl.Fields()); diff != "" {
			t.Errorf("Fields (-want +got):\n%s", diff)
		}
		rec, err := e.st.GetTemplate(e.ctx, tpl.ID)
		if err != nil {
			t.Fatal(err)
		}
		env := rec.Secrets[connection.FieldClientSecret]
		if _, plain := rec.Values[connection.FieldClientSecret]; plain || strings.Contains(string(env), sentinel) {
			t.Fatalf("template secret stored in plain")
		}
		pt, err := e.ring.Open(env, store.AssociatedData("template", tpl.ID, connection.FieldClientSecret))
		if err != nil || string(pt) != sentinel {
			t.Errorf("sealed template secret does not open with its associated data: %v", err)
		}
	})
}

// TestTemplateSpecErrors: every problem of a spec is reported at once.
func TestTemplateSpecErrors(t *testing.T) {
	testAll(t, func(t *testing.T, e *env) {
		_, err := e.m.CreateTemplate(e.ctx, template.TemplateSpec{Type: apiType,
			Values: values("host", "not a host!", "nope", "x", "region", "mars", "account", "", "apiKey", sentinel)})
		var ve *connection.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("CreateTemplate = %v, want *ValidationError", err)
		}
		var keys []string
		for _, p := range ve.Problems {
			keys = append(keys, p.Key)
		}
		want := []string{"name", "component", "account", "host", "nope", "region"}
		if diff := cmp.Diff(want, keys); diff != "" {
			t.Errorf("problem keys (-want +got):\n%s\n%v", diff, err)
		}
		if strings.Contains(err.Error(), sentinel) || strings.Contains(err.Error(), "not a host") {
			t.Errorf("error holds a value: %v", err)
		}
		list, err := e.m.ListTemplates(e.ctx, "")
		if err != nil || len(list) != 0 {
			t.Errorf("a refused template was stored: %v, %v", list, err)
		}

		tpl := e.oauthTemplate(t, "client-1")
		_, err = e.m.UpdateTemplate(e.ctx, tpl.ID, template.TemplateSpec{Name: "x", Component: "other", Type: apiType,
			Values: values("host", "h.acme.test")})
		if !errors.As(err, &ve) || len(ve.Field("component")) != 1 || len(ve.Field("type")) != 1 {
			t.Errorf("UpdateTemplate changing component and type = %v", err)
		}
		if _, err := e.m.UpdateTemplate(e.ctx, "no-such-id", template.TemplateSpec{}); !errors.Is(err, template.ErrNotFound) {
			t.Errorf("UpdateTemplate of an absent template = %v, want ErrNotFound", err)
		}
	})
}

// TestPublishErrors: publishing checks the templates its variables reference.
func TestPublishErrors(t *testing.T) {
	testAll(t, func(t *testing.T, e *env) {
		if err := e.m.Publish(e.ctx, "nope", 1); !errors.Is(err, template.ErrUnknownIntegration) {
			t.Errorf("Publish of an unregistered version = %v", err)
		}
		missing := acmeIntegration(e.id("int"), 1, "no-such-template")
		e.register(t, missing)
		if err := e.m.Publish(e.ctx, missing.ID, 1); !errors.Is(err, template.ErrNotFound) {
			t.Errorf("Publish with a missing template = %v, want ErrNotFound", err)
		}
		tpl := e.oauthTemplate(t, "client-p")
		override := acmeIntegration(e.id("int"), 1, tpl.ID)
		override.Variables[1].Defaults.Set(connection.FieldClientID, "default-client")
		e.register(t, override)
		var ve *connection.ValidationError
		if err := e.m.Publish(e.ctx, override.ID, 1); !errors.As(err, &ve) || len(ve.Field("variables[1].defaults.clientId")) != 1 {
			t.Errorf("Publish with a default overriding a template field = %v", err)
		}
		if got, _ := e.m.GetTemplate(e.ctx, tpl.ID); got.Locked() {
			t.Errorf("a refused publish pinned the template")
		}
	})
}

// TestRegister: every problem of an integration is reported at once, and
// versions are unique.
func TestRegister(t *testing.T) {
	m := template.New(nil, nil, template.Options{})
	bad := template.Integration{Version: -1, Variables: []connection.Variable{
		{Key: "a", Type: apiType, Visibility: map[string]connection.Visibility{"nope": connection.Hidden}},
		{Key: "a", Type: connection.Type{Key: "t", Fields: []connection.Field{{Key: "f", Kind: "dropdown"}}}},
		{Key: "", Type: apiType, SuccessRedirect: "https://x.test/#frag"},
	}}
	err := m.Register(bad)
	var ve *connection.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Register = %v, want *ValidationError", err)
	}
	var keys []string
	for _, p := range ve.Problems {
		keys = append(keys, p.Key)
	}
	want := []string{"id", "version", "variables[0].visibility.nope", "variables[1].key", "variables[1].type.f",
		"variables[2].key", "variables[2].successRedirect"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("problem keys (-want +got):\n%s\n%v", diff, err)
	}

	good := acmeIntegration("i", 1, "")
	if err := m.Register(good); err != nil {
		t.Fatal(err)
	}
	if err := m.Register(good); !errors.Is(err, template.ErrDuplicateIntegration) {
		t.Errorf("second Register = %v, want ErrDuplicateIntegration", err)
	}
	got, ok := m.Integration("i", 1)
	if !ok || got.Variables[0].Level != connection.InstanceLevel {
		t.Fatalf("Integration = %+v, %v", got, ok)
	}
	// The registry holds its own copy.
	good.Variables[0].Type.Fields[0].Label = "changed"
	got.Variables[0].Type.Fields[0].Label = "changed too"
	again, _ := m.Integration("i", 1)
	if again.Variables[0].Type.Fields[0].Label != "Host" {
		t.Errorf("registered integration was changed through a caller's copy")
	}
	if err := m.Deploy(t.Context(), connection.Instance{ID: "x", IntegrationID: "i", IntegrationVersion: 2}); !errors.Is(err, template.ErrUnknownIntegration) {
		t.Errorf("Deploy on an unregistered version = %v", err)
	}
}
