package template_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/template"
)

// TestViewsNeverLeak fills every secret (template, variable default, customer
// and host values) with the sentinel and checks the JSON and fmt forms of
// every view of every audience: no secret value, no template field, no
// hidden field outside the builder view, and only Customer fields in the
// customer view.
func TestViewsNeverLeak(t *testing.T) {
	testAll(t, func(t *testing.T, e *env) {
		tpl := e.oauthTemplate(t, "client-from-template")
		in := acmeIntegration(e.id("int"), 1, tpl.ID)
		in.Variables[0].Defaults.Set("apiKey", sentinel)
		in.Variables[0].Defaults.Set("signing", sentinel)
		e.register(t, in)
		inst := e.deploy(t, in.ID, 1)
		api := connection.Ref{InstanceID: inst.ID, Variable: "Acme API"}
		oauth := connection.Ref{InstanceID: inst.ID, Variable: "Acme OAuth", User: "u1"}
		e.set(t, api, template.AudienceCustomer, "apiKey", sentinel, "account", "A-1")
		e.set(t, api, template.AudienceHost, "signing", sentinel, "tenant", "t-1")
		e.set(t, oauth, template.AudienceHost, connection.FieldScopes, "read")

		templateFields := []string{connection.FieldClientID, connection.FieldClientSecret}
		type viewCase struct {
			name string
			view func() (*template.View, error)
			v    connection.Variable
		}
		var cases []viewCase
		for _, v := range in.Variables {
			ref := api
			if v.Key == oauth.Variable {
				ref = oauth
			}
			cases = append(cases,
				viewCase{"builder/" + v.Key, func() (*template.View, error) { return e.m.BuilderView(e.ctx, v) }, v},
				viewCase{"customer/" + v.Key, func() (*template.View, error) { return e.m.CustomerView(e.ctx, ref) }, v},
				viewCase{"host/" + v.Key, func() (*template.View, error) { return e.m.HostView(e.ctx, ref) }, v},
			)
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				view, err := tc.view()
				if err != nil {
					t.Fatalf("view: %v", err)
				}
				js, err := json.Marshal(view)
				if err != nil {
					t.Fatal(err)
				}
				for _, form := range []string{string(js), fmt.Sprintf("%+v", view), fmt.Sprintf("%#v", *view)} {
					if strings.Contains(form, sentinel) {
						t.Fatalf("view holds a secret value: %s", form)
					}
					if strings.Contains(form, "client-from-template") {
						t.Fatalf("view holds a template value: %s", form)
					}
				}
				// Decode the JSON, as a host's front end would see it.
				var decoded struct {
					Fields []struct {
						Key    string `json:"key"`
						Secret bool   `json:"secret"`
						Value  string `json:"value"`
						Set    bool   `json:"set"`
					} `json:"fields"`
				}
				if err := json.Unmarshal(js, &decoded); err != nil {
					t.Fatal(err)
				}
				if len(decoded.Fields) == 0 {
					t.Fatal("view has no fields")
				}
				for _, f := range decoded.Fields {
					vis := tc.v.VisibilityOf(f.Key)
					switch {
					case slices.Contains(templateFields, f.Key) && tc.v.Template != "":
						t.Errorf("view shows template field %s", f.Key)
					case view.Audience == template.AudienceCustomer && vis != connection.Customer:
						t.Errorf("customer view shows %s field %s", vis, f.Key)
					case view.Audience == template.AudienceHost && vis == connection.Hidden:
						t.Errorf("host view shows hidden field %s", f.Key)
					}
					if f.Secret && f.Value != "" {
						t.Errorf("secret field %s has a value in the view", f.Key)
					}
				}
				// Every secret that is set says so.
				for _, f := range view.Fields {
					if f.Secret && (f.Key == "apiKey" || f.Key == "signing") && !f.Set {
						t.Errorf("secret %s is set but the view says it is not", f.Key)
					}
				}
			})
		}
	})
}

