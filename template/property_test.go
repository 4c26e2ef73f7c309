package template_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/template"
)

// genField is one generated field with the layers that hold a value for it.
type genField struct {
	field       connection.Field
	vis         connection.Visibility
	template    bool // the template fills it
	varDefault  bool
	instance    bool              // an instance value is attempted
	by          template.Audience // who attempts it
	typeDefault bool
}

// value returns the distinct value a layer holds for field i; secret values
// carry the sentinel so that a leak is visible.
func (g genField) value(layer string, i int) string {
	v := layer + "-" + strconv.Itoa(i)
	if g.field.IsSecret() {
		v = sentinel + "-" + v
	}
	return v
}

// TestPropertyResolution generates random types, templates, defaults and
// instance values and checks that: SetValues accepts exactly what the
// audience rules allow; resolution equals the precedence rule (template
// locks its fields, then instance > variable default > type default); the
// customer view holds exactly the Customer fields the template does not
// fill, the host view also the Embedded ones; no view ever holds a secret.
func TestPropertyResolution(t *testing.T) {
	testAll(t, func(t *testing.T, e *env) {
		rapid.Check(t, func(rt *rapid.T) {
			n := rapid.IntRange(1, 6).Draw(rt, "fields")
			gens := make([]genField, n)
			var fields []connection.Field
			for i := range gens {
				g := &gens[i]
				g.field = connection.Field{Key: "f" + strconv.Itoa(i)}
				switch rapid.IntRange(0, 2).Draw(rt, "kind") {
				case 1:
					g.field.Kind = connection.KindPassword
				case 2:
					g.field.Secret = true
				}
				g.vis = rapid.SampledFrom([]connection.Visibility{connection.Customer, connection.Embedded, connection.Hidden}).Draw(rt, "visibility")
				g.typeDefault = rapid.Bool().Draw(rt, "typeDefault")
				g.template = rapid.Bool().Draw(rt, "template")
				g.varDefault = !g.template && rapid.Bool().Draw(rt, "varDefault")
				g.instance = rapid.Bool().Draw(rt, "instance")
				g.by = rapid.SampledFrom([]template.Audience{template.AudienceCustomer, template.AudienceHost}).Draw(rt, "by")
				if g.typeDefault {
					g.field.Default = g.value("type", i)
				}
				fields = append(fields, g.field)
			}
			typ, err := connection.Declare(connection.Type{Key: "gen", Fields: fields})
			if err != nil {
				rt.Fatalf("Declare: %v", err)
			}
			v := connection.Variable{Key: "v", Type: typ, Visibility: map[string]connection.Visibility{}}
			var tplValues connection.Values
			for i, g := range gens {
				v.Visibility[g.field.Key] = g.vis
				if g.template {
					tplValues.Set(g.field.Key, g.value("template", i))
				}
				if g.varDefault {
					v.Defaults.Set(g.field.Key, g.value("variable", i))
				}
			}
			if tplValues.Len() > 0 {
				tpl, err := e.m.CreateTemplate(e.ctx, template.TemplateSpec{Name: "gen", Component: "gen", Type: typ, Values: tplValues})
				if err != nil {
					rt.Fatalf("CreateTemplate: %v", err)
				}
				v.Template = tpl.ID
			}
			in := template.Integration{ID: e.id("int"), Version: 1, Variables: []connection.Variable{v}}
			if err := e.m.Register(in); err != nil {
				rt.Fatalf("Register: %v", err)
			}
			inst := connection.Instance{ID: e.id("inst"), IntegrationID: in.ID, IntegrationVersion: 1}
			if err := e.m.Deploy(e.ctx, inst); err != nil {
				rt.Fatalf("Deploy: %v", err)
			}
			ref := connection.Ref{InstanceID: inst.ID, Variable: "v"}

			// Instance values, one request per field so that each is judged
			// on its own.
			accepted := make([]bool, n)
			for i, g := range gens {
				if !g.instance {
					continue
				}
				want := ""
				switch {
				case g.template:
					want = template.ReasonFromTemplate
				case g.vis == connection.Hidden:
					want = template.ReasonHidden
				case g.vis == connection.Embedded && g.by == template.AudienceCustomer:
					want = template.ReasonEmbeddedOnly
				}
				err := e.m.SetValues(e.ctx, ref, g.by, values(g.field.Key, g.value("instance", i)))
				var ve *connection.ValidationError
				switch {
				case want == "" && err != nil:
					rt.Fatalf("SetValues(%s by %s) = %v, want accepted", g.field.Key, g.by, err)
				case want != "" && (!errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Reason != want):
					rt.Fatalf("SetValues(%s by %s) = %v, want refused: %s", g.field.Key, g.by, err, want)
				}
				accepted[i] = want == ""
			}

			// The precedence rule, written out independently.
			wantValues := map[string]string{}
			wantSources := map[string]connection.Source{}
			for i, g := range gens {
				k := g.field.Key
				switch {
				case g.template:
					wantValues[k], wantSources[k] = g.value("template", i), connection.SourceTemplate
				case accepted[i]:
					wantValues[k], wantSources[k] = g.value("instance", i), connection.Source(g.by)
				case g.varDefault:
					wantValues[k], wantSources[k] = g.value("variable", i), connection.SourceVariableDefault
				case g.typeDefault:
					wantValues[k], wantSources[k] = g.value("type", i), connection.SourceTypeDefault
				}
			}
			res, err := e.m.Resolve(e.ctx, ref)
			if err != nil {
				rt.Fatalf("Resolve: %v", err)
			}
			if diff := cmp.Diff(wantValues, res.Values.Map()); diff != "" {
				rt.Fatalf("values (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantSources, res.Sources); diff != "" {
				rt.Fatalf("sources (-want +got):\n%s", diff)
			}

			for _, audience := range []template.Audience{template.AudienceCustomer, template.AudienceHost} {
				view := e.customerOrHostView(rt, audience, ref)
				js, err := json.Marshal(view)
				if err != nil {
					rt.Fatal(err)
				}
				if strings.Contains(string(js), sentinel) || strings.Contains(fmt.Sprintf("%+v", view), sentinel) {
					rt.Fatalf("%s view holds a secret: %s", audience, js)
				}
				var got, want []string
				for _, f := range view.Fields {
					got = append(got, f.Key)
				}
				for _, g := range gens {
					if !g.template && (g.vis == connection.Customer || (audience == template.AudienceHost && g.vis == connection.Embedded)) {
						want = append(want, g.field.Key)
					}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					rt.Fatalf("%s view fields (-want +got):\n%s", audience, diff)
				}
			}
		})
	})
}

func (e *env) customerOrHostView(rt *rapid.T, a template.Audience, ref connection.Ref) *template.View {
	view, err := e.m.CustomerView(e.ctx, ref)
	if a == template.AudienceHost {
		view, err = e.m.HostView(e.ctx, ref)
	}
	if err != nil {
		rt.Fatalf("%s view: %v", a, err)
	}
	return view
}
