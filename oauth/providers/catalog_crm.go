package providers

import (
	"time"

	"github.com/connkit/connkit/connection"
)

// salesforceLifetime is assumed for Salesforce access tokens: the token
// response has no expires_in, and an org's session timeout (which the token
// follows) is two hours unless its admin changed it.
const salesforceLifetime = 2 * time.Hour

// salesforce returns the OAuth 2.0 settings of Salesforce's web server flow
// against the given login host (a URL template for My Domain).
func salesforce(base string) connection.OAuth2 {
	return connection.OAuth2{
		AuthorizeURL:         base + "/services/oauth2/authorize",
		TokenURL:             base + "/services/oauth2/token",
		RevokeURL:            base + "/services/oauth2/revoke",
		Scopes:               []string{"api", "refresh_token"},
		ClientAuth:           connection.ClientAuthBody,
		DefaultTokenLifetime: salesforceLifetime,
		TokenResponseFields:  []string{"instance_url", "id"},
	}
}

func salesforceNotes(extra ...string) []string {
	return append(extra,
		"call the API at the instance_url kept in the connection's metadata",
		"the assumed 2h lifetime is the default session timeout; an org with a shorter one answers 401 earlier, which makes connkit refresh",
		"refresh tokens rotate only when the connected app enables refresh token rotation; not assumed",
	)
}

