package template_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/template"
)

// TestTamperedSecrets: a sealed value that was corrupted, or copied to
// another connection or field, does not open; Resolve fails with an error
// naming the connection and field, wrapping store.ErrSealed, without the
// plaintext.
func TestTamperedSecrets(t *testing.T) {
	testAll(t, func(t *testing.T, e *env) {
		fx := e.fixture(t)
		e.set(t, fx.api, template.AudienceCustomer, "apiKey", sentinel)
		e.set(t, fx.api, template.AudienceHost, "signing", sentinel)
		for _, tc := range []struct {
			name   string
			tamper func(rec *store.Connection)
		}{
			{"corrupted", func(rec *store.Connection) { rec.Secrets["apiKey"][len(rec.Secrets["apiKey"])-1] ^= 1 }},
			{"moved to another field", func(rec *store.Connection) { rec.Secrets["apiKey"] = rec.Secrets["signing"] }},
			{"truncated", func(rec *store.Connection) { rec.Secrets["apiKey"] = rec.Secrets["apiKey"][:3] }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rec := e.record(t, fx.api)
				saved := bytes.Clone(rec.Secrets["apiKey"])
				tc.tamper(rec)
				if _, err := e.st.PutConnection(e.ctx, rec); err != nil {
					t.Fatal(err)
				}
				_, err := e.m.Resolve(e.ctx, fx.api)
				if !errors.Is(err, store.ErrSealed) {
					t.Fatalf("Resolve = %v, want ErrSealed", err)
				}
				if !strings.Contains(err.Error(), `"apiKey"`) || !strings.Contains(err.Error(), rec.ID) || strings.Contains(err.Error(), sentinel) {
					t.Errorf("error %q should name the connection and field and hold no secret", err)
				}
				rec = e.record(t, fx.api)
				rec.Secrets["apiKey"] = saved
				if _, err := e.st.PutConnection(e.ctx, rec); err != nil {
					t.Fatal(err)
				}
				if _, err := e.m.Resolve(e.ctx, fx.api); err != nil {
					t.Fatalf("Resolve after repair: %v", err)
				}
			})
		}
	})
}

// TestNoSealer: without a sealer, secret values are refused with ErrNoSealer
// and plain ones work.
func TestNoSealer(t *testing.T) {
	testAll(t, func(t *testing.T, e *env) {
		e.m = template.New(e.st, nil, template.Options{})
		_, err := e.m.CreateTemplate(e.ctx, template.TemplateSpec{Name: "n", Component: "c", Type: oauthType,
			Values: values(connection.FieldClientSecret, sentinel)})
		if !errors.Is(err, template.ErrNoSealer) {
			t.Errorf("CreateTemplate with a secret = %v, want ErrNoSealer", err)
		}
		in := acmeIntegration(e.id("int"), 1, "")
		e.register(t, in)
		inst := e.deploy(t, in.ID, 1)
		ref := connection.Ref{InstanceID: inst.ID, Variable: "Acme API"}
		if err := e.m.SetValues(e.ctx, ref, template.AudienceCustomer, values("apiKey", sentinel)); !errors.Is(err, template.ErrNoSealer) {
			t.Errorf("SetValues with a secret = %v, want ErrNoSealer", err)
		}
		e.set(t, ref, template.AudienceCustomer, "account", "A")
		if got := e.resolve(t, ref).Values.String("account"); got != "A" {
			t.Errorf("account = %q", got)
		}
	})
}
