package template_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/template"
)

// layers says which layers hold a value for the field under test.
type layers struct {
	typeDefault, template, variableDefault, instance bool
}

func (l layers) String() string {
	var parts []string
	for _, p := range []struct {
		on   bool
		name string
	}{{l.typeDefault, "type"}, {l.template, "template"}, {l.variableDefault, "variable"}, {l.instance, "instance"}} {
		if p.on {
			parts = append(parts, p.name)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "+")
}

// TestPrecedenceTable covers every combination of the four layers being
// present or absent, for a plain and a secret field, with the instance value
// set by the customer and by the host. The template locks the fields it
// fills: a variable default for one is an error naming the field, and an
// instance value stored for one is ignored.
func TestPrecedenceTable(t *testing.T) {
	const (
		fromType     = "from-type"
		fromTemplate = "from-template"
		fromVariable = "from-variable"
		fromInstance = "from-instance"
	)
	table := []struct {
		layers
		want    string // "" means no value
		source  connection.Source
		wantErr bool
	}{
		{layers{false, false, false, false}, "", connection.SourceNone, false},
		{layers{true, false, false, false}, fromType, connection.SourceTypeDefault, false},
		{layers{false, true, false, false}, fromTemplate, connection.SourceTemplate, false},
		{layers{true, true, false, false}, fromTemplate, connection.SourceTemplate, false},
		{layers{false, false, true, false}, fromVariable, connection.SourceVariableDefault, false},
		{layers{true, false, true, false}, fromVariable, connection.SourceVariableDefault, false},
		{layers{false, true, true, false}, "", "", true},
		{layers{true, true, true, false}, "", "", true},
		{layers{false, false, false, true}, fromInstance, "instance", false},
		{layers{true, false, false, true}, fromInstance, "instance", false},
		{layers{false, true, false, true}, fromTemplate, connection.SourceTemplate, false},
		{layers{true, true, false, true}, fromTemplate, connection.SourceTemplate, false},
		{layers{false, false, true, true}, fromInstance, "instance", false},
		{layers{true, false, true, true}, fromInstance, "instance", false},
		{layers{false, true, true, true}, "", "", true},
		{layers{true, true, true, true}, "", "", true},
	}
	testAll(t, func(t *testing.T, e *env) {
		for _, secret := range []bool{false, true} {
			for _, by := range []connection.Source{connection.SourceCustomer, connection.SourceHost} {
				for _, row := range table {
					name := fmt.Sprintf("secret=%v/by=%s/%s", secret, by, row.layers)
					t.Run(name, func(t *testing.T) {
						field := connection.Field{Key: "f", Label: "F", Secret: secret}
						other := connection.Field{Key: "g", Label: "G", Default: "g-default"}
						if row.typeDefault {
							field.Default = fromType
						}
						typ := connection.MustDeclare(connection.Type{Key: "t", Fields: []connection.Field{field, other}})
						v := connection.Variable{Key: "v", Type: typ}
						if row.template {
							tpl := e.createTemplate(t, template.TemplateSpec{Name: "tpl", Component: "c", Type: typ,
								Values: values("f", fromTemplate)})
							v.Template = tpl.ID
						}
						if row.variableDefault {
							v.Defaults.Set("f", fromVariable)
						}
						in := template.Integration{ID: e.id("int"), Version: 1, Variables: []connection.Variable{v}}
						e.register(t, in)
						inst := e.deploy(t, in.ID, 1)
						ref := connection.Ref{InstanceID: inst.ID, Variable: "v"}
						connID := ""
						if row.instance {
							// Written straight through the store, as a record
							// from an earlier version or another writer would
							// be, so that Resolve's rule is tested on its own.
							connID = e.putRecord(t, ref, map[string]string{"f": fromInstance, "g": "g-instance"}, secret, by)
						}

						res, err := e.m.Resolve(e.ctx, ref)
						if row.wantErr {
							var ve *connection.ValidationError
							if !errors.As(err, &ve) || len(ve.Field("defaults.f")) != 1 {
								t.Fatalf("Resolve error = %v, want a *ValidationError naming defaults.f", err)
							}
							err := e.m.Publish(e.ctx, in.ID, 1)
							if !errors.As(err, &ve) || len(ve.Field("variables[0].defaults.f")) != 1 {
								t.Fatalf("Publish error = %v, want a *ValidationError naming variables[0].defaults.f", err)
							}
							return
						}
						if err != nil {
							t.Fatalf("Resolve: %v", err)
						}
						wantValues := map[string]string{"g": "g-default"}
						wantSources := map[string]connection.Source{"g": connection.SourceTypeDefault}
						if row.instance {
							wantValues["g"], wantSources["g"] = "g-instance", by
						}
						if row.want != "" {
							wantValues["f"] = row.want
							wantSources["f"] = row.source
							if row.source == "instance" {
								wantSources["f"] = by
							}
						}
						if diff := cmp.Diff(wantValues, res.Values.Map()); diff != "" {
							t.Errorf("values (-want +got):\n%s", diff)
						}
						if diff := cmp.Diff(wantSources, res.Sources); diff != "" {
							t.Errorf("sources (-want +got):\n%s", diff)
						}
						if res.ConnectionID != connID || (connID != "") != (res.Revision == 1) {
							t.Errorf("ConnectionID, Revision = %q, %d; want %q and revision 1 iff a record exists", res.ConnectionID, res.Revision, connID)
						}
						if got := res.Values.Secret("f"); secret && row.want != "" && got.String() != connection.Redacted {
							t.Errorf("secret value prints as %q", got.String())
						}
					})
				}
			}
		}
	})
}

// putRecord writes a connection record through the store interface, secret
// values sealed as connkit seals them, and returns its id.
func (e *env) putRecord(t *testing.T, ref connection.Ref, vals map[string]string, secretF bool, by connection.Source) string {
	t.Helper()
	rec := &store.Connection{ID: store.NewID(), Ref: ref, Values: map[string]string{}, Secrets: map[string][]byte{},
		Sources: map[string]connection.Source{}}
	for k, v := range vals {
		rec.Sources[k] = by
		if k == "f" && secretF {
			env, err := e.ring.Seal([]byte(v), store.AssociatedData("connection", rec.ID, k))
			if err != nil {
				t.Fatal(err)
			}
			rec.Secrets[k] = env
			continue
		}
		rec.Values[k] = v
	}
	if _, err := e.st.PutConnection(e.ctx, rec); err != nil {
		t.Fatalf("PutConnection: %v", err)
	}
	return rec.ID
}

// TestResolveIgnoresHiddenInstanceValues: a stored instance value of a Hidden
// field never wins; the default below it does.
func TestResolveIgnoresHiddenInstanceValues(t *testing.T) {
	testAll(t, func(t *testing.T, e *env) {
		typ := connection.MustDeclare(connection.Type{Key: "t", Fields: []connection.Field{
			{Key: "f", Default: "type-default"}, {Key: "g"}}})
		in := template.Integration{ID: e.id("int"), Version: 1, Variables: []connection.Variable{
			{Key: "v", Type: typ, Visibility: map[string]connection.Visibility{"f": connection.Hidden, "g": connection.Embedded}}}}
		e.register(t, in)
		inst := e.deploy(t, in.ID, 1)
		ref := connection.Ref{InstanceID: inst.ID, Variable: "v"}
		e.putRecord(t, ref, map[string]string{"f": "instance", "g": "instance"}, false, connection.SourceCustomer)
		res := e.resolve(t, ref)
		want := map[string]string{"f": "type-default", "g": "instance"}
		if diff := cmp.Diff(want, res.Values.Map()); diff != "" {
			t.Errorf("values (-want +got):\n%s", diff)
		}
	})
}

// TestResolveErrors checks the errors of Resolve, each usable with errors.Is.
func TestResolveErrors(t *testing.T) {
	testAll(t, func(t *testing.T, e *env) {
		fx := e.fixture(t)
		// An instance whose integration version is not registered, written
		// straight to the store.
		orphan := connection.Instance{ID: e.id("inst"), IntegrationID: "nobody", IntegrationVersion: 9}
		if err := e.st.PutInstance(e.ctx, orphan); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			ref  connection.Ref
			want []error
		}{
			{"no instance id", connection.Ref{Variable: "Acme API"}, []error{connection.ErrBadRef}},
			{"unknown instance", connection.Ref{InstanceID: "nope", Variable: "Acme API"}, []error{template.ErrNotFound, store.ErrNotFound}},
			{"unregistered version", connection.Ref{InstanceID: orphan.ID, Variable: "Acme API"}, []error{template.ErrUnknownIntegration}},
			{"unknown variable", connection.Ref{InstanceID: fx.inst.ID, Variable: "Nope"}, []error{template.ErrUnknownVariable, store.ErrNotFound}},
			{"user on instance-level", connection.Ref{InstanceID: fx.inst.ID, Variable: "Acme API", User: "u1"}, []error{template.ErrLevel, connection.ErrBadRef}},
			{"no user on user-level", connection.Ref{InstanceID: fx.inst.ID, Variable: "Acme OAuth"}, []error{template.ErrLevel, connection.ErrBadRef}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.m.Resolve(e.ctx, tc.ref)
				for _, want := range tc.want {
					if !errors.Is(err, want) {
						t.Errorf("Resolve error = %v, want errors.Is %v", err, want)
					}
				}
			})
		}
		t.Run("missing template", func(t *testing.T) {
			in := acmeIntegration(e.id("int"), 1, "no-such-template")
			e.register(t, in)
			inst := e.deploy(t, in.ID, 1)
			_, err := e.m.Resolve(e.ctx, connection.Ref{InstanceID: inst.ID, Variable: "Acme OAuth", User: "u"})
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Resolve error = %v, want ErrNotFound", err)
			}
		})
		t.Run("template of another type", func(t *testing.T) {
			tpl := e.createTemplate(t, template.TemplateSpec{Name: "api", Component: "acme", Type: apiType, Values: values("host", "x.acme.test")})
			in := acmeIntegration(e.id("int"), 1, tpl.ID)
			e.register(t, in)
			inst := e.deploy(t, in.ID, 1)
			_, err := e.m.Resolve(e.ctx, connection.Ref{InstanceID: inst.ID, Variable: "Acme OAuth", User: "u"})
			var ve *connection.ValidationError
			if !errors.As(err, &ve) || len(ve.Field("template")) != 1 {
				t.Errorf("Resolve error = %v, want a *ValidationError naming the template", err)
			}
		})
	})
}

