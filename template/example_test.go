package template_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store/keyring"
	"github.com/connkit/connkit/store/memory"
	"github.com/connkit/connkit/template"
)

// newManager returns a Manager over an in-memory store, sealing with a new
// keyring key.
func newManager() *template.Manager {
	key, err := keyring.GenerateKey(1)
	if err != nil {
		panic(err)
	}
	ring, err := keyring.New(key)
	if err != nil {
		panic(err)
	}
	return template.New(memory.New(memory.Options{}), ring, template.Options{})
}

// A template pre-fills the OAuth app's client id and secret, so customers
// never see them. Once an integration version that references it is
// published, it is locked.
func ExampleManager_CreateTemplate() {
	ctx := context.Background()
	m := newManager()

	github := connection.MustDeclare(connection.Type{
		Key: "github",
		OAuth2: &connection.OAuth2{
			AuthorizeURL: "https://github.com/login/oauth/authorize",
			TokenURL:     "https://github.com/login/oauth/access_token",
			Scopes:       []string{"repo"},
		},
	})
	var vals connection.Values
	vals.Set(connection.FieldClientID, "Iv1.0123456789abcdef")
	vals.Set(connection.FieldClientSecret, "shh-very-secret")
	tpl, err := m.CreateTemplate(ctx, template.TemplateSpec{
		Name: "Our GitHub app", Component: "github", Type: github, Values: vals,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("template fills:", tpl.Fields())
	fmt.Println("plain values:", tpl.Values)
	fmt.Println("secrets (keys only):", tpl.Secrets)

	in := template.Integration{ID: "sync-issues", Name: "Sync issues", Version: 1,
		Variables: []connection.Variable{{Key: "GitHub", Type: github, Template: tpl.ID}}}
	if err := m.Register(in); err != nil {
		panic(err)
	}
	if err := m.Publish(ctx, "sync-issues", 1); err != nil {
		panic(err)
	}
	_, err = m.UpdateTemplate(ctx, tpl.ID, template.TemplateSpec{
		Name: "Our GitHub app", Component: "github", Type: github, Values: vals,
	})
	fmt.Println("update after publish locked:", errors.Is(err, template.ErrTemplateLocked))
	// Output:
	// template fills: [clientId clientSecret]
	// plain values: map[clientId:Iv1.0123456789abcdef]
	// secrets (keys only): [clientSecret]
	// update after publish locked: true
}

// Resolving a connection gives every effective value with the layer it came
// from; secret values never print.
func ExampleManager_Resolve() {
	ctx := context.Background()
	m := newManager()

	acme := connection.MustDeclare(connection.Type{
		Key: "acme",
		Fields: []connection.Field{
			{Key: "host", Label: "Host", Required: true, Default: "api.acme.com"},
			{Key: "region", Label: "Region", Kind: connection.KindChoice, Choices: []string{"us", "eu"}, Default: "us"},
			{Key: "apiKey", Label: "API Key", Kind: connection.KindPassword, Required: true},
		},
		Auth: connection.Auth{Method: connection.AuthHeader, Field: "apiKey", Header: "X-API-Key"},
	})
	v := connection.Variable{Key: "Acme", Type: acme}
	v.Defaults.Set("region", "eu")
	if err := m.Register(template.Integration{ID: "acme-sync", Version: 1, Variables: []connection.Variable{v}}); err != nil {
		panic(err)
	}
	inst := connection.Instance{ID: "inst-1", Name: "Initech", IntegrationID: "acme-sync", IntegrationVersion: 1}
	if err := m.Deploy(ctx, inst); err != nil {
		panic(err)
	}

	ref := connection.Ref{InstanceID: "inst-1", Variable: "Acme"}
	var vals connection.Values
	vals.Set("apiKey", "k-123456")
	if err := m.SetValues(ctx, ref, template.AudienceCustomer, vals); err != nil {
		panic(err)
	}

	res, err := m.Resolve(ctx, ref)
	if err != nil {
		panic(err)
	}
	for _, f := range res.Variable.Type.Fields {
		shown := res.Values.String(f.Key)
		if f.IsSecret() {
			shown = res.Values.Secret(f.Key).String() // prints [REDACTED]
		}
		fmt.Printf("%s = %s (from %s)\n", f.Key, shown, res.Sources[f.Key])
	}
	fmt.Println("valid:", res.Validate() == nil)
	fmt.Println("every value prints redacted:", res.Values)
	// Output:
	// host = api.acme.com (from type-default)
	// region = eu (from variable-default)
	// apiKey = [REDACTED] (from customer)
	// valid: true
	// every value prints redacted: Values{apiKey, host, region}
}

// Exporting to YAML keeps an integration's variables in source control;
// secret defaults are never written.
func ExampleExportYAML() {
	typ := connection.MustDeclare(connection.Type{Key: "acme", Fields: []connection.Field{
		{Key: "host", Default: "api.acme.com"},
		{Key: "apiKey", Kind: connection.KindPassword},
	}})
	v := connection.Variable{Key: "Acme", Type: typ,
		Visibility: map[string]connection.Visibility{"host": connection.Hidden}}
	v.Defaults.Set("apiKey", "never-exported")
	b, err := template.ExportYAML(template.Integration{ID: "acme-sync", Version: 1, Variables: []connection.Variable{v}})
	if err != nil {
		panic(err)
	}
	fmt.Print(string(b))
	// Output:
	// id: acme-sync
	// version: 1
	// variables:
	//   - key: Acme
	//     level: instance
	//     visibility:
	//       host: hidden
	//     type:
	//       key: acme
	//       fields:
	//         - key: host
	//           label: host
	//           kind: string
	//           default: api.acme.com
	//         - key: apiKey
	//           label: apiKey
	//           kind: password
	//           secret: true
	//       auth:
	//         method: none
}
