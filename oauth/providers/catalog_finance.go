package providers

import "github.com/connkit/connkit/connection"

// financeEntries are accounting, payments and commerce providers.
func financeEntries() []Provider {
	return []Provider{
		{
			Key:        "quickbooks",
			Name:       "QuickBooks Online",
			Category:   CategoryFinance,
			DocsURL:    "https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0",
			APIBaseURL: "https://quickbooks.api.intuit.com",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL:   "https://appcenter.intuit.com/connect/oauth2",
				TokenURL:       "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
				Scopes:         []string{"com.intuit.quickbooks.accounting"},
				PKCE:           connection.PKCEOff,
				ClientAuth:     connection.ClientAuthBasic,
				CallbackParams: []string{"realmId"},
			}),
			RotatesRefreshTokens: true,
			Notes: []string{
				"the company id comes only as the realmId callback parameter: API paths need it",
				"the refresh token changes about once a day; the previous one stops working",
				"sandbox companies use sandbox-quickbooks.api.intuit.com",
				"revocation takes a JSON body, not RFC 7009's form: not declared",
			},
		},
		{
			Key:        "xero",
			Name:       "Xero",
			Category:   CategoryFinance,
			DocsURL:    "https://developer.xero.com/documentation/guides/oauth2/auth-flow",
			APIBaseURL: "https://api.xero.com",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL: "https://login.xero.com/identity/connect/authorize",
				TokenURL:     "https://identity.xero.com/connect/token",
				RevokeURL:    "https://identity.xero.com/connect/revocation",
				Scopes:       []string{"openid", "profile", "email", "offline_access"},
				ClientAuth:   connection.ClientAuthBasic,
			}),
			RotatesRefreshTokens: true,
			Notes: []string{
				"offline_access is needed for a refresh token",
				"find the organisation's tenant id with GET /connections and send it as the xero-tenant-id header",
			},
		},
		{
			Key:        "stripe-connect",
			Name:       "Stripe Connect",
			Category:   CategoryCommerce,
			DocsURL:    "https://docs.stripe.com/connect/oauth-reference",
			APIBaseURL: "https://api.stripe.com/v1",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL:         "https://connect.stripe.com/oauth/authorize",
				TokenURL:             "https://connect.stripe.com/oauth/token",
				Scopes:               []string{"read_write"},
				PKCE:                 connection.PKCEOff,
				ClientAuth:           connection.ClientAuthBody,
				DefaultTokenLifetime: LongLived,
				TokenResponseFields:  []string{"stripe_user_id", "livemode"},
			}),
			Notes: []string{
				"the client secret is the platform's secret API key",
				"stripe_user_id is the connected account; deauthorize with POST /oauth/deauthorize",
			},
		},
		{
			Key:        "paypal",
			Name:       "PayPal",
			Category:   CategoryCommerce,
			DocsURL:    "https://developer.paypal.com/api/rest/authentication/",
			APIBaseURL: "https://api-m.paypal.com",
			Type: oauth2(connection.OAuth2{
				Grant:      connection.GrantClientCredentials,
				TokenURL:   "https://api-m.paypal.com/v1/oauth2/token",
				ClientAuth: connection.ClientAuthBasic,
			}),
			Notes: []string{"the sandbox uses api-m.sandbox.paypal.com: override the URLs"},
		},
		{
			Key:        "shopify",
			Name:       "Shopify",
			Category:   CategoryCommerce,
			DocsURL:    "https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant",
			APIBaseURL: "https://{shop}.myshopify.com/admin/api",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL:         "https://{shop}.myshopify.com/admin/oauth/authorize",
				TokenURL:             "https://{shop}.myshopify.com/admin/oauth/access_token",
				Scopes:               []string{"read_products"},
				ScopeSeparator:       ",",
				PKCE:                 connection.PKCEOff,
				ClientAuth:           connection.ClientAuthBody,
				DefaultTokenLifetime: LongLived,
			}, tenant("shop", "Shop", "acme", "The store's myshopify.com name: acme for acme.myshopify.com.")),
			Notes: []string{
				"API calls authenticate with the X-Shopify-Access-Token header, not Authorization: Bearer",
				"offline tokens do not expire; Shopify's expiring offline tokens (with refresh tokens) are not requested",
				"verify the hmac parameter of Shopify's redirects to the app URL (outside the OAuth callback)",
			},
		},
	}
}
