package oauth_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/template"
)

// staticIssuer is the issuer of the metadata given in advance; its
// endpoints are the fake provider's (made with oauthtest.NewUnstarted).
const staticIssuer = "https://issuer.acme.example"

// staticMetadata is staticIssuer's metadata naming tokenPath as the token
// endpoint of the fake provider.
func staticMetadata(tokenPath string) map[string]*oauth.Metadata {
	return map[string]*oauth.Metadata{staticIssuer: {
		Issuer:                staticIssuer,
		AuthorizationEndpoint: oauthtest.UnstartedURL + oauthtest.PathAuthorize,
		TokenEndpoint:         oauthtest.UnstartedURL + tokenPath,
		RevocationEndpoint:    oauthtest.UnstartedURL + oauthtest.PathRevoke,
	}}
}

// discoveryCases are the two ways a host tells the Flow and the Tokens
// where a connection's authorization server metadata is: discovered at the
// fake provider's metadata endpoint, or given in advance.
var discoveryCases = []struct {
	name     string
	server   oauthtest.Config
	issuer   func(*template.Resolution) string
	metadata map[string]*oauth.Metadata
	// fetches is how often the metadata endpoint is called in all: once
	// by the Flow and once by the Tokens that has the options when
	// discovered, never when given.
	fetches int
}{
	{
		name:    "discovered",
		server:  oauthtest.Config{IssParameter: true},
		issuer:  func(*template.Resolution) string { return oauthtest.UnstartedURL },
		fetches: 2,
	},
	{
		name:     "static",
		issuer:   oauth.IssuerByType(map[string]string{"acme": staticIssuer}),
		metadata: staticMetadata(oauthtest.PathToken),
	},
}

// noEndpointURLs clears the type's endpoint URLs: only metadata gives them.
func noEndpointURLs(o *connection.OAuth2) { o.AuthorizeURL, o.TokenURL, o.RevokeURL = "", "", "" }

// requiredURLFields are the required URL fields, without defaults, of a
// type that declares no URLs (as connection.Declare demands): discovery
// fills them. The authorize URL is left out for client credentials.
func requiredURLFields(authorize bool) []connection.Field {
	fs := []connection.Field{{Key: connection.FieldTokenURL, Kind: connection.KindURL, Required: true}}
	if authorize {
		fs = append(fs, connection.Field{Key: connection.FieldAuthorizeURL, Kind: connection.KindURL, Required: true})
	}
	return fs
}

// discoveryTokens builds a Tokens over fx's store, keyring and template
// manager, reaching fx's provider; edit may set its discovery options.
func discoveryTokens(t *testing.T, fx *flowFx, edit func(c *oauth.TokensConfig)) *oauth.Tokens {
	t.Helper()
	cfg := oauth.TokensConfig{
		Store:      fx.store,
		Sealer:     fx.seal,
		Resolver:   fx.mgr,
		HTTPClient: oauth.NewHTTPClient(oauth.HTTPClientConfig{Transport: fx.srv.Transport()}),
	}
	if edit != nil {
		edit(&cfg)
	}
	tk, err := oauth.NewTokens(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// TestTokensRefreshWithDiscoveredTokenURL: a connection whose type declares
// no endpoint URLs gets them from its issuer's metadata at CONNECT, and a
// Tokens configured with the same Issuer (and Metadata) refreshes it at the
// token URL the metadata names, storing the new set. A Tokens without the
// options cannot build the endpoint and refuses with ErrMisconfigured,
// sending nothing: the gap the options close.
func TestTokensRefreshWithDiscoveredTokenURL(t *testing.T) {
	for _, tc := range discoveryCases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				fx := newFlowFx(t, flowFxOptions{
					server: tc.server,
					oauth2: noEndpointURLs,
					fields: requiredURLFields(true),
					flow:   func(c *oauth.FlowConfig) { c.Issuer, c.Metadata = tc.issuer, tc.metadata },
				})
				fx.connect(fx.ref)
				connected := fx.token(fx.ref)
				if connected.RefreshToken.IsZero() {
					t.Fatal("CONNECT stored no refresh token")
				}
				calls := fx.tokenCalls()

				bare := discoveryTokens(t, fx, nil)
				if _, err := bare.Source(fx.ref).Invalidate(ctx, connected.AccessToken); !errors.Is(err, oauth.ErrMisconfigured) {
					t.Errorf("refresh without the discovery options = %v, want ErrMisconfigured", err)
				}
				closeTokens(t, bare)
				if n := fx.tokenCalls(); n != calls {
					t.Fatalf("refused refresh made %d token calls", n-calls)
				}

				tk := discoveryTokens(t, fx, func(c *oauth.TokensConfig) { c.Issuer, c.Metadata = tc.issuer, tc.metadata })
				defer closeTokens(t, tk)
				got, err := tk.Source(fx.ref).Invalidate(ctx, connected.AccessToken)
				if err != nil {
					t.Fatalf("refresh with the discovery options: %v", err)
				}
				if got.AccessToken.Equal(connected.AccessToken) || !fx.srv.Active(got.AccessToken.Reveal()) {
					t.Error("refresh did not hand out a new access token the provider issued")
				}
				if n := fx.tokenCalls(); n != calls+1 {
					t.Errorf("refresh made %d token calls, want 1", n-calls)
				}
				if stored := fx.token(fx.ref); !stored.AccessToken.Equal(got.AccessToken) {
					t.Error("the refreshed token set was not stored")
				}
				if h := fx.conn(fx.ref).Health; h.Status == connection.StatusError {
					t.Errorf("health after a successful refresh = %+v", h)
				}
				// A further refresh reuses the Tokens' metadata.
				if _, err := tk.Source(fx.ref).Invalidate(ctx, got.AccessToken); err != nil {
					t.Errorf("second refresh: %v", err)
				}
				if n := fx.srv.Calls(oauthtest.PathMetadata); n != tc.fetches {
					t.Errorf("metadata fetched %d times, want %d", n, tc.fetches)
				}
			})
		})
	}
}

