package salesforce_test

import (
	"fmt"
	"strings"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/examples/components/salesforce"
)

// The declared type carries Salesforce's endpoints as the defaults of the
// standard OAuth 2.0 fields, and keeps instance_url from token responses.
func ExampleType() {
	typ := connection.MustDeclare(salesforce.Type())
	for _, f := range typ.Fields {
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%-12s %s", f.Key, f.Default)))
	}
	fmt.Println("kept:", typ.OAuth2.TokenResponseFields)
	// Output:
	// apiVersion   v62.0
	// clientId
	// clientSecret
	// authorizeUrl https://login.salesforce.com/services/oauth2/authorize
	// tokenUrl     https://login.salesforce.com/services/oauth2/token
	// revokeUrl    https://login.salesforce.com/services/oauth2/revoke
	// scopes       api refresh_token
	// kept: [instance_url id]
}
