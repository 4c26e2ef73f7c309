package oauth

import (
	"errors"
	"strings"
	"testing"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/template"
)

// TestOriginMatrix (review2 N5): an endpoint URL is accepted only from the
// layer that gives the client secret or one below it (type default <
// template < variable default < instance value), a URL the customer set
// only with the customer's own secret; a value without a recorded source
// counts as the host's for the secret and as the type's for a URL. Every
// endpoint URL (authorize, token, revoke) is checked alike, and a refusal
// is a local one (*refusal) matching ErrMisconfigured that names the field
// and both layers, never a value.
func TestOriginMatrix(t *testing.T) {
	const (
		typeDefault = connection.SourceTypeDefault
		tmpl        = connection.SourceTemplate
		varDefault  = connection.SourceVariableDefault
		host        = connection.SourceHost
		customer    = connection.SourceCustomer
		none        = connection.SourceNone
	)
	// The URL's layer, one column each.
	cols := []connection.Source{typeDefault, tmpl, varDefault, host, customer, none}
	// One row per layer of the client secret: "+" accepted, "-" refused.
	rows := []struct {
		secret connection.Source
		want   string
	}{
		{typeDefault, "+----+"},
		{tmpl, "++---+"},
		{varDefault, "+++--+"},
		{host, "++++-+"},
		{customer, "++++++"},
		{none, "++++-+"}, // a secret without recorded source is the host's
	}
	typ, err := connection.Declare(connection.Type{Key: "acme", OAuth2: &connection.OAuth2{
		AuthorizeURL: "https://acme.example/authorize",
		TokenURL:     "https://acme.example/token",
		RevokeURL:    "https://acme.example/revoke",
	}})
	if err != nil {
		t.Fatal(err)
	}
	const secret, url = "origin-s3cret", "https://elsewhere.example/endpoint"
	check := func(field string, secretFrom, urlFrom connection.Source) error {
		res := &template.Resolution{
			Ref:      connection.Ref{InstanceID: "inst-1", Variable: "Acme"},
			Variable: connection.Variable{Key: "Acme", Type: typ},
			Values: connection.ValuesOf(map[string]string{
				connection.FieldClientID: "client-1", connection.FieldClientSecret: secret, field: url,
			}),
			Sources: map[string]connection.Source{connection.FieldClientID: host},
		}
		if secretFrom != none {
			res.Sources[connection.FieldClientSecret] = secretFrom
		}
		if urlFrom != none {
			res.Sources[field] = urlFrom
		}
		_, err := endpointFor(res, "https://app.example/cb", false)
		return err
	}
	if len(rows) != len(cols) {
		t.Fatal("the matrix is not square")
	}
	for _, field := range []string{connection.FieldTokenURL, connection.FieldAuthorizeURL, connection.FieldRevokeURL} {
		for _, row := range rows {
			for i, urlFrom := range cols {
				err := check(field, row.secret, urlFrom)
				accepted := row.want[i] == '+'
				name := field + ": secret from " + string(row.secret) + ", URL from " + string(urlFrom)
				if row.secret == none {
					name = field + ": secret without source, URL from " + string(urlFrom)
				}
				switch {
				case accepted && err != nil:
					t.Errorf("%s: refused (%v), want accepted", name, err)
				case !accepted && err == nil:
					t.Errorf("%s: accepted, want refused", name)
				case !accepted:
					rf, ok := errors.AsType[*refusal](err)
					if !ok || !errors.Is(err, ErrMisconfigured) {
						t.Errorf("%s: %v, want a local refusal matching ErrMisconfigured", name, err)
						continue
					}
					if !strings.Contains(rf.reason, fieldName(field)) || strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), url) {
						t.Errorf("%s: reason %q / error %q: want the field named and no value", name, rf.reason, err)
					}
				}
			}
		}
	}
	// Without a client secret there is nothing to protect.
	res := &template.Resolution{
		Ref:      connection.Ref{InstanceID: "inst-1", Variable: "Acme"},
		Variable: connection.Variable{Key: "Acme", Type: typ},
		Values:   connection.ValuesOf(map[string]string{connection.FieldClientID: "client-1", connection.FieldTokenURL: url}),
		Sources:  map[string]connection.Source{connection.FieldClientID: typeDefault, connection.FieldTokenURL: customer},
	}
	if _, err := endpointFor(res, "https://app.example/cb", false); err != nil {
		t.Errorf("public client with a customer token URL: %v", err)
	}
}
