// Package salesforce is an example component for the Salesforce REST API,
// connected with OAuth 2.0 (authorization code with PKCE).
//
// A Salesforce org's API lives at its own host, which the token response
// names in instance_url. The connection type keeps that field
// ([connection.OAuth2.TokenResponseFields]), so it is stored in the
// connection's metadata at CONNECT and after every refresh, and the step
// uses it as the API base. The type declares Salesforce's revocation
// endpoint, so DISCONNECT revokes the tokens at Salesforce.
//
// For a sandbox org, set the authorize and token URL fields to
// test.salesforce.com (in a connection template or a variable default).
package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
)

// Keys of the connection type's own fields and of its metadata.
const (
	FieldAPIVersion = "apiVersion"
	// MetaInstanceURL is the metadata key of the org's API base URL.
	MetaInstanceURL = "instance_url"
	// MetaIdentityURL is the metadata key of the user's identity URL.
	MetaIdentityURL = "id"
)

// DefaultAPIVersion is the REST API version the type defaults to.
const DefaultAPIVersion = "v62.0"

// Type returns the Salesforce connection type.
func Type() connection.Type {
	return connection.Type{
		Key:         "salesforce-oauth",
		Label:       "Salesforce",
		Description: "OAuth 2.0 access to a Salesforce org through a connected app.",
		Fields: []connection.Field{
			{Key: FieldAPIVersion, Label: "API Version", Required: true, Default: DefaultAPIVersion, Rule: "startswith=v"},
		},
		OAuth2: &connection.OAuth2{
			AuthorizeURL:        "https://login.salesforce.com/services/oauth2/authorize",
			TokenURL:            "https://login.salesforce.com/services/oauth2/token",
			RevokeURL:           "https://login.salesforce.com/services/oauth2/revoke",
			Scopes:              []string{"api", "refresh_token"},
			ClientAuth:          connection.ClientAuthBody,
			TokenResponseFields: []string{MetaInstanceURL, MetaIdentityURL},
		},
	}
}

// Component returns the Salesforce component.
func Component() component.Component {
	return component.Component{
		Key:         "salesforce",
		Label:       "Salesforce",
		Connections: []connection.Type{Type()},
		Actions: []component.Action{{
			Key:   "query",
			Label: "Run a SOQL query",
			Inputs: []component.Input{
				{Key: "connection", Label: "Salesforce connection", Connection: "salesforce-oauth"},
				{Key: "soql", Label: "SOQL query"},
			},
			Perform: Query,
		}},
	}
}

// DefaultQuery is the query the step runs when its soql input is empty.
const DefaultQuery = "SELECT Id, Name FROM Account ORDER BY Name LIMIT 10"

// Record is one record of a query result: its type, id and fields.
type Record struct {
	// Type is the sObject type, such as "Account".
	Type string `json:"type"`
	// ID is the record's 18-character Salesforce id.
	ID string `json:"id"`
	// Fields are the queried fields by name, as the API returned them
	// (without the "attributes" entry).
	Fields map[string]any `json:"fields"`
}

// QueryResult is the result of the query action.
type QueryResult struct {
	// TotalSize is the number of records the query matched, which can be
	// more than Records holds.
	TotalSize int `json:"totalSize"`
	// Records are the records returned.
	Records []Record `json:"records"`
}

// ErrNoInstanceURL: the connection's metadata has no usable instance_url,
// so it must be connected (again).
var ErrNoInstanceURL = errors.New("salesforce: the connection has no instance_url; connect it again")

// InstanceURL returns the org's API base URL from the connection's
// metadata.
func InstanceURL(conn *component.Conn) (string, error) {
	raw := conn.Metadata()[MetaInstanceURL]
	u, err := url.Parse(raw)
	if raw == "" || err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", ErrNoInstanceURL
	}
	return strings.TrimSuffix(raw, "/"), nil
}

// Query is the query action: it runs the soql input (or [DefaultQuery]) at
// the org's instance_url and returns a *QueryResult, following
// nextRecordsUrl for up to 10 pages.
func Query(ctx context.Context, sc *component.Context) (any, error) {
	conn, err := sc.Connection("connection")
	if err != nil {
		return nil, err
	}
	// A connection without a token fails here with a clear "not
	// connected" error, before its metadata is looked at.
	if _, err := conn.Token(ctx); err != nil {
		return nil, err
	}
	base, err := InstanceURL(conn)
	if err != nil {
		// The connection, not the step, is at fault: mark it red.
		return nil, component.ConnectionError(conn, err)
	}
	version, err := conn.Field(FieldAPIVersion)
	if err != nil {
		return nil, err
	}
	soql, _ := sc.Input("soql")
	q, _ := soql.(string)
	if strings.TrimSpace(q) == "" {
		q = DefaultQuery
	}
	next := "/services/data/" + version + "/query?q=" + url.QueryEscape(q)
	out := &QueryResult{Records: []Record{}}
	for page := 0; next != "" && page < 10; page++ {
		var resp struct {
			TotalSize      int               `json:"totalSize"`
			Done           bool              `json:"done"`
			NextRecordsURL string            `json:"nextRecordsUrl"`
			Records        []json.RawMessage `json:"records"`
		}
		if err := get(ctx, conn.HTTPClient(), base+next, &resp); err != nil {
			return nil, err
		}
		out.TotalSize = resp.TotalSize
		for _, raw := range resp.Records {
			r, err := decodeRecord(raw)
			if err != nil {
				return nil, err
			}
			out.Records = append(out.Records, r)
		}
		next = ""
		if !resp.Done && strings.HasPrefix(resp.NextRecordsURL, "/services/data/") {
			next = resp.NextRecordsURL
		}
	}
	return out, nil
}

func decodeRecord(raw json.RawMessage) (Record, error) {
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Record{}, fmt.Errorf("salesforce: record is not a JSON object: %w", err)
	}
	r := Record{Fields: fields}
	if attrs, ok := fields["attributes"].(map[string]any); ok {
		r.Type, _ = attrs["type"].(string)
		delete(fields, "attributes")
	}
	r.ID, _ = fields["Id"].(string)
	return r, nil
}

// get GETs u and decodes the JSON answer into out. Salesforce errors are a
// JSON array of {errorCode, message}.
func get(ctx context.Context, client *http.Client, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("salesforce: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("salesforce: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("salesforce: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var errs []struct {
			ErrorCode string `json:"errorCode"`
			Message   string `json:"message"`
		}
		if json.Unmarshal(body, &errs) == nil && len(errs) > 0 {
			return fmt.Errorf("salesforce: HTTP %d: %s: %s", resp.StatusCode, errs[0].ErrorCode, errs[0].Message)
		}
		return fmt.Errorf("salesforce: HTTP %d", resp.StatusCode)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("salesforce: answer is not the expected JSON: %w", err)
	}
	return nil
}
