package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/template"
)

func TestMetadataURLs(t *testing.T) {
	for issuer, want := range map[string][]string{
		"https://as.example": {
			"https://as.example/.well-known/oauth-authorization-server",
			"https://as.example/.well-known/openid-configuration"},
		"https://as.example/": {
			"https://as.example/.well-known/oauth-authorization-server",
			"https://as.example/.well-known/openid-configuration"},
		"https://as.example/tenant/1": {
			"https://as.example/.well-known/oauth-authorization-server/tenant/1",
			"https://as.example/tenant/1/.well-known/openid-configuration"},
	} {
		got, err := oauth.MetadataURLs(issuer)
		if err != nil || !cmp.Equal(got, want) {
			t.Errorf("MetadataURLs(%q) = %v, %v; want %v", issuer, got, err, want)
		}
	}
	for _, bad := range []string{"as.example", "ftp://as.example", "https://as.example?x=1", "https://as.example#f", "https://u@as.example"} {
		if _, err := oauth.MetadataURLs(bad); !errors.Is(err, oauth.ErrMetadata) {
			t.Errorf("MetadataURLs(%q) = %v, want ErrMetadata", bad, err)
		}
	}
}

func TestDiscover(t *testing.T) {
	srv := oauthtest.NewUnstarted(t, oauthtest.Config{IssParameter: true})
	client := oauth.NewHTTPClient(oauth.HTTPClientConfig{Transport: srv.Transport()})
	md, err := oauth.Discover(context.Background(), client, srv.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	want := &oauth.Metadata{
		Issuer:                                     srv.Issuer(),
		AuthorizationEndpoint:                      srv.AuthorizeURL(),
		TokenEndpoint:                              srv.TokenURL(),
		RevocationEndpoint:                         srv.RevokeURL(),
		CodeChallengeMethodsSupported:              []string{"S256", "plain"},
		TokenEndpointAuthMethodsSupported:          []string{"client_secret_basic", "client_secret_post", "none"},
		GrantTypesSupported:                        []string{"authorization_code", "refresh_token", "client_credentials"},
		AuthorizationResponseIssParameterSupported: true,
	}
	if diff := cmp.Diff(want, md); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	if !md.SupportsPKCE("S256") || md.SupportsPKCE("S512") {
		t.Error("SupportsPKCE")
	}
}

// TestDiscoverIssuerMismatch: a document naming another issuer is refused
// (RFC 8414 section 3.3), by Discover and by a CONNECT that needs it.
func TestDiscoverIssuerMismatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{
			server: oauthtest.Config{Issuer: "https://evil.example"},
			flow: func(c *oauth.FlowConfig) {
				c.Issuer = oauth.IssuerByType(map[string]string{"acme": oauthtest.UnstartedURL})
			},
		})
		_, err := oauth.Discover(context.Background(), fx.flow.HTTPClient(), oauthtest.UnstartedURL)
		if !errors.Is(err, oauth.ErrIssuerMismatch) {
			t.Errorf("Discover = %v, want ErrIssuerMismatch", err)
		}
		if _, err := fx.flow.Start(context.Background(), fx.ref); !errors.Is(err, oauth.ErrIssuerMismatch) {
			t.Errorf("Start = %v, want ErrIssuerMismatch", err)
		}
		if e := fx.lastEvent(fx.conn(fx.ref).ID, oauth.EventConnectFailed); e.Attrs["stage"] != "start" {
			t.Errorf("connect_failed attrs = %v", e.Attrs)
		}
	})
}

// TestDiscoverFallsBackToOpenID: without an RFC 8414 document, the OpenID
// Connect one is used; other failures are errors.
func TestDiscoverFallsBackToOpenID(t *testing.T) {
	doc := `{"issuer":"https://oauthtest.example/tenant","authorization_endpoint":"https://oauthtest.example/a","token_endpoint":"https://oauthtest.example/t"}`
	var paths []string
	srv := oauthtest.NewUnstarted(t, oauthtest.Config{Intercept: func(w http.ResponseWriter, r *http.Request) bool {
		paths = append(paths, r.URL.Path)
		if r.URL.Path == "/tenant/.well-known/openid-configuration" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(doc))
			return true
		}
		http.NotFound(w, r)
		return true
	}})
	client := oauth.NewHTTPClient(oauth.HTTPClientConfig{Transport: srv.Transport()})
	md, err := oauth.Discover(context.Background(), client, srv.URL()+"/tenant")
	if err != nil || md.TokenEndpoint != "https://oauthtest.example/t" {
		t.Fatalf("Discover = %+v, %v", md, err)
	}
	if want := []string{"/.well-known/oauth-authorization-server/tenant", "/tenant/.well-known/openid-configuration"}; !cmp.Equal(paths, want) {
		t.Errorf("fetched %v, want %v", paths, want)
	}
	if _, err := oauth.Discover(context.Background(), client, srv.URL()+"/other"); !errors.Is(err, oauth.ErrMetadata) {
		t.Errorf("Discover without documents = %v", err)
	}
}

