package connection_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/connection"
)

// apiKeyType is a valid type authenticated by an API key header.
func apiKeyType() connection.Type {
	return connection.Type{
		Key:   "acme",
		Label: "Acme API",
		Fields: []connection.Field{
			{Key: "host", Label: "Host", Kind: connection.KindURL, Required: true, Placeholder: "https://acme.example"},
			{Key: "username", Label: "Username", Required: true},
			{Key: "apiKey", Label: "API Key", Kind: connection.KindPassword, Required: true, Rule: "min=8"},
			{Key: "region", Label: "Region", Kind: connection.KindChoice, Choices: []string{"eu", "us"}, Default: "eu"},
			{Key: "timeout", Label: "Timeout (s)", Kind: connection.KindNumber, Rule: "min=0.5", Default: "30"},
		},
		Auth: connection.Auth{Method: connection.AuthHeader, Field: "apiKey", Header: "X-API-Key"},
	}
}

// oauthType is a valid OAuth 2.0 type (authorization code grant).
func oauthType() connection.Type {
	return connection.Type{
		Key:   "acme-oauth",
		Label: "Acme (OAuth)",
		OAuth2: &connection.OAuth2{
			AuthorizeURL: "https://auth.acme.example/authorize",
			TokenURL:     "https://auth.acme.example/token",
			Scopes:       []string{"read", "write"},
		},
	}
}

// problemKeys returns the keys of every problem of a *ValidationError, or nil
// for a nil error. It fails the test for any other error.
func problemKeys(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *connection.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *connection.ValidationError", err, err)
	}
	if !errors.Is(err, connection.ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
	}
	var keys []string
	for _, p := range ve.Problems {
		if p.Reason == "" {
			t.Errorf("problem %+v has no reason", p)
		}
		keys = append(keys, p.Key)
	}
	return keys
}