// TestResolveValidate: a fresh connection misses its required values, each
// reported by key and label; once set, it validates.
func TestResolveValidate(t *testing.T) {
	testAll(t, func(t *testing.T, e *env) {
		fx := e.fixture(t)
		err := e.resolve(t, fx.api).Validate()
		var ve *connection.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("Validate = %v, want *ValidationError", err)
		}
		var got []connection.FieldError
		got = append(got, ve.Problems...)
		want := []connection.FieldError{
			{Key: "account", Label: "Account ID", Reason: "is required"},
			{Key: "apiKey", Label: "API Key", Reason: "is required"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("problems (-want +got):\n%s", diff)
		}
		e.set(t, fx.api, template.AudienceCustomer, "account", "A-1", "apiKey", sentinel)
		res := e.resolve(t, fx.api)
		if err := res.Validate(); err != nil {
			t.Errorf("Validate after setting the required values: %v", err)
		}
		if res.Values.String("apiKey") != sentinel || res.Sources["apiKey"] != connection.SourceCustomer {
			t.Errorf("apiKey not resolved from the customer's sealed value")
		}
		// The OAuth connection resolves its template's secret, opened.
		res = e.resolve(t, fx.oauth)
		if res.Values.String(connection.FieldClientSecret) != sentinel || res.Template != fx.tpl.ID {
			t.Errorf("client secret from the template not resolved")
		}
		if got := res.Variable.Type.Fields[0].Label; got != "App ID" {
			t.Errorf("resolved variable's type has label %q, want the relabeled App ID", got)
		}
	})
}