// crmEntries are CRM, customer support and IT service providers.
func crmEntries() []Provider {
	return []Provider{
		{
			Key:      "salesforce",
			Name:     "Salesforce",
			Category: CategoryCRM,
			DocsURL:  "https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm",
			Type:     oauth2(salesforce("https://login.salesforce.com")),
			Notes:    salesforceNotes(),
		},
		{
			Key:      "salesforce-sandbox",
			Name:     "Salesforce (sandbox)",
			Category: CategoryCRM,
			DocsURL:  "https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm",
			Type:     oauth2(salesforce("https://test.salesforce.com")),
			Notes:    salesforceNotes(),
		},
		{
			Key:      "salesforce-mydomain",
			Name:     "Salesforce (My Domain)",
			Category: CategoryCRM,
			DocsURL:  "https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_endpoints.htm",
			Type: oauth2(salesforce("https://{myDomain}.my.salesforce.com"),
				tenant("myDomain", "My Domain name", "acme", "The My Domain name of the org: acme for acme.my.salesforce.com.")),
			Notes: salesforceNotes("sandbox My Domains (acme--dev.sandbox.my.salesforce.com) need an override"),
		},
		{
			Key:        "hubspot",
			Name:       "HubSpot",
			Category:   CategoryCRM,
			DocsURL:    "https://developers.hubspot.com/docs/api/oauth-quickstart-guide",
			APIBaseURL: "https://api.hubapi.com",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL: "https://app.hubspot.com/oauth/authorize",
				TokenURL:     "https://api.hubapi.com/oauth/v1/token",
				Scopes:       []string{"oauth"},
				PKCE:         connection.PKCEOff,
				ClientAuth:   connection.ClientAuthBody,
			}),
			Notes: []string{"revoke with DELETE /oauth/v1/refresh-tokens/{token}"},
		},
		{
			Key:      "pipedrive",
			Name:     "Pipedrive",
			Category: CategoryCRM,
			DocsURL:  "https://pipedrive.readme.io/docs/marketplace-oauth-authorization",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL:        "https://oauth.pipedrive.com/oauth/authorize",
				TokenURL:            "https://oauth.pipedrive.com/oauth/token",
				PKCE:                connection.PKCEOff,
				ClientAuth:          connection.ClientAuthBasic,
				TokenResponseFields: []string{"api_domain"},
			}),
			Notes: []string{"call the API at the api_domain kept in the connection's metadata", "scopes are set on the app, not requested"},
		},
		{
			Key:        "zoho",
			Name:       "Zoho",
			Category:   CategoryCRM,
			DocsURL:    "https://www.zoho.com/accounts/protocol/oauth.html",
			APIBaseURL: "https://www.zohoapis.{dataCenter}",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL:        "https://accounts.zoho.{dataCenter}/oauth/v2/auth",
				TokenURL:            "https://accounts.zoho.{dataCenter}/oauth/v2/token",
				Scopes:              []string{"ZohoCRM.modules.ALL"},
				ScopeSeparator:      ",",
				PKCE:                connection.PKCEOff,
				ClientAuth:          connection.ClientAuthBody,
				AuthorizeParams:     map[string]string{"access_type": "offline", "prompt": "consent"},
				TokenResponseFields: []string{"api_domain"},
				CallbackParams:      []string{"location", "accounts-server"},
			}, connection.Field{
				Key: "dataCenter", Label: "Data center", Kind: connection.KindChoice, Required: true, Default: "com",
				Choices:  []string{"com", "eu", "in", "jp"},
				Comments: "The top-level domain of the account's Zoho data center: com (US), eu, in or jp.",
			}),
			Notes: []string{
				"data centers with two-label domains (com.au, com.cn) or another host (zohocloud.ca) need an override",
				"a refresh token is issued only on the first consent; prompt=consent asks again",
			},
		},
		{
			Key:        "zendesk",
			Name:       "Zendesk",
			Category:   CategoryCRM,
			DocsURL:    "https://developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens/",
			APIBaseURL: "https://{subdomain}.zendesk.com/api/v2",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL: "https://{subdomain}.zendesk.com/oauth/authorizations/new",
				TokenURL:     "https://{subdomain}.zendesk.com/oauth/tokens",
				Scopes:       []string{"read"},
				ClientAuth:   connection.ClientAuthBody,
			}, tenant("subdomain", "Zendesk subdomain", "acme", "The account's subdomain: acme for acme.zendesk.com.")),
			Notes: []string{"revoke with DELETE /api/v2/oauth/tokens/current"},
		},
		{
			Key:        "intercom",
			Name:       "Intercom",
			Category:   CategoryCRM,
			DocsURL:    "https://developers.intercom.com/docs/build-an-integration/learn-more/authentication/setting-up-oauth",
			APIBaseURL: "https://api.intercom.io",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL:         "https://app.intercom.com/oauth",
				TokenURL:             "https://api.intercom.io/auth/eagle/token",
				PKCE:                 connection.PKCEOff,
				ClientAuth:           connection.ClientAuthBody,
				DefaultTokenLifetime: LongLived,
			}),
			Notes: []string{"workspaces hosted in the EU or Australia use app.eu/app.au and api.eu/api.au hosts: override the URLs", "permissions are set on the app, not requested"},
		},
		{
			Key:        "freshdesk",
			Name:       "Freshdesk",
			Category:   CategoryCRM,
			DocsURL:    "https://developers.freshdesk.com/api/#authentication",
			APIBaseURL: "https://{subdomain}.freshdesk.com/api/v2",
			Type: connection.Type{
				Fields: []connection.Field{
					tenant("subdomain", "Freshdesk subdomain", "acme", "The helpdesk's subdomain: acme for acme.freshdesk.com."),
					{Key: FieldAPIKey, Label: "API key", Kind: connection.KindPassword, Required: true, Comments: "Profile settings > View API key."},
					{Key: FieldPassword, Label: "Password", Default: "X", Comments: "Freshdesk ignores it; any value works with an API key."},
				},
				Auth: connection.Auth{Method: connection.AuthBasic, UsernameField: FieldAPIKey, PasswordField: FieldPassword},
			},
			Notes: []string{"the API key is the Basic user name"},
		},
		{
			Key:        "servicenow",
			Name:       "ServiceNow",
			Category:   CategoryCRM,
			DocsURL:    "https://www.servicenow.com/docs/bundle/zurich-platform-security/page/administer/security/concept/c_OAuthApplications.html",
			APIBaseURL: "https://{instance}.service-now.com/api",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL: "https://{instance}.service-now.com/oauth_auth.do",
				TokenURL:     "https://{instance}.service-now.com/oauth_token.do",
				Scopes:       []string{"useraccount"},
				PKCE:         connection.PKCEOff,
				ClientAuth:   connection.ClientAuthBody,
			}, tenant("instance", "Instance name", "acme", "The instance name: acme for acme.service-now.com.")),
			Notes: []string{"instances on custom domains need an override"},
		},
	}
}