func TestDeclareValidation(t *testing.T) {
	tests := []struct {
		name   string
		base   func() connection.Type
		modify func(*connection.Type)
		want   []string // problem keys, in order; nil means valid
	}{
		{"valid API key type", apiKeyType, func(*connection.Type) {}, nil},
		{"valid OAuth type", oauthType, func(*connection.Type) {}, nil},
		{"valid tenant-specific OAuth type", oauthType, func(ty *connection.Type) {
			ty.OAuth2.AuthorizeURL, ty.OAuth2.TokenURL = "", ""
			ty.Fields = []connection.Field{
				{Key: connection.FieldAuthorizeURL, Kind: connection.KindURL, Required: true},
				{Key: connection.FieldTokenURL, Required: true}, // kind url is implied
			}
		}, nil},
		{"valid client credentials type without authorize URL", oauthType, func(ty *connection.Type) {
			ty.OAuth2.Grant, ty.OAuth2.AuthorizeURL = connection.GrantClientCredentials, ""
		}, nil},
		{"valid number rule with a fractional parameter", apiKeyType, func(ty *connection.Type) {
			ty.Fields[4].Rule = "gte=0.25,lte=99.5"
		}, nil},
		{"bad type key", apiKeyType, func(ty *connection.Type) { ty.Key = "acme api" }, []string{"key"}},
		{"duplicate field keys", apiKeyType, func(ty *connection.Type) {
			ty.Fields = append(ty.Fields, connection.Field{Key: "host"})
		}, []string{"host"}},
		{"bad field key", apiKeyType, func(ty *connection.Type) { ty.Fields[1].Key = "1user" }, []string{"1user"}},
		{"empty field key", apiKeyType, func(ty *connection.Type) { ty.Fields[1].Key = "" }, []string{"fields[1]"}},
		{"unknown kind", apiKeyType, func(ty *connection.Type) { ty.Fields[1].Kind = "email" }, []string{"username"}},
		{"choice without choices", apiKeyType, func(ty *connection.Type) {
			ty.Fields[3].Choices, ty.Fields[3].Default = nil, ""
		}, []string{"region"}},
		{"unknown rule tag (validator would panic)", apiKeyType, func(ty *connection.Type) {
			ty.Fields[1].Rule = "no_such_rule"
		}, []string{"username"}},
		{"malformed rule", apiKeyType, func(ty *connection.Type) { ty.Fields[1].Rule = "min=8," }, []string{"username"}},
		{"rule parameter that does not fit the kind", apiKeyType, func(ty *connection.Type) {
			ty.Fields[1].Rule = "min=1.5" // strings are measured in whole characters
		}, []string{"username"}},
		{"rule that only fails on non-empty values", apiKeyType, func(ty *connection.Type) {
			ty.Fields[1].Rule = "omitempty,len=x"
		}, []string{"username"}},
		{"rule for a kind it cannot check", apiKeyType, func(ty *connection.Type) {
			ty.Fields[4].Rule = "url" // timeout is a number
		}, []string{"timeout"}},
		{"cross-field rule", apiKeyType, func(ty *connection.Type) {
			ty.Fields[1].Rule = "required_with=host"
		}, []string{"username"}},
		{"default that fails its own rule", apiKeyType, func(ty *connection.Type) {
			ty.Fields[1].Rule, ty.Fields[1].Default = "min=8", "bob"
		}, []string{"username"}},
		{"default that is not one of the choices", apiKeyType, func(ty *connection.Type) {
			ty.Fields[3].Default = "mars"
		}, []string{"region"}},
		{"default that is not a URL", apiKeyType, func(ty *connection.Type) {
			ty.Fields[0].Default = "acme.example"
		}, []string{"host"}},
		{"OAuth type without token URL", oauthType, func(ty *connection.Type) {
			ty.OAuth2.TokenURL = ""
		}, []string{"oauth2.tokenUrl"}},
		{"authorization code grant without authorize URL", oauthType, func(ty *connection.Type) {
			ty.OAuth2.AuthorizeURL = ""
		}, []string{"oauth2.authorizeUrl"}},
		{"token URL that is not a URL", oauthType, func(ty *connection.Type) {
			ty.OAuth2.TokenURL = "/token"
		}, []string{connection.FieldTokenURL}},
		{"token URL that conflicts with the field default", oauthType, func(ty *connection.Type) {
			ty.Fields = []connection.Field{{Key: connection.FieldTokenURL, Default: "https://other.example/token"}}
		}, []string{"oauth2.tokenUrl"}},
		{"URL field of another kind", oauthType, func(ty *connection.Type) {
			ty.Fields = []connection.Field{{Key: connection.FieldRevokeURL, Kind: connection.KindString}}
		}, []string{connection.FieldRevokeURL}},
		{"unknown grant", oauthType, func(ty *connection.Type) { ty.OAuth2.Grant = "password" }, []string{"oauth2.grant"}},
		{"unknown PKCE method", oauthType, func(ty *connection.Type) { ty.OAuth2.PKCE = "S512" }, []string{"oauth2.pkce"}},
		{"unknown client authentication style", oauthType, func(ty *connection.Type) {
			ty.OAuth2.ClientAuth = "jwt"
		}, []string{"oauth2.clientAuth"}},
		{"negative durations", oauthType, func(ty *connection.Type) {
			ty.OAuth2.DefaultTokenLifetime, ty.OAuth2.RefreshLeeway = -time.Second, -time.Second
		}, []string{"oauth2.defaultTokenLifetime", "oauth2.refreshLeeway"}},
		{"reserved extra parameters", oauthType, func(ty *connection.Type) {
			ty.OAuth2.AuthorizeParams = map[string]string{"access_type": "offline", "redirect_uri": "https://evil.example"}
			ty.OAuth2.TokenParams = map[string]string{"grant_type": "password"}
		}, []string{"oauth2.authorizeParams", "oauth2.tokenParams"}},
		{"header auth naming a missing field", apiKeyType, func(ty *connection.Type) {
			ty.Auth.Field = "token"
		}, []string{"auth.field"}},
		{"header auth without header", apiKeyType, func(ty *connection.Type) { ty.Auth.Header = "" }, []string{"auth.header"}},
		{"header auth with a bad header name", apiKeyType, func(ty *connection.Type) {
			ty.Auth.Header = "X-API-Key: x"
		}, []string{"auth.header"}},
		{"header prefix with a line break", apiKeyType, func(ty *connection.Type) {
			ty.Auth.Prefix = "Token\r\nX-Evil: 1 "
		}, []string{"auth.prefix"}},
		{"query auth without field and param", apiKeyType, func(ty *connection.Type) {
			ty.Auth = connection.Auth{Method: connection.AuthQuery}
		}, []string{"auth.field", "auth.param"}},
		{"basic auth naming missing fields", apiKeyType, func(ty *connection.Type) {
			ty.Auth = connection.Auth{Method: connection.AuthBasic, UsernameField: "username", PasswordField: "password"}
		}, []string{"auth.passwordField"}},
		{"bearer without OAuth", apiKeyType, func(ty *connection.Type) {
			ty.Auth = connection.Auth{Method: connection.AuthBearer}
		}, []string{"auth.method"}},
		{"unknown auth method", apiKeyType, func(ty *connection.Type) {
			ty.Auth = connection.Auth{Method: "digest"}
		}, []string{"auth.method"}},
		{"every problem at once", apiKeyType, func(ty *connection.Type) {
			ty.Key = ""
			ty.Fields[1].Kind = "email"
			ty.Fields[2].Key = "host"
			ty.Fields[3].Choices, ty.Fields[3].Default = nil, ""
			ty.Auth = connection.Auth{Method: connection.AuthBearer}
		}, []string{"key", "username", "host", "region", "auth.method"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ty := tt.base()
			tt.modify(&ty)
			before := ty.Clone()

			declared, err := connection.Declare(ty)
			if diff := cmp.Diff(tt.want, problemKeys(t, err)); diff != "" {
				t.Errorf("Declare problem keys (-want +got):\n%s\nerror: %v", diff, err)
			}
			if diff := cmp.Diff(before, ty); diff != "" {
				t.Errorf("Declare modified its argument (-before +after):\n%s", diff)
			}
			// Validate reports exactly what Declare reports, on a literal or
			// on the declared type.
			if diff := cmp.Diff(tt.want, problemKeys(t, ty.Validate())); diff != "" {
				t.Errorf("Validate problem keys (-want +got):\n%s", diff)
			}
			if err == nil {
				if verr := declared.Validate(); verr != nil {
					t.Errorf("a declared type does not validate: %v", verr)
				}
				again, err := connection.Declare(declared)
				if err != nil {
					t.Fatalf("declaring a declared type: %v", err)
				}
				if diff := cmp.Diff(declared, again); diff != "" {
					t.Errorf("Declare is not idempotent (-once +twice):\n%s", diff)
				}
			}
		})
	}
}

