package providers

import "github.com/connkit/connkit/connection"

// devEntries are developer tools, project tracking and identity providers.
func devEntries() []Provider {
	return []Provider{
		{
			Key:        "github",
			Name:       "GitHub (OAuth app)",
			Category:   CategoryDev,
			DocsURL:    "https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps",
			APIBaseURL: "https://api.github.com",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL:         "https://github.com/login/oauth/authorize",
				TokenURL:             "https://github.com/login/oauth/access_token",
				Scopes:               []string{"read:user"},
				ClientAuth:           connection.ClientAuthBody,
				DefaultTokenLifetime: LongLived,
			}),
			Notes: []string{
				"errors come as HTTP 200 with an error member",
				"revoke with DELETE /applications/{client_id}/grant",
			},
		},
		{
			Key:        "github-app",
			Name:       "GitHub (GitHub App user token)",
			Category:   CategoryDev,
			DocsURL:    "https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app",
			APIBaseURL: "https://api.github.com",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL: "https://github.com/login/oauth/authorize",
				TokenURL:     "https://github.com/login/oauth/access_token",
				ClientAuth:   connection.ClientAuthBody,
			}),
			RotatesRefreshTokens: true,
			Notes: []string{
				"user tokens expire after 8 hours when the app opts in to expiring tokens; permissions come from the app, not scopes",
				"installation tokens (JWT-signed app requests) are not an OAuth flow and are not covered",
			},
		},
		{
			Key:        "gitlab",
			Name:       "GitLab",
			Category:   CategoryDev,
			DocsURL:    "https://docs.gitlab.com/api/oauth2/",
			APIBaseURL: "https://gitlab.com/api/v4",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL: "https://gitlab.com/oauth/authorize",
				TokenURL:     "https://gitlab.com/oauth/token",
				RevokeURL:    "https://gitlab.com/oauth/revoke",
				Scopes:       []string{"read_user"},
				ClientAuth:   connection.ClientAuthBody,
			}),
			RotatesRefreshTokens: true,
			Notes:                []string{"self-managed instances on their own domain need an override"},
		},
		{
			Key:        "bitbucket",
			Name:       "Bitbucket",
			Category:   CategoryDev,
			DocsURL:    "https://developer.atlassian.com/cloud/bitbucket/oauth-2/",
			APIBaseURL: "https://api.bitbucket.org/2.0",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL: "https://bitbucket.org/site/oauth2/authorize",
				TokenURL:     "https://bitbucket.org/site/oauth2/access_token",
				PKCE:         connection.PKCEOff,
				ClientAuth:   connection.ClientAuthBasic,
			}),
			Notes: []string{"scopes are set on the OAuth consumer, not requested"},
		},
		{
			Key:        "atlassian",
			Name:       "Atlassian (Jira, Confluence)",
			Category:   CategoryDev,
			DocsURL:    "https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/",
			APIBaseURL: "https://api.atlassian.com",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL:    "https://auth.atlassian.com/authorize",
				TokenURL:        "https://auth.atlassian.com/oauth/token",
				Scopes:          []string{"read:me", "offline_access"},
				PKCE:            connection.PKCEOff,
				ClientAuth:      connection.ClientAuthBody,
				AuthorizeParams: map[string]string{"audience": "api.atlassian.com", "prompt": "consent"},
			}),
			RotatesRefreshTokens: true,
			Notes: []string{
				"offline_access is needed for a refresh token",
				"find the site's cloudId with GET /oauth/token/accessible-resources; call /ex/jira/{cloudId}/..., not the site's own domain",
			},
		},
		{
			Key:        "linear",
			Name:       "Linear",
			Category:   CategoryDev,
			DocsURL:    "https://linear.app/developers/oauth-2-0-authentication",
			APIBaseURL: "https://api.linear.app",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL:   "https://linear.app/oauth/authorize",
				TokenURL:       "https://api.linear.app/oauth/token",
				Scopes:         []string{"read"},
				ScopeSeparator: ",",
				PKCE:           connection.PKCEOff,
				ClientAuth:     connection.ClientAuthBody,
			}),
			Notes: []string{
				"PKCE support and refresh token rotation not confirmed: PKCE off, rotation not assumed",
				"revocation (POST /oauth/revoke) not confirmed as RFC 7009: not declared",
			},
		},
		{
			Key:        "okta",
			Name:       "Okta",
			Category:   CategoryIdentity,
			DocsURL:    "https://developer.okta.com/docs/guides/implement-grant-type/authcode/main/",
			APIBaseURL: "https://{subdomain}.okta.com/api/v1",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL: "https://{subdomain}.okta.com/oauth2/v1/authorize",
				TokenURL:     "https://{subdomain}.okta.com/oauth2/v1/token",
				RevokeURL:    "https://{subdomain}.okta.com/oauth2/v1/revoke",
				Scopes:       []string{"openid", "profile", "email", "offline_access"},
				ClientAuth:   connection.ClientAuthBasic,
			}, tenant("subdomain", "Okta subdomain", "acme", "The org's subdomain: acme for acme.okta.com.")),
			Notes: []string{
				"uses the org authorization server (/oauth2/v1); a custom one (/oauth2/default/v1), oktapreview.com or a custom domain need an override",
				"refresh token rotation is a per-app setting in Okta; connkit keeps every refresh token returned",
			},
		},
	}
}
