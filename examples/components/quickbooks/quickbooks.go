// Package quickbooks is an example component for the QuickBooks Online
// Accounting API, connected with OAuth 2.0.
//
// Intuit names the company a customer authorized in the realmId parameter
// of the OAuth 2.0 callback, not in the token response. The connection type
// keeps that parameter ([connection.OAuth2.CallbackParams]) in the
// connection's metadata, and the step puts it in the API path. The type
// declares Intuit's revocation endpoint, so DISCONNECT revokes the tokens.
package quickbooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
)

// MetaRealmID is the metadata key of the authorized company's id.
const MetaRealmID = "realmId"

// The API bases of Intuit's environments.
const (
	ProductionBaseURL = "https://quickbooks.api.intuit.com"
	SandboxBaseURL    = "https://sandbox-quickbooks.api.intuit.com"
)

// Options configure the component. The zero value uses production.
type Options struct {
	// BaseURL is the Accounting API base; empty means ProductionBaseURL.
	BaseURL string
}

// Type returns the QuickBooks connection type.
func Type() connection.Type {
	return connection.Type{
		Key:         "quickbooks-oauth",
		Label:       "QuickBooks Online",
		Description: "OAuth 2.0 access to one QuickBooks Online company.",
		OAuth2: &connection.OAuth2{
			AuthorizeURL:   "https://appcenter.intuit.com/connect/oauth2",
			TokenURL:       "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
			RevokeURL:      "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
			Scopes:         []string{"com.intuit.quickbooks.accounting"},
			ClientAuth:     connection.ClientAuthBasic,
			CallbackParams: []string{MetaRealmID},
		},
	}
}

// Component returns the QuickBooks component.
func Component(opts Options) component.Component {
	base := strings.TrimSuffix(opts.BaseURL, "/")
	if base == "" {
		base = ProductionBaseURL
	}
	return component.Component{
		Key:         "quickbooks",
		Label:       "QuickBooks Online",
		Connections: []connection.Type{Type()},
		Actions: []component.Action{{
			Key:    "company-info",
			Label:  "Get company info",
			Inputs: []component.Input{{Key: "connection", Label: "QuickBooks connection", Connection: "quickbooks-oauth"}},
			Perform: func(ctx context.Context, sc *component.Context) (any, error) {
				return companyInfo(ctx, sc, base)
			},
		}},
	}
}

// CompanyInfo is the part of the CompanyInfo entity the step returns.
type CompanyInfo struct {
	// ID is the entity's id (QuickBooks' "Id"), not the realm id.
	ID string `json:"Id"`
	// CompanyName is the name the company does business under.
	CompanyName string `json:"CompanyName"`
	// LegalName is the company's registered legal name.
	LegalName string `json:"LegalName"`
	// Country is the company's country, as QuickBooks reports it ("US").
	Country string `json:"Country"`
}

// ErrNoRealm: the connection's metadata has no realmId, so it must be
// connected (again).
var ErrNoRealm = errors.New("quickbooks: the connection has no realmId; connect it again")

var realmPattern = regexp.MustCompile(`^[0-9]{1,32}$`)

// RealmID returns the authorized company's id from the connection's
// metadata.
func RealmID(conn *component.Conn) (string, error) {
	id := conn.Metadata()[MetaRealmID]
	if !realmPattern.MatchString(id) {
		return "", ErrNoRealm
	}
	return id, nil
}

func companyInfo(ctx context.Context, sc *component.Context, base string) (any, error) {
	conn, err := sc.Connection("connection")
	if err != nil {
		return nil, err
	}
	if _, err := conn.Token(ctx); err != nil {
		return nil, err
	}
	realm, err := RealmID(conn)
	if err != nil {
		return nil, component.ConnectionError(conn, err)
	}
	u := base + "/v3/company/" + url.PathEscape(realm) + "/companyinfo/" + url.PathEscape(realm) + "?minorversion=75"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("quickbooks: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := conn.HTTPClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("quickbooks: company info: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("quickbooks: company info: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var fault struct {
			Fault struct {
				Error []struct {
					Message string `json:"Message"`
					Code    string `json:"code"`
				} `json:"Error"`
			} `json:"Fault"`
		}
		if json.Unmarshal(body, &fault) == nil && len(fault.Fault.Error) > 0 {
			e := fault.Fault.Error[0]
			return nil, fmt.Errorf("quickbooks: company info: HTTP %d: %s (code %s)", resp.StatusCode, e.Message, e.Code)
		}
		return nil, fmt.Errorf("quickbooks: company info: HTTP %d", resp.StatusCode)
	}
	var out struct {
		CompanyInfo CompanyInfo `json:"CompanyInfo"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("quickbooks: company info: answer is not the expected JSON: %w", err)
	}
	return out.CompanyInfo, nil
}
