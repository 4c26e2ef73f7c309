package template_test

import (
	"maps"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/template"
)

// sentinel is the plaintext of every secret value the tests set. Nothing a
// test encodes, prints or exports may contain it.
const sentinel = "s3ntinel-SECRET-c0ffee"

// apiType is an API-key connection type with a field of every kind that
// matters to the audience rules.
var apiType = connection.MustDeclare(connection.Type{
	Key:         "acme-api",
	Label:       "Acme API",
	Description: "Acme's REST API with an API key.",
	Fields: []connection.Field{
		{Key: "host", Label: "Host", Required: true, Rule: "hostname", Default: "api.acme.test",
			Placeholder: "api.acme.com", Example: "eu.api.acme.com", Comments: "Your Acme API host."},
		{Key: "region", Label: "Region", Kind: connection.KindChoice, Choices: []string{"us", "eu"}, Default: "us"},
		{Key: "account", Label: "Account ID", Required: true},
		{Key: "apiKey", Label: "API Key", Kind: connection.KindPassword, Required: true},
		{Key: "tenant", Label: "Tenant"},
		{Key: "signing", Label: "Signing Secret", Secret: true},
		{Key: "internal", Label: "Internal Flag", Kind: connection.KindBoolean, Default: "false"},
	},
	Auth: connection.Auth{Method: connection.AuthHeader, Field: "apiKey", Header: "X-API-Key"},
})

// apiVisibility: tenant and signing are Embedded, internal is Hidden, the
// rest Customer.
var apiVisibility = map[string]connection.Visibility{
	"tenant":   connection.Embedded,
	"signing":  connection.Embedded,
	"internal": connection.Hidden,
	"host":     connection.Customer,
}

// oauthType is an OAuth 2.0 type with a relabeled client id.
var oauthType = func() connection.Type {
	t := connection.MustDeclare(connection.Type{
		Key:   "acme-oauth",
		Label: "Acme (OAuth 2.0)",
		OAuth2: &connection.OAuth2{
			AuthorizeURL:         "https://auth.acme.test/authorize",
			TokenURL:             "https://auth.acme.test/token",
			RevokeURL:            "https://auth.acme.test/revoke",
			Scopes:               []string{"read", "write"},
			AuthorizeParams:      map[string]string{"prompt": "consent", "access_type": "offline"},
			DefaultTokenLifetime: 30 * time.Minute,
		},
	})
	t, err := t.Relabel(map[string]string{connection.FieldClientID: "App ID"})
	if err != nil {
		panic(err)
	}
	return t
}()

// acmeIntegration returns a two-variable integration version; templateID
// ("" for none) is referenced by the OAuth variable.
func acmeIntegration(id string, version int, templateID string) template.Integration {
	api := connection.Variable{Key: "Acme API", Type: apiType.Clone(), Visibility: maps.Clone(apiVisibility)}
	api.Defaults.Set("region", "eu")
	oauth := connection.Variable{
		Key: "Acme OAuth", Type: oauthType.Clone(), Template: templateID, Level: connection.UserLevel,
		// The endpoint fields are Hidden unless listed: these tests
		// exercise the audience rules on them, so they list them as
		// Customer (which the oauth package then allows only with the
		// customer's own client secret).
		Visibility: map[string]connection.Visibility{connection.FieldScopes: connection.Embedded,
			connection.FieldAuthorizeURL: connection.Customer, connection.FieldTokenURL: connection.Customer,
			connection.FieldRevokeURL: connection.Customer},
		SuccessRedirect: "https://host.test/connected?step=2",
		FailureRedirect: "https://host.test/failed",
	}
	return template.Integration{ID: id, Name: "Acme Sync", Version: version,
		Variables: []connection.Variable{api, oauth}}
}
