package providers

import "github.com/connkit/connkit/connection"

// Helpers that keep the catalog tables short. Each returns a type literal
// that the catalog declares.

// oauth2 returns an OAuth 2.0 type with the given extra fields (tenant
// fields); the standard client and endpoint fields are added by
// connection.Declare. A connection may replace the default scopes through
// its scopes field.
func oauth2(o connection.OAuth2, fields ...connection.Field) connection.Type {
	o.ScopesOverridable = true
	return connection.Type{Fields: fields, OAuth2: &o}
}

// LabelRule is the validation rule of tenant fields: one DNS label (ASCII
// letters, digits and inner hyphens, at most 63 characters). It lets value
// validation refuse what connection.ExpandURL would refuse to fill into a
// URL, and it applies to fields only the API base URL uses.
const LabelRule = "max=63,hostname_rfc1123,excludes=.,endsnotwith=-"

// tenant returns a required field holding one DNS label of a tenant's URL,
// such as the shop of "{shop}.myshopify.com".
func tenant(key, label, example, comments string) connection.Field {
	return connection.Field{
		Key:         key,
		Label:       label,
		Required:    true,
		Placeholder: example,
		Example:     example,
		Comments:    comments + " Letters, digits and hyphens only.",
		Rule:        LabelRule,
	}
}

// Keys of the fields of API-key and Basic-auth types.
const (
	FieldAPIKey   = "apiKey"
	FieldUsername = "username"
	FieldPassword = "password"
)

// apiKey returns a type whose secret API key is sent in a header: as
// "Authorization: <prefix><key>" when header is "Authorization", else as
// "<header>: <key>".
func apiKey(label, header, prefix, comments string, fields ...connection.Field) connection.Type {
	return connection.Type{
		Fields: append(fields, connection.Field{
			Key: FieldAPIKey, Label: label, Kind: connection.KindPassword, Required: true, Comments: comments,
		}),
		Auth: connection.Auth{Method: connection.AuthHeader, Field: FieldAPIKey, Header: header, Prefix: prefix},
	}
}

// basic returns a type that sends HTTP Basic credentials from a user name
// and a secret password field. A non-empty userDefault makes the user name
// optional with that default (Mailgun's "api").
func basic(userLabel, userDefault, passLabel, comments string, fields ...connection.Field) connection.Type {
	return connection.Type{
		Fields: append(fields,
			connection.Field{Key: FieldUsername, Label: userLabel, Required: userDefault == "", Default: userDefault},
			connection.Field{Key: FieldPassword, Label: passLabel, Kind: connection.KindPassword, Required: true, Comments: comments},
		),
		Auth: connection.Auth{Method: connection.AuthBasic, UsernameField: FieldUsername, PasswordField: FieldPassword},
	}
}
