package template_test

import (
	"testing"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/template"
)

// BenchmarkResolve resolves a connection with a template (one sealed secret)
// and stored instance values (one sealed secret) on each backend.
func BenchmarkResolve(b *testing.B) {
	for _, bk := range backends {
		b.Run(bk.name, func(b *testing.B) {
			e := newEnv(b, bk.open(b))
			fx := e.benchFixture(b)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.m.Resolve(e.ctx, fx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSetValues writes one plain and one secret value per iteration.
func BenchmarkSetValues(b *testing.B) {
	for _, bk := range backends {
		b.Run(bk.name, func(b *testing.B) {
			e := newEnv(b, bk.open(b))
			ref := e.benchFixture(b)
			vals := values("account", "A-1", "apiKey", sentinel)
			b.ReportAllocs()
			for b.Loop() {
				if err := e.m.SetValues(e.ctx, ref, template.AudienceCustomer, vals); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func (e *env) benchFixture(b *testing.B) connection.Ref {
	b.Helper()
	var vals connection.Values
	vals.Set("host", "h.acme.test")
	vals.Set("signing", sentinel)
	tpl, err := e.m.CreateTemplate(e.ctx, template.TemplateSpec{Name: "b", Component: "acme", Type: apiType, Values: vals})
	if err != nil {
		b.Fatal(err)
	}
	in := acmeIntegration(e.id("int"), 1, "")
	in.Variables[0].Template = tpl.ID
	in.Variables[0].Visibility = nil
	if err := e.m.Register(in); err != nil {
		b.Fatal(err)
	}
	inst := connection.Instance{ID: e.id("inst"), IntegrationID: in.ID, IntegrationVersion: 1}
	if err := e.m.Deploy(e.ctx, inst); err != nil {
		b.Fatal(err)
	}
	ref := connection.Ref{InstanceID: inst.ID, Variable: "Acme API"}
	if err := e.m.SetValues(e.ctx, ref, template.AudienceCustomer, values("account", "A", "apiKey", sentinel)); err != nil {
		b.Fatal(err)
	}
	return ref
}
