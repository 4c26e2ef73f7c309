package providers

import "github.com/connkit/connkit/connection"

// marketingEntries are marketing, social and media providers.
func marketingEntries() []Provider {
	return []Provider{
		{
			Key:      "mailchimp",
			Name:     "Mailchimp",
			Category: CategoryMarketing,
			DocsURL:  "https://mailchimp.com/developer/marketing/guides/access-user-data-oauth-2/",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL:         "https://login.mailchimp.com/oauth2/authorize",
				TokenURL:             "https://login.mailchimp.com/oauth2/token",
				PKCE:                 connection.PKCEOff,
				ClientAuth:           connection.ClientAuthBody,
				DefaultTokenLifetime: LongLived,
			}),
			Notes: []string{"find the account's data center (api_endpoint) with GET https://login.mailchimp.com/oauth2/metadata", "there are no scopes"},
		},
		{
			Key:        "linkedin",
			Name:       "LinkedIn",
			Category:   CategoryMarketing,
			DocsURL:    "https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow",
			APIBaseURL: "https://api.linkedin.com",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL: "https://www.linkedin.com/oauth/v2/authorization",
				TokenURL:     "https://www.linkedin.com/oauth/v2/accessToken",
				RevokeURL:    "https://www.linkedin.com/oauth/v2/revoke",
				Scopes:       []string{"openid", "profile", "email"},
				PKCE:         connection.PKCEOff,
				ClientAuth:   connection.ClientAuthBody,
			}),
			Notes: []string{"access tokens last 60 days; refresh tokens are issued only to approved partners"},
		},
		{
			Key:        "twitter",
			Name:       "X (Twitter)",
			Category:   CategoryMarketing,
			DocsURL:    "https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code",
			APIBaseURL: "https://api.x.com/2",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL: "https://x.com/i/oauth2/authorize",
				TokenURL:     "https://api.x.com/2/oauth2/token",
				RevokeURL:    "https://api.x.com/2/oauth2/revoke",
				Scopes:       []string{"tweet.read", "users.read", "offline.access"},
				ClientAuth:   connection.ClientAuthBasic,
			}),
			Notes: []string{
				"PKCE is required; offline.access is needed for a refresh token; access tokens last 2 hours",
				"refresh token rotation not confirmed: not assumed (connkit keeps any refresh token returned)",
			},
		},
		{
			Key:        "spotify",
			Name:       "Spotify",
			Category:   CategoryMarketing,
			DocsURL:    "https://developer.spotify.com/documentation/web-api/tutorials/code-flow",
			APIBaseURL: "https://api.spotify.com/v1",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL: "https://accounts.spotify.com/authorize",
				TokenURL:     "https://accounts.spotify.com/api/token",
				Scopes:       []string{"user-read-email"},
				ClientAuth:   connection.ClientAuthBasic,
			}),
			Notes: []string{"a refresh may return a new refresh token (connkit keeps it); whether the old one then stops working is not documented"},
		},
		{
			Key:        "reddit",
			Name:       "Reddit",
			Category:   CategoryMarketing,
			DocsURL:    "https://github.com/reddit-archive/reddit/wiki/OAuth2",
			APIBaseURL: "https://oauth.reddit.com",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL:    "https://www.reddit.com/api/v1/authorize",
				TokenURL:        "https://www.reddit.com/api/v1/access_token",
				RevokeURL:       "https://www.reddit.com/api/v1/revoke_token",
				Scopes:          []string{"identity"},
				PKCE:            connection.PKCEOff,
				ClientAuth:      connection.ClientAuthBasic,
				AuthorizeParams: map[string]string{"duration": "permanent"},
			}),
			Notes: []string{"without duration=permanent there is no refresh token", "API calls need a descriptive User-Agent"},
		},
		{
			Key:        "twitch",
			Name:       "Twitch",
			Category:   CategoryMarketing,
			DocsURL:    "https://dev.twitch.tv/docs/authentication/getting-tokens-oauth/",
			APIBaseURL: "https://api.twitch.tv/helix",
			Type: oauth2(connection.OAuth2{
				AuthorizeURL: "https://id.twitch.tv/oauth2/authorize",
				TokenURL:     "https://id.twitch.tv/oauth2/token",
				RevokeURL:    "https://id.twitch.tv/oauth2/revoke",
				Scopes:       []string{"user:read:email"},
				PKCE:         connection.PKCEOff,
				ClientAuth:   connection.ClientAuthBody,
			}),
			Notes: []string{"API calls need a Client-Id header besides the token"},
		},
	}
}
