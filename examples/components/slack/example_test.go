package slack_test

import (
	"fmt"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/examples/components/slack"
)

// Slack joins scopes with commas; the scopes field shows them that way.
func ExampleType() {
	typ := connection.MustDeclare(slack.Type())
	scopes, _ := typ.Field(connection.FieldScopes)
	fmt.Println(scopes.Default)
	// Output:
	// channels:read,chat:write
}