func TestDeclareNormalizes(t *testing.T) {
	ty := oauthType()
	ty.OAuth2.RevokeURL = "https://auth.acme.example/revoke"
	ty.OAuth2.ScopeSeparator = ","
	ty.Fields = []connection.Field{
		{Key: "subdomain", Required: true},
		{Key: connection.FieldClientSecret, Label: "App Secret", Kind: connection.KindString}, // still secret
	}
	got, err := connection.Declare(ty)
	if err != nil {
		t.Fatal(err)
	}
	want := connection.Type{
		Key:    "acme-oauth",
		Label:  "Acme (OAuth)",
		OAuth2: ty.OAuth2,
		Fields: []connection.Field{
			{Key: "subdomain", Label: "subdomain", Kind: connection.KindString, Required: true},
			{Key: connection.FieldClientSecret, Label: "App Secret", Kind: connection.KindString, Secret: true},
			{Key: connection.FieldClientID, Label: "Client ID", Kind: connection.KindString, Required: true},
			{Key: connection.FieldAuthorizeURL, Label: "Authorize URL", Kind: connection.KindURL, Required: true, Default: "https://auth.acme.example/authorize"},
			{Key: connection.FieldTokenURL, Label: "Token URL", Kind: connection.KindURL, Required: true, Default: "https://auth.acme.example/token"},
			{Key: connection.FieldRevokeURL, Label: "Revoke URL", Kind: connection.KindURL, Default: "https://auth.acme.example/revoke"},
			{Key: connection.FieldScopes, Label: "Scopes", Kind: connection.KindString, Default: "read,write"},
		},
		Auth: connection.Auth{Method: connection.AuthBearer},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Declare (-want +got):\n%s", diff)
	}
	if got.OAuth2 == ty.OAuth2 {
		t.Error("the declared type shares its OAuth2 settings with the argument")
	}
	if f, _ := got.Field(connection.FieldClientSecret); !f.IsSecret() {
		t.Error("client secret field is not secret")
	}

	plain, err := connection.Declare(connection.Type{Key: "plain", Fields: []connection.Field{{Key: "pw", Kind: connection.KindPassword}}})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Auth.Method != connection.AuthNone {
		t.Errorf("auth method of a type without OAuth = %q, want %q", plain.Auth.Method, connection.AuthNone)
	}
	if f, _ := plain.Field("pw"); !f.Secret || !f.IsSecret() {
		t.Errorf("password field %+v is not secret", f)
	}
}