// TestDiscoveryFillsEndpoints: a type that declares no URLs gets them from
// the discovered metadata; the callback then requires the iss the server
// announces, and the whole flow works.
func TestDiscoveryFillsEndpoints(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{
			server: oauthtest.Config{IssParameter: true},
			oauth2: func(o *connection.OAuth2) { o.AuthorizeURL, o.TokenURL, o.RevokeURL = "", "", "" },
			// Required URL fields without defaults: discovery fills them.
			fields: []connection.Field{
				{Key: connection.FieldAuthorizeURL, Kind: connection.KindURL, Required: true},
				{Key: connection.FieldTokenURL, Kind: connection.KindURL, Required: true},
			},
			flow: func(c *oauth.FlowConfig) {
				c.Issuer = func(res *template.Resolution) string { return oauthtest.UnstartedURL }
			},
		})
		authURL, err := fx.flow.Start(context.Background(), fx.ref)
		if err != nil {
			t.Fatal(err)
		}
		if u, _ := url.Parse(authURL); u.Scheme+"://"+u.Host+u.Path != fx.srv.AuthorizeURL() {
			t.Errorf("authorize URL %s not from metadata", authURL)
		}
		loc, err := fx.srv.Authorize(context.Background(), authURL)
		if err != nil {
			t.Fatal(err)
		}
		if loc.Query().Get("iss") != oauthtest.UnstartedURL {
			t.Fatalf("provider sent no iss: %s", loc)
		}
		if resp := fx.callback(loc.String()); resp.StatusCode != http.StatusOK {
			t.Fatalf("callback = %d %s", resp.StatusCode, flowBody(t, resp))
		}
		// The revocation endpoint also came from the metadata.
		res, err := fx.flow.Disconnect(context.Background(), fx.ref)
		if err != nil || len(res.Revoked) != 2 {
			t.Errorf("Disconnect = %+v, %v", res, err)
		}
		// Metadata is cached: one fetch for two flows.
		if n := fx.srv.Calls(oauthtest.PathMetadata); n != 1 {
			t.Errorf("metadata fetched %d times", n)
		}
	})
}

// TestStaticMetadata: metadata given in the config is used without any
// fetch.
func TestStaticMetadata(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const iss = "https://issuer.acme.example"
		fx := newFlowFx(t, flowFxOptions{
			flow: func(c *oauth.FlowConfig) {
				c.Issuer = oauth.IssuerByType(map[string]string{"acme": iss})
				c.Metadata = map[string]*oauth.Metadata{iss: {Issuer: iss, TokenEndpoint: "https://issuer.acme.example/token",
					AuthorizationResponseIssParameterSupported: true}}
			},
		})
		loc := fx.start(fx.ref)
		// The fake provider sends no iss, but the metadata says it does.
		resp := fx.callback(loc.String())
		if resp.StatusCode != http.StatusBadRequest || fx.tokenCalls() != 0 {
			t.Errorf("callback without the announced iss = %d, %d token calls", resp.StatusCode, fx.tokenCalls())
		}
		if n := fx.srv.Calls(oauthtest.PathMetadata); n != 0 {
			t.Errorf("metadata fetched %d times", n)
		}
		// A fresh CONNECT with the right iss gets through to the exchange.
		loc2 := fx.start(fx.ref)
		q2 := loc2.Query()
		q2.Set("iss", iss)
		loc2.RawQuery = q2.Encode()
		if resp := fx.callback(loc2.String()); resp.StatusCode != http.StatusOK {
			t.Errorf("callback with the right iss = %d", resp.StatusCode)
		}
	})
}
