// Package renamed is an example component that presents a connection type
// in its provider's words. Meta's developer console calls an OAuth 2.0
// client an "app", with an "App ID" and an "App Secret"; customers who
// bring their own Meta app look for those labels. The component takes a
// generic OAuth 2.0 type and renames the two fields with
// [connection.Type.Relabel]. Only labels change: the keys stay
// connection.FieldClientID and connection.FieldClientSecret, so templates,
// variable defaults, visibility, validation and the OAuth 2.0 flow treat
// the fields exactly as before.
package renamed

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
)

// DefaultGraphURL is the Graph API base, with its version.
const DefaultGraphURL = "https://graph.facebook.com/v21.0"

// GenericOAuth2 returns a plain OAuth 2.0 authorization code type with
// Meta's endpoints, labelled the generic way ("Client ID", "Client
// Secret").
func GenericOAuth2() connection.Type {
	return connection.MustDeclare(connection.Type{
		Key:         "meta-oauth",
		Label:       "Meta",
		Description: "Your own Meta app, authorized by a Facebook user.",
		OAuth2: &connection.OAuth2{
			AuthorizeURL:   "https://www.facebook.com/v21.0/dialog/oauth",
			TokenURL:       "https://graph.facebook.com/v21.0/oauth/access_token",
			Scopes:         []string{"public_profile", "pages_show_list"},
			ScopeSeparator: ",",
			ClientAuth:     connection.ClientAuthBody,
		},
	})
}

// Type returns the type this component presents: GenericOAuth2 with the
// client id and secret shown as "App ID" and "App Secret".
func Type() connection.Type {
	t, err := GenericOAuth2().Relabel(map[string]string{
		connection.FieldClientID:     "App ID",
		connection.FieldClientSecret: "App Secret",
	})
	if err != nil {
		panic(err) // both fields exist on every declared OAuth 2.0 type
	}
	return t
}

// Options configure the component. The zero value talks to Meta.
type Options struct {
	// GraphURL is the Graph API base; empty means DefaultGraphURL.
	GraphURL string
}

// Component returns the Meta Graph API component.
func Component(opts Options) component.Component {
	base := strings.TrimSuffix(opts.GraphURL, "/")
	if base == "" {
		base = DefaultGraphURL
	}
	return component.Component{
		Key:         "meta-graph",
		Label:       "Meta Graph API",
		Connections: []connection.Type{Type()},
		Actions: []component.Action{{
			Key:    "me",
			Label:  "Get the connected user",
			Inputs: []component.Input{{Key: "connection", Label: "Meta connection", Connection: "meta-oauth"}},
			Perform: func(ctx context.Context, sc *component.Context) (any, error) {
				return me(ctx, sc, base)
			},
		}},
	}
}

// User is the connected Facebook user.
type User struct {
	// ID is the app-scoped user id.
	ID string `json:"id"`
	// Name is the user's display name.
	Name string `json:"name"`
}

// GraphError is a Graph API error answer.
type GraphError struct {
	// Status is the HTTP status of the answer.
	Status int
	// Type is the error's class, such as "OAuthException".
	Type string `json:"type"`
	// Code is the Graph API's numeric error code (190: invalid access
	// token).
	Code int `json:"code"`
	// Message is the API's human-readable message.
	Message string `json:"message"`
}

// Error returns the API's error type and message.
func (e *GraphError) Error() string {
	return fmt.Sprintf("meta: HTTP %d: %s %d: %s", e.Status, e.Type, e.Code, e.Message)
}

func me(ctx context.Context, sc *component.Context, base string) (any, error) {
	conn, err := sc.Connection("connection")
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/me?fields=id,name", nil)
	if err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	resp, err := conn.HTTPClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error GraphError `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error.Code != 0 {
			e.Error.Status = resp.StatusCode
			if e.Error.Code == 190 { // OAuthException: invalid or expired token
				return nil, component.ConnectionError(conn, &e.Error)
			}
			return nil, &e.Error
		}
		return nil, fmt.Errorf("meta: HTTP %d", resp.StatusCode)
	}
	var u User
	if err := json.Unmarshal(body, &u); err != nil {
		return nil, fmt.Errorf("meta: answer is not the expected JSON: %w", err)
	}
	return u, nil
}
