package connection_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/connection"
)

// TestEndpointFieldsHiddenByDefault: the OAuth 2.0 endpoint fields of a
// variable that does not list them are Hidden, so that no customer can point
// the token or revocation endpoint (which receive the client secret, codes
// and refresh tokens) at a server of their own. The client id and secret
// stay Customer (a customer may bring their own OAuth client), a listed
// visibility wins, and a field of the same name in a type without OAuth 2.0
// settings is an ordinary Customer field.
func TestEndpointFieldsHiddenByDefault(t *testing.T) {
	typ := connection.MustDeclare(connection.Type{Key: "acme", OAuth2: &connection.OAuth2{
		AuthorizeURL: "https://auth.acme.example/authorize",
		TokenURL:     "https://auth.acme.example/token",
		RevokeURL:    "https://auth.acme.example/revoke",
	}})
	v := connection.Variable{Key: "Acme", Type: typ}
	got := map[string]connection.Visibility{}
	for _, f := range typ.Fields {
		got[f.Key] = v.VisibilityOf(f.Key)
	}
	want := map[string]connection.Visibility{
		connection.FieldClientID:     connection.Customer,
		connection.FieldClientSecret: connection.Customer,
		connection.FieldAuthorizeURL: connection.Hidden,
		connection.FieldTokenURL:     connection.Hidden,
		connection.FieldRevokeURL:    connection.Hidden,
		connection.FieldScopes:       connection.Customer,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("default visibilities (-want +got):\n%s", diff)
	}

	v.Visibility = map[string]connection.Visibility{connection.FieldTokenURL: connection.Customer, connection.FieldRevokeURL: connection.Embedded}
	if got := v.VisibilityOf(connection.FieldTokenURL); got != connection.Customer {
		t.Errorf("listed Customer token URL: VisibilityOf = %q", got)
	}
	if got := v.VisibilityOf(connection.FieldRevokeURL); got != connection.Embedded {
		t.Errorf("listed Embedded revoke URL: VisibilityOf = %q", got)
	}
	if got := v.VisibilityOf(connection.FieldAuthorizeURL); got != connection.Hidden {
		t.Errorf("unlisted authorize URL next to listed fields: VisibilityOf = %q", got)
	}

	plain := connection.Variable{Key: "Plain", Type: connection.MustDeclare(connection.Type{Key: "plain",
		Fields: []connection.Field{{Key: connection.FieldTokenURL, Kind: connection.KindURL}}})}
	if got := plain.VisibilityOf(connection.FieldTokenURL); got != connection.Customer {
		t.Errorf("tokenUrl of a type without OAuth 2.0: VisibilityOf = %q", got)
	}
}

