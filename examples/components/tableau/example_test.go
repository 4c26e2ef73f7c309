package tableau_test

import (
	"fmt"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/examples/components/tableau"
)

// The fields a Tableau connection asks for, in order; the token is secret.
func ExampleType() {
	typ := connection.MustDeclare(tableau.Type())
	for _, f := range typ.Fields {
		fmt.Printf("%-27s required=%-5v secret=%v\n", f.Label, f.Required, f.IsSecret())
	}
	// Output:
	// Server URL                  required=true  secret=false
	// Site ID                     required=false secret=false
	// Personal Access Token Name  required=true  secret=false
	// Personal Access Token       required=true  secret=true
	// REST API Version            required=true  secret=false
}