func TestMustDeclarePanics(t *testing.T) {
	defer func() {
		r := recover()
		err, ok := r.(error)
		if !ok || !errors.Is(err, connection.ErrInvalid) {
			t.Errorf("MustDeclare panicked with %v, want an error matching ErrInvalid", r)
		}
	}()
	connection.MustDeclare(connection.Type{Key: "bad key"})
}

// acmeVariable is a valid variable over apiKeyType.
func acmeVariable() connection.Variable {
	return connection.Variable{
		Key:  "Acme Connection",
		Type: apiKeyType(),
		Visibility: map[string]connection.Visibility{
			"host":     connection.Embedded,
			"username": connection.Customer,
			"region":   connection.Hidden, // has a type default
		},
		Defaults:        connection.ValuesOf(map[string]string{"host": "https://api.acme.example"}),
		SuccessRedirect: "https://app.example/connected?from=acme",
		FailureRedirect: "http://localhost:8080/failed",
		Level:           connection.UserLevel,
	}
}

func TestDeclareVariableValidation(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*connection.Variable)
		want   []string
	}{
		{"valid", func(*connection.Variable) {}, nil},
		{"valid OAuth variable hiding standard fields", func(v *connection.Variable) {
			v.Type = oauthType()
			v.Visibility = map[string]connection.Visibility{
				connection.FieldTokenURL: connection.Hidden, // filled by the type
				connection.FieldScopes:   connection.Hidden,
				connection.FieldClientID: connection.Embedded,
			}
			v.Defaults = connection.Values{}
		}, nil},
		{"empty key", func(v *connection.Variable) { v.Key = "" }, []string{"key"}},
		{"key with a control character", func(v *connection.Variable) { v.Key = "Acme\nConnection" }, []string{"key"}},
		{"problems of the type", func(v *connection.Variable) {
			v.Type.Fields[1].Kind = "email"
			v.Type.Auth.Header = ""
		}, []string{"type.username", "type.auth.header"}},
		{"visibility for a field the type does not have", func(v *connection.Variable) {
			v.Visibility["password"] = connection.Hidden
		}, []string{"visibility.password"}},
		{"unknown visibility", func(v *connection.Variable) {
			v.Visibility["username"] = "secret"
		}, []string{"visibility.username"}},
		{"default for an unknown field", func(v *connection.Variable) {
			v.Defaults.Set("port", "443")
		}, []string{"defaults.port"}},
		{"default that fails its field's kind", func(v *connection.Variable) {
			v.Defaults.Set("timeout", "soon")
		}, []string{"defaults.timeout"}},
		{"hidden required field with no default and no template", func(v *connection.Variable) {
			v.Visibility["username"] = connection.Hidden
		}, []string{"visibility.username"}},
		{"hidden required field with a variable default", func(v *connection.Variable) {
			v.Visibility["username"] = connection.Hidden
			v.Defaults.Set("username", "svc-acme")
		}, nil},
		{"hidden required field with a template", func(v *connection.Variable) {
			v.Visibility["username"] = connection.Hidden
			v.Template = "tmpl_123"
		}, nil},
		{"embedded required field without default is fine", func(v *connection.Variable) {
			v.Visibility["apiKey"] = connection.Embedded
		}, nil},
		{"relative success redirect", func(v *connection.Variable) { v.SuccessRedirect = "/connected" }, []string{"successRedirect"}},
		{"scheme-relative success redirect", func(v *connection.Variable) { v.SuccessRedirect = "//evil.example/x" }, []string{"successRedirect"}},
		{"javascript: success redirect", func(v *connection.Variable) { v.SuccessRedirect = "javascript:alert(1)" }, []string{"successRedirect"}},
		{"success redirect with user information", func(v *connection.Variable) {
			v.SuccessRedirect = "https://app.example@evil.example/"
		}, []string{"successRedirect"}},
		{"success redirect with a fragment", func(v *connection.Variable) {
			v.SuccessRedirect = "https://app.example/done#token"
		}, []string{"successRedirect"}},
		{"success redirect with an empty fragment", func(v *connection.Variable) {
			v.SuccessRedirect = "https://app.example/done#"
		}, []string{"successRedirect"}},
		{"ftp failure redirect", func(v *connection.Variable) { v.FailureRedirect = "ftp://files.example/" }, []string{"failureRedirect"}},
		{"unknown level", func(v *connection.Variable) { v.Level = "tenant" }, []string{"level"}},
		{"every problem at once", func(v *connection.Variable) {
			v.Key = ""
			v.Type.Key = ""
			v.Visibility["nope"] = connection.Customer
			v.Visibility["apiKey"] = connection.Hidden
			v.Defaults.Set("zzz", "1")
			v.SuccessRedirect = "javascript:alert(1)"
			v.FailureRedirect = "/failed"
			v.Level = "tenant"
		}, []string{"key", "type.key", "visibility.nope", "defaults.zzz", "visibility.apiKey", "successRedirect", "failureRedirect", "level"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := acmeVariable()
			tt.modify(&v)
			before := v.Clone()
			declared, err := connection.DeclareVariable(v)
			if diff := cmp.Diff(tt.want, problemKeys(t, err)); diff != "" {
				t.Errorf("DeclareVariable problem keys (-want +got):\n%s\nerror: %v", diff, err)
			}
			if diff := cmp.Diff(before, v); diff != "" {
				t.Errorf("DeclareVariable modified its argument (-before +after):\n%s", diff)
			}
			if err != nil {
				return
			}
			// The declared variable carries the normalized type and is a deep copy.
			wantType, terr := connection.Declare(v.Type)
			if terr != nil {
				t.Fatal(terr)
			}
			if diff := cmp.Diff(wantType, declared.Type); diff != "" {
				t.Errorf("declared variable's type is not normalized (-want +got):\n%s", diff)
			}
			declared.Visibility["username"] = connection.Hidden
			declared.Defaults.Set("username", "changed")
			if diff := cmp.Diff(before, v); diff != "" {
				t.Errorf("the declared variable shares state with its argument (-before +after):\n%s", diff)
			}
		})
	}
}

