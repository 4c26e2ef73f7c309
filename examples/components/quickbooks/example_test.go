package quickbooks_test

import (
	"fmt"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/examples/components/quickbooks"
)

// QuickBooks keeps the callback's realmId and revokes on DISCONNECT.
func ExampleType() {
	typ := connection.MustDeclare(quickbooks.Type())
	fmt.Println("callback parameters kept:", typ.OAuth2.CallbackParams)
	fmt.Println("revocation endpoint:", typ.OAuth2.RevokeURL)
	// Output:
	// callback parameters kept: [realmId]
	// revocation endpoint: https://developer.api.intuit.com/v2/oauth2/tokens/revoke
}
