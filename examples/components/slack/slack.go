// Package slack is an example component for the Slack Web API, connected
// with OAuth 2.0 (Slack's "OAuth v2" for apps).
//
// Slack differs from most providers in three ways this component shows:
//
//   - Scopes are comma-separated in the authorize request, so the type sets
//     [connection.OAuth2.ScopeSeparator] to ",".
//   - Bot tokens do not expire unless the app turns on token rotation, so
//     the token response has no expires_in; the type sets a long
//     DefaultTokenLifetime. With rotation on, Slack sends expires_in and a
//     refresh token and connkit refreshes as usual.
//   - The Web API answers HTTP 200 with {"ok": false, "error": "..."} for
//     bad tokens. The step turns the errors that mean "this connection no
//     longer works" into connection errors ([component.ConnectionError]),
//     which turn the connection red.
//
// Slack's auth.revoke is not an RFC 7009 revocation endpoint, so the type
// declares none: DISCONNECT deletes the tokens locally.
package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
)

// DefaultBaseURL is the Web API base.
const DefaultBaseURL = "https://slack.com/api"

// Options configure the component. The zero value talks to Slack.
type Options struct {
	// BaseURL is the Web API base; empty means DefaultBaseURL.
	BaseURL string
}

// Type returns the Slack connection type.
func Type() connection.Type {
	return connection.Type{
		Key:         "slack-oauth",
		Label:       "Slack",
		Description: "A Slack app installed in a workspace (bot token).",
		OAuth2: &connection.OAuth2{
			AuthorizeURL:   "https://slack.com/oauth/v2/authorize",
			TokenURL:       "https://slack.com/api/oauth.v2.access",
			Scopes:         []string{"channels:read", "chat:write"},
			ScopeSeparator: ",",
			// Bot tokens without rotation never expire; a year is the
			// longest connkit will trust one without asking again.
			DefaultTokenLifetime: 365 * 24 * time.Hour,
			TokenResponseFields:  []string{"bot_user_id", "app_id"},
		},
	}
}

// Component returns the Slack component.
func Component(opts Options) component.Component {
	base := strings.TrimSuffix(opts.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	return component.Component{
		Key:         "slack",
		Label:       "Slack",
		Connections: []connection.Type{Type()},
		Actions: []component.Action{{
			Key:    "list-channels",
			Label:  "List channels",
			Inputs: []component.Input{{Key: "connection", Label: "Slack connection", Connection: "slack-oauth"}},
			Perform: func(ctx context.Context, sc *component.Context) (any, error) {
				return listChannels(ctx, sc, base)
			},
		}},
	}
}

// Channel is one public channel.
type Channel struct {
	// ID is the channel's id, such as "C0123456789".
	ID string `json:"id"`
	// Name is the channel's name, without the leading "#".
	Name string `json:"name"`
	// NumMembers is the number of members of the channel.
	NumMembers int `json:"num_members"`
}

// APIError is a Web API answer with "ok": false.
type APIError struct {
	// Method is the Web API method called, such as "conversations.list".
	Method string
	// Code is Slack's error, such as "invalid_auth".
	Code string
}

// Error names the Slack method and its error code.
func (e *APIError) Error() string { return "slack: " + e.Method + ": " + e.Code }

// connectionErrors are the Web API errors that mean the connection itself
// no longer works: the customer must connect again.
var connectionErrors = []string{
	"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
	"missing_scope", "team_access_not_granted", "ekm_access_denied",
}

// IsConnectionError reports whether a Web API error code means the
// connection must be connected again.
func IsConnectionError(code string) bool { return slices.Contains(connectionErrors, code) }

func listChannels(ctx context.Context, sc *component.Context, base string) (any, error) {
	conn, err := sc.Connection("connection")
	if err != nil {
		return nil, err
	}
	out := []Channel{}
	cursor := ""
	for range 50 {
		q := url.Values{"limit": {"200"}, "exclude_archived": {"true"}, "types": {"public_channel"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var resp struct {
			OK       bool      `json:"ok"`
			Error    string    `json:"error"`
			Channels []Channel `json:"channels"`
			Meta     struct {
				NextCursor string `json:"next_cursor"`
			} `json:"response_metadata"`
		}
		if err := call(ctx, conn.HTTPClient(), base+"/conversations.list?"+q.Encode(), &resp); err != nil {
			return nil, err
		}
		if !resp.OK {
			apiErr := &APIError{Method: "conversations.list", Code: resp.Error}
			if IsConnectionError(resp.Error) {
				return nil, component.ConnectionError(conn, apiErr)
			}
			return nil, apiErr
		}
		out = append(out, resp.Channels...)
		if cursor = resp.Meta.NextCursor; cursor == "" {
			return out, nil
		}
	}
	return out, nil
}

func call(ctx context.Context, client *http.Client, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("slack: HTTP %d", resp.StatusCode)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("slack: answer is not the expected JSON: %w", err)
	}
	return nil
}
