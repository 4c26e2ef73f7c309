// Command declare shows connkit's connection domain without any I/O: it
// declares a connection type for a fictional "Acme API", binds it to a
// connection config variable that hides some fields from the customer,
// prints the form a customer would fill in, and validates a bad set of
// values.
//
//	go run ./examples/declare
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/connkit/connkit/connection"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "declare:", err)
		os.Exit(1)
	}
}

// acmeType is what the Acme component declares.
var acmeType = connection.Type{
	Key:         "acme",
	Label:       "Acme API",
	Description: "API key access to an Acme workspace.",
	Fields: []connection.Field{
		{Key: "host", Label: "Host", Kind: connection.KindURL, Required: true,
			Placeholder: "https://your-workspace.acme.example"},
		{Key: "username", Label: "Username", Required: true, Placeholder: "jane@example.com"},
		{Key: "apiKey", Label: "API Key", Kind: connection.KindPassword, Required: true, Rule: "min=16",
			Comments: "Settings > API keys in your Acme workspace."},
		{Key: "region", Label: "Region", Kind: connection.KindChoice, Choices: []string{"eu", "us"}, Default: "eu"},
		{Key: "apiVersion", Label: "API Version", Required: true},
	},
	Auth: connection.Auth{Method: connection.AuthHeader, Field: "apiKey", Header: "X-API-Key"},
}

func run(w io.Writer) error {
	typ, err := connection.Declare(acmeType)
	if err != nil {
		return err
	}
	// An integration binds the type to a variable its steps share. The host
	// application sets the workspace URL itself (embedded); the API version
	// is fixed by the integration and never shown (hidden, with a default).
	variable, err := connection.DeclareVariable(connection.Variable{
		Key:  "Acme Connection",
		Type: typ,
		Visibility: map[string]connection.Visibility{
			"host":       connection.Embedded,
			"apiVersion": connection.Hidden,
		},
		Defaults: connection.ValuesOf(map[string]string{"apiVersion": "2024-06"}),
	})
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "Connection type %q (%s), variable %q (%s-level)\n\n",
		typ.Label, typ.Key, variable.Key, variable.LevelOrDefault())

	fmt.Fprintln(w, "Customer-facing form:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  LABEL\tKIND\tREQUIRED\tPLACEHOLDER")
	for _, f := range variable.Type.Fields {
		if variable.VisibilityOf(f.Key) != connection.Customer {
			continue
		}
		kind := string(f.Kind)
		if f.Kind == connection.KindChoice {
			kind += " (" + strings.Join(f.Choices, ", ") + ")"
		}
		placeholder := f.Placeholder
		if placeholder == "" {
			placeholder = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", f.Label, kind, yesNo(f.Required), placeholder)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nNot shown to the customer:")
	for _, f := range variable.Type.Fields {
		switch variable.VisibilityOf(f.Key) {
		case connection.Embedded:
			fmt.Fprintf(w, "  %s: embedded, set by the host application\n", f.Label)
		case connection.Hidden:
			fmt.Fprintf(w, "  %s: hidden, filled by the variable's default\n", f.Label)
		}
	}

	// Values as a host would resolve them: type defaults, then the
	// variable's defaults, then what the host and the customer entered.
	// (Package template does this resolution, with provenance.)
	values := connection.Values{}
	for _, f := range variable.Type.Fields {
		if f.Default != "" {
			values.Set(f.Key, f.Default)
		}
	}
	for _, k := range variable.Defaults.Keys() {
		values.Set(k, variable.Defaults.String(k))
	}
	values.Set("host", "acme.example")   // set by the host, without a scheme
	values.Set("apiKey", "hunter2")      // too short; never echoed
	values.Set("region", "mars")         // not a choice
	values.Set("favouriteColour", "red") // not a field of the type

	fmt.Fprintf(w, "\nValidating %v:\n", values)
	if err := variable.Type.ValidateValues(values); err != nil {
		fmt.Fprintln(w, err)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
