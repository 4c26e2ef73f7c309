package renamed_test

import (
	"fmt"

	"github.com/connkit/connkit/examples/components/renamed"
)

// The same fields, in Meta's words.
func ExampleType() {
	generic, meta := renamed.GenericOAuth2(), renamed.Type()
	for i, f := range meta.Fields[:2] {
		fmt.Printf("%s: %q shown as %q\n", f.Key, generic.Fields[i].Label, f.Label)
	}
	// Output:
	// clientId: "Client ID" shown as "App ID"
	// clientSecret: "Client Secret" shown as "App Secret"
}