// TestTokensDiscoveredTokenURLStaysPinned: metadata-filled URLs are pinned
// like any other: when the Tokens' metadata names another token endpoint
// than the one the connection was connected at, the refresh is refused
// with an *EndpointChangedError and nothing is sent.
func TestTokensDiscoveredTokenURLStaysPinned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		issuer := oauth.IssuerByType(map[string]string{"acme": staticIssuer})
		fx := newFlowFx(t, flowFxOptions{
			oauth2: noEndpointURLs,
			fields: requiredURLFields(true),
			flow: func(c *oauth.FlowConfig) {
				c.Issuer, c.Metadata = issuer, staticMetadata(oauthtest.PathToken)
			},
		})
		fx.connect(fx.ref)
		connected := fx.token(fx.ref)
		calls := fx.tokenCalls()
		tk := discoveryTokens(t, fx, func(c *oauth.TokensConfig) {
			c.Issuer, c.Metadata = issuer, staticMetadata("/moved/token")
		})
		defer closeTokens(t, tk)
		_, err := tk.Source(fx.ref).Invalidate(ctx, connected.AccessToken)
		ec, ok := errors.AsType[*oauth.EndpointChangedError](err)
		if !ok || ec.Field != connection.FieldTokenURL || ec.Current != oauthtest.UnstartedURL+"/moved/token" {
			t.Fatalf("refresh against moved metadata = %v, want an EndpointChangedError for the token URL", err)
		}
		if n := fx.tokenCalls(); n != calls {
			t.Errorf("refused refresh made %d token calls", n-calls)
		}
	})
}

// TestTokensClientCredentialsWithDiscoveredTokenURL: a client credentials
// connection whose token URL comes only from metadata is connected by the
// Flow and renewed by a Tokens with the same discovery options; without
// them the renewal is refused before anything is sent.
func TestTokensClientCredentialsWithDiscoveredTokenURL(t *testing.T) {
	for _, tc := range discoveryCases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				fx := newFlowFx(t, flowFxOptions{
					server: tc.server,
					oauth2: func(o *connection.OAuth2) {
						noEndpointURLs(o)
						o.Grant = connection.GrantClientCredentials
					},
					fields: requiredURLFields(false),
					flow:   func(c *oauth.FlowConfig) { c.Issuer, c.Metadata = tc.issuer, tc.metadata },
				})
				if err := fx.flow.ConnectClientCredentials(ctx, fx.ref); err != nil {
					t.Fatalf("ConnectClientCredentials: %v", err)
				}
				first := fx.token(fx.ref)
				grants := func() int { return fx.srv.GrantCalls(oauthtest.GrantClientCredentials) }
				if grants() != 1 {
					t.Fatalf("CONNECT made %d client credentials grants", grants())
				}

				bare := discoveryTokens(t, fx, nil)
				if _, err := bare.Source(fx.ref).Invalidate(ctx, first.AccessToken); !errors.Is(err, oauth.ErrMisconfigured) {
					t.Errorf("renewal without the discovery options = %v, want ErrMisconfigured", err)
				}
				closeTokens(t, bare)
				if grants() != 1 {
					t.Fatalf("refused renewal made a grant")
				}

				tk := discoveryTokens(t, fx, func(c *oauth.TokensConfig) { c.Issuer, c.Metadata = tc.issuer, tc.metadata })
				defer closeTokens(t, tk)
				got, err := tk.Source(fx.ref).Invalidate(ctx, first.AccessToken)
				if err != nil {
					t.Fatalf("renewal with the discovery options: %v", err)
				}
				if got.AccessToken.Equal(first.AccessToken) || !fx.srv.Active(got.AccessToken.Reveal()) || grants() != 2 {
					t.Errorf("renewal: new token %v, active %v, %d grants", !got.AccessToken.Equal(first.AccessToken),
						fx.srv.Active(got.AccessToken.Reveal()), grants())
				}
				if stored := fx.token(fx.ref); !stored.AccessToken.Equal(got.AccessToken) {
					t.Error("the renewed token set was not stored")
				}
			})
		})
	}
}

// TestTokensConfigMetadataChecked: TokensConfig.Metadata is checked as
// FlowConfig.Metadata is: a nil document or one naming another issuer than
// its key is a configuration error.
func TestTokensConfigMetadataChecked(t *testing.T) {
	fx := newFlowFx(t, flowFxOptions{})
	for name, md := range map[string]map[string]*oauth.Metadata{
		"nil":        {staticIssuer: nil},
		"mismatch":   {staticIssuer: {Issuer: "https://other.example", TokenEndpoint: "https://other.example/token"}},
		"no-token":   {staticIssuer: {Issuer: staticIssuer}},
		"bad-scheme": {staticIssuer: {Issuer: staticIssuer, TokenEndpoint: "ftp://issuer.acme.example/token"}},
	} {
		_, err := oauth.NewTokens(oauth.TokensConfig{Store: fx.store, Sealer: fx.seal, Resolver: fx.mgr, Metadata: md})
		if !errors.Is(err, oauth.ErrConfig) {
			t.Errorf("%s: NewTokens = %v, want ErrConfig", name, err)
		}
	}
}