// TestUserLevelValues: a user-level variable holds one connection per user,
// an instance-level one a single connection per instance.
func TestUserLevelValues(t *testing.T) {
	testAll(t, func(t *testing.T, e *env) {
		fx := e.fixture(t)
		u1, u2 := fx.oauth, fx.oauth
		u2.User = "u2"
		e.set(t, u1, template.AudienceCustomer, connection.FieldAuthorizeURL, "https://u1.acme.test/authorize")
		e.set(t, u2, template.AudienceCustomer, connection.FieldAuthorizeURL, "https://u2.acme.test/authorize")
		r1, r2 := e.resolve(t, u1), e.resolve(t, u2)
		if r1.Values.String(connection.FieldAuthorizeURL) != "https://u1.acme.test/authorize" ||
			r2.Values.String(connection.FieldAuthorizeURL) != "https://u2.acme.test/authorize" {
			t.Errorf("per-user values mixed up: %q, %q", r1.Values.String(connection.FieldAuthorizeURL), r2.Values.String(connection.FieldAuthorizeURL))
		}
		if r1.ConnectionID == "" || r1.ConnectionID == r2.ConnectionID {
			t.Errorf("users share connection id %q", r1.ConnectionID)
		}
		u3 := fx.oauth
		u3.User = "u3"
		if r3 := e.resolve(t, u3); r3.ConnectionID != "" || r3.Sources[connection.FieldAuthorizeURL] != connection.SourceTypeDefault {
			t.Errorf("a user without values got connection %q / source %q", r3.ConnectionID, r3.Sources[connection.FieldAuthorizeURL])
		}
		// Instance level: one connection, whoever sets it.
		e.set(t, fx.api, template.AudienceCustomer, "account", "A")
		e.set(t, fx.api, template.AudienceHost, "tenant", "T")
		conns, err := e.st.ListConnections(e.ctx, fx.inst.ID)
		if err != nil {
			t.Fatal(err)
		}
		var apiConns int
		for _, c := range conns {
			if c.Ref.Variable == "Acme API" {
				apiConns++
			}
		}
		if apiConns != 1 {
			t.Errorf("instance-level variable has %d connections, want 1", apiConns)
		}
	})
}