func TestVariableAccessors(t *testing.T) {
	v := acmeVariable()
	for field, want := range map[string]connection.Visibility{
		"host": connection.Embedded, "region": connection.Hidden, "username": connection.Customer, "apiKey": connection.Customer,
	} {
		if got := v.VisibilityOf(field); got != want {
			t.Errorf("VisibilityOf(%q) = %q, want %q", field, got, want)
		}
	}
	if got := v.LevelOrDefault(); got != connection.UserLevel {
		t.Errorf("LevelOrDefault = %q, want %q", got, connection.UserLevel)
	}
	v.Level = ""
	if got := v.LevelOrDefault(); got != connection.InstanceLevel {
		t.Errorf("LevelOrDefault of the zero level = %q, want %q", got, connection.InstanceLevel)
	}
}

func TestValidationErrorMessage(t *testing.T) {
	_, err := connection.Declare(connection.Type{
		Key:    "acme",
		Fields: []connection.Field{{Key: "host", Label: "Host", Kind: "email"}, {Key: "x", Kind: connection.KindChoice}},
	})
	want := `connection: invalid type "acme": host (Host): unknown kind "email"; x: a choice field needs choices`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
	var ve *connection.ValidationError
	if !errors.As(err, &ve) {
		t.Fatal("not a *ValidationError")
	}
	if got := ve.Field("x"); len(got) != 1 || got[0].Reason != "a choice field needs choices" {
		t.Errorf(`Field("x") = %+v`, got)
	}
	if got := ve.Field("nope"); got != nil {
		t.Errorf(`Field("nope") = %+v, want nil`, got)
	}
	// A key from outside input cannot forge entries of the message.
	fe := connection.FieldError{Key: "a; b: fine\n", Reason: "the type has no such field"}
	if got := fe.String(); strings.ContainsAny(got, "\n") || strings.HasPrefix(got, "a; b") {
		t.Errorf("FieldError.String() = %q, want the key quoted", got)
	}
}