// TestCustomerViewContents checks the customer view field by field, including
// a relabeled field.
func TestCustomerViewContents(t *testing.T) {
	testAll(t, func(t *testing.T, e *env) {
		in := acmeIntegration(e.id("int"), 1, "")
		e.register(t, in)
		inst := e.deploy(t, in.ID, 1)
		api := connection.Ref{InstanceID: inst.ID, Variable: "Acme API"}
		e.set(t, api, template.AudienceCustomer, "apiKey", sentinel, "account", "A-1")
		e.set(t, api, template.AudienceHost, "tenant", "t-1")

		view, err := e.m.CustomerView(e.ctx, api)
		if err != nil {
			t.Fatal(err)
		}
		rec := e.record(t, api)
		want := &template.View{
			Audience: template.AudienceCustomer, Ref: &api, Instance: &inst,
			Variable: "Acme API", Type: "acme-api", TypeLabel: "Acme API", Description: "Acme's REST API with an API key.",
			Level: connection.InstanceLevel, ConnectionID: rec.ID, Health: rec.Health,
			Fields: []template.FieldView{
				{Key: "host", Label: "Host", Kind: connection.KindString, Required: true, Placeholder: "api.acme.com",
					Example: "eu.api.acme.com", Comments: "Your Acme API host.", Value: "api.acme.test", Set: true, Source: connection.SourceTypeDefault},
				{Key: "region", Label: "Region", Kind: connection.KindChoice, Choices: []string{"us", "eu"},
					Value: "eu", Set: true, Source: connection.SourceVariableDefault},
				{Key: "account", Label: "Account ID", Kind: connection.KindString, Required: true, Value: "A-1", Set: true, Source: connection.SourceCustomer},
				{Key: "apiKey", Label: "API Key", Kind: connection.KindPassword, Required: true, Secret: true, Set: true, Source: connection.SourceCustomer},
			},
		}
		if diff := cmp.Diff(want, view); diff != "" {
			t.Errorf("customer view (-want +got):\n%s", diff)
		}

		oauth := connection.Ref{InstanceID: inst.ID, Variable: "Acme OAuth", User: "u1"}
		view, err = e.m.CustomerView(e.ctx, oauth)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, f := range view.Fields {
			keys = append(keys, f.Key+"="+f.Label)
		}
		wantKeys := []string{"clientId=App ID", "clientSecret=Client Secret", "authorizeUrl=Authorize URL",
			"tokenUrl=Token URL", "revokeUrl=Revoke URL"}
		if diff := cmp.Diff(wantKeys, keys); diff != "" {
			t.Errorf("OAuth customer view fields (-want +got):\n%s", diff)
		}
		if !view.OAuth2 || view.Connected || view.Level != connection.UserLevel {
			t.Errorf("OAuth view: OAuth2=%v Connected=%v Level=%q", view.OAuth2, view.Connected, view.Level)
		}

		host, err := e.m.HostView(e.ctx, api)
		if err != nil {
			t.Fatal(err)
		}
		tenant, ok := host.Field("tenant")
		if !ok || tenant.Visibility != connection.Embedded || tenant.Value != "t-1" || tenant.Source != connection.SourceHost {
			t.Errorf("host view tenant = %+v, %v", tenant, ok)
		}
		if _, ok := host.Field("internal"); ok {
			t.Errorf("host view shows the hidden field")
		}
	})
}

// TestBuilderView: every field but the template's, with visibility and
// defaults; secret defaults only say they are set.
func TestBuilderView(t *testing.T) {
	testAll(t, func(t *testing.T, e *env) {
		tpl := e.oauthTemplate(t, "client-x")
		in := acmeIntegration(e.id("int"), 1, tpl.ID)
		api := in.Variables[0]
		api.Defaults.Set("apiKey", sentinel)
		view, err := e.m.BuilderView(e.ctx, api)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range view.Fields {
			got = append(got, fmt.Sprintf("%s %s value=%q set=%v %s", f.Key, f.Visibility, f.Value, f.Set, f.Source))
		}
		want := []string{
			`host customer value="api.acme.test" set=true type-default`,
			`region customer value="eu" set=true variable-default`,
			`account customer value="" set=false `,
			`apiKey customer value="" set=true variable-default`,
			`tenant embedded value="" set=false `,
			`signing embedded value="" set=false `,
			`internal hidden value="false" set=true type-default`,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("builder view of the API variable (-want +got):\n%s", diff)
		}

		view, err = e.m.BuilderView(e.ctx, in.Variables[1])
		if err != nil {
			t.Fatal(err)
		}
		got = nil
		for _, f := range view.Fields {
			got = append(got, f.Key)
		}
		want = []string{connection.FieldAuthorizeURL, connection.FieldTokenURL, connection.FieldRevokeURL, connection.FieldScopes}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("builder view of the OAuth variable leaves out the template's fields (-want +got):\n%s", diff)
		}
		if view.Template != tpl.ID {
			t.Errorf("builder view template = %q, want %q", view.Template, tpl.ID)
		}

		bad := api.Clone()
		bad.Visibility = map[string]connection.Visibility{"nope": connection.Hidden}
		if _, err := e.m.BuilderView(e.ctx, bad); err == nil {
			t.Errorf("BuilderView of an invalid variable succeeded")
		}
	})
}
