package connection_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/connkit/connkit/connection"
)

func ExampleDeclare() {
	acme, err := connection.Declare(connection.Type{
		Key:   "acme",
		Label: "Acme API",
		Fields: []connection.Field{
			{Key: "host", Label: "Host", Kind: connection.KindURL, Required: true, Placeholder: "https://acme.example"},
			{Key: "username", Label: "Username", Required: true},
			{Key: "apiKey", Label: "API Key", Kind: connection.KindPassword, Required: true, Rule: "min=8"},
		},
		Auth: connection.Auth{Method: connection.AuthHeader, Field: "apiKey", Header: "X-API-Key"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range acme.Fields {
		fmt.Printf("%-8s %-8s %-8s required=%v secret=%v\n", f.Key, f.Label, f.Kind, f.Required, f.IsSecret())
	}

	// A declaration with problems reports them all at once.
	_, err = connection.Declare(connection.Type{
		Key: "broken",
		Fields: []connection.Field{
			{Key: "host", Kind: connection.KindURL, Default: "not a url"},
			{Key: "host"},
		},
		Auth: connection.Auth{Method: connection.AuthBearer},
	})
	fmt.Println(err)
	// Output:
	// host     Host     url      required=true secret=false
	// username Username string   required=true secret=false
	// apiKey   API Key  password required=true secret=true
	// connection: invalid type "broken": host: default must be an absolute URL; host: duplicate field key; auth.method: bearer authentication needs OAuth 2.0 settings
}

func ExampleDeclare_oauth2() {
	// An OAuth 2.0 type gets the standard fields, with the settings' URLs and
	// scopes as their defaults, so templates, variable defaults and visibility
	// apply to them like to any other field.
	github := connection.MustDeclare(connection.Type{
		Key:   "github",
		Label: "GitHub",
		OAuth2: &connection.OAuth2{
			AuthorizeURL: "https://github.com/login/oauth/authorize",
			TokenURL:     "https://github.com/login/oauth/access_token",
			Scopes:       []string{"repo", "read:user"},
			ClientAuth:   connection.ClientAuthBody,
		},
	})
	for _, f := range github.Fields {
		fmt.Printf("%-12s %-13s required=%-5v default=%q\n", f.Key, f.Label, f.Required, f.Default)
	}
	fmt.Println("auth:", github.Auth.Method, "pkce:", github.OAuth2.PKCEOrDefault())
	// Output:
	// clientId     Client ID     required=true  default=""
	// clientSecret Client Secret required=false default=""
	// authorizeUrl Authorize URL required=true  default="https://github.com/login/oauth/authorize"
	// tokenUrl     Token URL     required=true  default="https://github.com/login/oauth/access_token"
	// scopes       Scopes        required=false default="repo read:user"
	// auth: bearer pkce: S256
}

func ExampleType_Relabel() {
	slack := connection.MustDeclare(connection.Type{
		Key: "slack",
		OAuth2: &connection.OAuth2{
			AuthorizeURL: "https://slack.com/oauth/v2/authorize",
			TokenURL:     "https://slack.com/api/oauth.v2.access",
		},
	})
	// Present the same type in the provider's own words; keys stay.
	renamed, err := slack.Relabel(map[string]string{
		connection.FieldClientID:     "App ID",
		connection.FieldClientSecret: "App Secret",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, f := range renamed.Fields[:2] {
		fmt.Printf("%s: %q was %q\n", f.Key, f.Label, slack.Fields[i].Label)
	}

	_, err = slack.Relabel(map[string]string{"appId": "App ID"})
	fmt.Println(err)
	// Output:
	// clientId: "App ID" was "Client ID"
	// clientSecret: "App Secret" was "Client Secret"
	// connection: invalid relabel of type "slack": appId: the type has no such field
}

func ExampleDeclareVariable() {
	acme := connection.MustDeclare(connection.Type{
		Key: "acme",
		Fields: []connection.Field{
			{Key: "host", Label: "Host", Kind: connection.KindURL, Required: true},
			{Key: "apiVersion", Label: "API Version", Required: true},
			{Key: "apiKey", Label: "API Key", Kind: connection.KindPassword, Required: true},
		},
		Auth: connection.Auth{Method: connection.AuthHeader, Field: "apiKey", Header: "X-API-Key"},
	})
	v, err := connection.DeclareVariable(connection.Variable{
		Key:  "Acme Connection",
		Type: acme,
		Visibility: map[string]connection.Visibility{
			"host":       connection.Embedded, // the host app sets it per customer
			"apiVersion": connection.Hidden,   // fixed by the integration
		},
		Defaults:        connection.ValuesOf(map[string]string{"apiVersion": "2024-06"}),
		SuccessRedirect: "https://app.example/connections/done",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range v.Type.Fields {
		fmt.Printf("%-10s %s\n", f.Key, v.VisibilityOf(f.Key))
	}

	// A hidden required field that nothing fills is refused.
	_, err = connection.DeclareVariable(connection.Variable{
		Key:        "Acme Connection",
		Type:       acme,
		Visibility: map[string]connection.Visibility{"apiVersion": connection.Hidden, "region": connection.Customer},
	})
	fmt.Println(err)
	// Output:
	// host       embedded
	// apiVersion hidden
	// apiKey     customer
	// connection: invalid variable "Acme Connection": visibility.region: visibility given for a field the type does not have; visibility.apiVersion (API Version): required hidden field has no default and no template
}

func ExampleType_ValidateValues() {
	acme := connection.MustDeclare(connection.Type{
		Key: "acme",
		Fields: []connection.Field{
			{Key: "host", Label: "Host", Kind: connection.KindURL, Required: true},
			{Key: "username", Label: "Username", Required: true},
			{Key: "apiKey", Label: "API Key", Kind: connection.KindPassword, Required: true, Rule: "min=8"},
		},
	})
	err := acme.ValidateValues(connection.ValuesOf(map[string]string{
		"host":   "acme.example",
		"apiKey": "hunter2",
	}))
	fmt.Println(err)

	var ve *connection.ValidationError
	if errors.As(err, &ve) {
		for _, p := range ve.Problems {
			fmt.Printf("%s: %s\n", p.Label, p.Reason)
		}
	}
	fmt.Println(errors.Is(err, connection.ErrInvalid))
	// Output:
	// connection: invalid values of type "acme": host (Host): must be an absolute URL; username (Username): is required; apiKey (API Key): does not satisfy rule "min=8"
	// Host: must be an absolute URL
	// Username: is required
	// API Key: does not satisfy rule "min=8"
	// true
}

func ExampleSecret() {
	key := connection.NewSecret("sk_live_123456")
	fmt.Println(key)
	fmt.Printf("%v %s %q %#v\n", key, key, key, key)

	b, _ := json.Marshal(struct{ APIKey connection.Secret }{key})
	fmt.Println(string(b))

	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // keep the output stable
			}
			return a
		},
	}))
	logger.Info("calling Acme", "apiKey", key)

	// Only Reveal returns the value, where it goes on the wire.
	fmt.Println(len(key.Reveal()))
	// Output:
	// [REDACTED]
	// [REDACTED] [REDACTED] "[REDACTED]" connection.Secret("[REDACTED]")
	// {"APIKey":"[REDACTED]"}
	// level=INFO msg="calling Acme" apiKey=[REDACTED]
	// 14
}

func ExampleValues() {
	v := connection.ValuesOf(map[string]string{
		"host": "https://acme.example", "port": "8443", "verbose": "true", "apiKey": "sk_live_123456",
	})
	port, _ := v.Int("port")
	verbose, _ := v.Bool("verbose")
	u, _ := v.URL("host")
	fmt.Println(u.Host, port, verbose)
	// Printing Values shows keys, never values.
	fmt.Println(v)
	// Output:
	// acme.example 8443 true
	// Values{apiKey, host, port, verbose}
}