// TestHiddenEndpointValidation: Variable.Validate's rule for a required
// Hidden field that nothing fills applies to endpoint fields the variable
// lists as Hidden; a type default, a variable default or a template fills
// them; an endpoint field Hidden only by default is left to discovery or to
// the CONNECT-time check.
func TestHiddenEndpointValidation(t *testing.T) {
	// A tenant-specific type: required URL fields without defaults.
	tenant := connection.Type{Key: "tenant", OAuth2: &connection.OAuth2{},
		Fields: []connection.Field{
			{Key: connection.FieldAuthorizeURL, Kind: connection.KindURL, Required: true},
			{Key: connection.FieldTokenURL, Kind: connection.KindURL, Required: true},
		}}
	withDefaults := connection.Type{Key: "fixed", OAuth2: &connection.OAuth2{
		AuthorizeURL: "https://auth.acme.example/authorize", TokenURL: "https://auth.acme.example/token"}}
	tests := []struct {
		name   string
		v      connection.Variable
		errors []string
	}{
		{"type defaults fill the hidden-by-default endpoints", connection.Variable{Key: "v", Type: withDefaults}, nil},
		{"type defaults fill explicitly hidden endpoints", connection.Variable{Key: "v", Type: withDefaults,
			Visibility: map[string]connection.Visibility{connection.FieldTokenURL: connection.Hidden, connection.FieldAuthorizeURL: connection.Hidden}}, nil},
		{"hidden by default, nothing fills them: left to discovery", connection.Variable{Key: "v", Type: tenant}, nil},
		{"explicitly hidden, nothing fills it", connection.Variable{Key: "v", Type: tenant,
			Visibility: map[string]connection.Visibility{connection.FieldTokenURL: connection.Hidden}},
			[]string{"visibility." + connection.FieldTokenURL}},
		{"explicitly hidden, a variable default fills it", connection.Variable{Key: "v", Type: tenant,
			Visibility: map[string]connection.Visibility{connection.FieldTokenURL: connection.Hidden},
			Defaults:   connection.ValuesOf(map[string]string{connection.FieldTokenURL: "https://t.example/token"})}, nil},
		{"explicitly hidden, a template fills it", connection.Variable{Key: "v", Type: tenant, Template: "tmpl_1",
			Visibility: map[string]connection.Visibility{connection.FieldTokenURL: connection.Hidden}}, nil},
		{"listed Customer", connection.Variable{Key: "v", Type: tenant,
			Visibility: map[string]connection.Visibility{connection.FieldTokenURL: connection.Customer, connection.FieldAuthorizeURL: connection.Customer}}, nil},
		{"hidden client secret of a client credentials type needs a value", connection.Variable{Key: "v",
			Type:       connection.Type{Key: "cc", OAuth2: &connection.OAuth2{Grant: connection.GrantClientCredentials, TokenURL: "https://a.example/token"}},
			Visibility: map[string]connection.Visibility{connection.FieldClientSecret: connection.Hidden}},
			[]string{"visibility." + connection.FieldClientSecret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.errors, problemKeys(t, tt.v.Validate())); diff != "" {
				t.Errorf("Validate problem keys (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDeclareRefusesSecretMetadata: TokenResponseFields and CallbackParams
// copy values into the connection's metadata, which is stored in plaintext:
// a name that is, or looks like, a credential is refused at Declare time.
func TestDeclareRefusesSecretMetadata(t *testing.T) {
	base := func() *connection.OAuth2 {
		return &connection.OAuth2{AuthorizeURL: "https://a.example/authorize", TokenURL: "https://a.example/token"}
	}
	tests := []struct {
		name    string
		tokens  []string
		params  []string
		refused []string // problem keys
	}{
		{"ordinary names", []string{"instance_url", "id", "bot_user_id", "api_domain", "livemode"}, []string{"realmId", "location", "accounts-server"}, nil},
		{"access_token", []string{"access_token"}, nil, []string{"oauth2.tokenResponseFields"}},
		{"refresh_token", []string{"refresh_token"}, nil, []string{"oauth2.tokenResponseFields"}},
		{"id_token", []string{"id_token"}, nil, []string{"oauth2.tokenResponseFields"}},
		{"code in the response", []string{"code"}, nil, []string{"oauth2.tokenResponseFields"}},
		{"code as callback parameter", nil, []string{"code"}, []string{"oauth2.callbackParams"}},
		{"state as callback parameter", nil, []string{"state"}, []string{"oauth2.callbackParams"}},
		{"upper-case CODE", nil, []string{"CODE"}, []string{"oauth2.callbackParams"}},
		{"token_type contains token", []string{"token_type"}, nil, []string{"oauth2.tokenResponseFields"}},
		{"bot token", []string{"bot_access_Token"}, nil, []string{"oauth2.tokenResponseFields"}},
		{"client secret", []string{"client_secret"}, nil, []string{"oauth2.tokenResponseFields"}},
		{"SECRET in a callback", nil, []string{"webhookSECRET"}, []string{"oauth2.callbackParams"}},
		{"password", []string{"password"}, nil, []string{"oauth2.tokenResponseFields"}},
		{"assertion", nil, []string{"client_assertion"}, []string{"oauth2.callbackParams"}},
		{"verifier", nil, []string{"oauth_verifier"}, []string{"oauth2.callbackParams"}},
		{"empty name", []string{""}, nil, []string{"oauth2.tokenResponseFields"}},
		{"each bad name is reported", []string{"id", "id_token", "refresh_token"}, []string{"realmId", "state"},
			[]string{"oauth2.tokenResponseFields", "oauth2.tokenResponseFields", "oauth2.callbackParams"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base()
			o.TokenResponseFields, o.CallbackParams = tt.tokens, tt.params
			_, err := connection.Declare(connection.Type{Key: "acme", OAuth2: o})
			if diff := cmp.Diff(tt.refused, problemKeys(t, err)); diff != "" {
				t.Errorf("Declare problem keys (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}
