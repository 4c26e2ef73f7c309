package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/connkit/connkit/internal/httpx"
	"github.com/connkit/connkit/template"
)

// Discovery errors, matched with errors.Is.
var (
	// ErrIssuerMismatch: the metadata document names an issuer other than
	// the one it was fetched for (RFC 8414 section 3.3), or a callback's iss
	// parameter is not the issuer the flow started with (RFC 9207).
	ErrIssuerMismatch = errors.New("oauth: issuer mismatch")
	// ErrMetadata: no usable authorization server metadata could be
	// fetched.
	ErrMetadata = errors.New("oauth: authorization server metadata unavailable")
)

// Metadata is an authorization server's metadata (RFC 8414; OpenID Connect
// Discovery 1.0 documents have the same members). Only the members connkit
// uses are kept.
type Metadata struct {
	// Issuer is the issuer identifier.
	Issuer string `json:"issuer"`
	// AuthorizationEndpoint, TokenEndpoint and RevocationEndpoint are the
	// endpoints; RevocationEndpoint may be empty.
	AuthorizationEndpoint string `json:"authorization_endpoint,omitempty"`
	TokenEndpoint         string `json:"token_endpoint,omitempty"`
	RevocationEndpoint    string `json:"revocation_endpoint,omitempty"`
	// CodeChallengeMethodsSupported lists the PKCE methods; empty means the
	// server did not say.
	CodeChallengeMethodsSupported []string `json:"code_challenge_methods_supported,omitempty"`
	// TokenEndpointAuthMethodsSupported lists client authentication methods
	// (client_secret_basic, client_secret_post, ...).
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	// ScopesSupported and GrantTypesSupported are informational.
	ScopesSupported     []string `json:"scopes_supported,omitempty"`
	GrantTypesSupported []string `json:"grant_types_supported,omitempty"`
	// AuthorizationResponseIssParameterSupported says the server adds iss
	// to authorization responses (RFC 9207); the callback then requires it.
	AuthorizationResponseIssParameterSupported bool `json:"authorization_response_iss_parameter_supported,omitempty"`
}

// SupportsPKCE reports whether the metadata lists the PKCE method m.
func (m *Metadata) SupportsPKCE(method string) bool {
	return slices.Contains(m.CodeChallengeMethodsSupported, method)
}

// check validates a metadata document fetched for issuer.
func (m *Metadata) check(issuer string) error {
	if m.Issuer != issuer {
		return fmt.Errorf("oauth: metadata for %q names issuer %q: %w", issuer, sanitize(m.Issuer, 256), ErrIssuerMismatch)
	}
	for _, e := range [...]struct{ name, v string }{
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"token_endpoint", m.TokenEndpoint},
		{"revocation_endpoint", m.RevocationEndpoint},
	} {
		if e.v == "" {
			continue
		}
		if u, err := url.Parse(e.v); err != nil || !u.IsAbs() || u.Host == "" ||
			(u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.Fragment != "" {
			return fmt.Errorf("oauth: metadata of %q: %s is not an absolute http(s) URL: %w", issuer, e.name, ErrMetadata)
		}
	}
	if m.TokenEndpoint == "" {
		return fmt.Errorf("oauth: metadata of %q has no token_endpoint: %w", issuer, ErrMetadata)
	}
	return nil
}

// MetadataURLs returns where the metadata of issuer is looked for, in
// order: the RFC 8414 well-known URL (the well-known segment inserted
// between host and path) and the OpenID Connect Discovery URL (appended to
// the issuer). For an issuer without a path both name the same host.
func MetadataURLs(issuer string) ([]string, error) {
	u, err := url.Parse(issuer)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("oauth: issuer %q is not an absolute http(s) URL: %w", sanitize(issuer, 256), ErrMetadata)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("oauth: issuer %q must not have a query, fragment or user information: %w", sanitize(issuer, 256), ErrMetadata)
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	base := u.Scheme + "://" + u.Host
	return []string{
		base + "/.well-known/oauth-authorization-server" + path,
		base + path + "/.well-known/openid-configuration",
	}, nil
}

// Discover fetches the metadata of issuer: the RFC 8414 document, or when
// there is none (404) the OpenID Connect Discovery document. The document's
// issuer must equal issuer exactly ([ErrIssuerMismatch]), and it must name a
// token endpoint. client nil means NewHTTPClient(HTTPClientConfig{}), which
// refuses private addresses.
func Discover(ctx context.Context, client *http.Client, issuer string) (*Metadata, error) {
	urls, err := MetadataURLs(issuer)
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = NewHTTPClient(HTTPClientConfig{})
	}
	var lastErr error
	for _, u := range urls {
		md, status, err := fetchMetadata(ctx, client, u)
		if err == nil {
			if err := md.check(issuer); err != nil {
				return nil, err
			}
			return md, nil
		}
		lastErr = err
		// Only "not there" moves on to the next location.
		if status != http.StatusNotFound && status != http.StatusGone && status != http.StatusMethodNotAllowed {
			break
		}
	}
	return nil, lastErr
}

func fetchMetadata(ctx context.Context, client *http.Client, u string) (*Metadata, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("oauth: metadata request: %w", errors.Join(ErrMetadata, err))
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("oauth: fetch metadata: %w: %w", ErrMetadata, httpx.RedactError(err))
	}
	body, err := httpx.ReadBody(resp, httpx.TokenBodyLimit)
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("oauth: read metadata %s: %w: %w", httpx.RedactURL(req.URL), ErrMetadata, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode, fmt.Errorf("oauth: metadata %s: HTTP %d: %w", httpx.RedactURL(req.URL), resp.StatusCode, ErrMetadata)
	}
	var md Metadata
	if err := json.Unmarshal(body, &md); err != nil {
		return nil, resp.StatusCode, fmt.Errorf("oauth: metadata %s is not a JSON object: %w", httpx.RedactURL(req.URL), ErrMetadata)
	}
	return &md, resp.StatusCode, nil
}

// IssuerByType returns a [FlowConfig.Issuer] function for hosts that know
// the issuer of each connection type: it maps the variable's type key to an
// issuer identifier ("" for types without discovery).
func IssuerByType(issuers map[string]string) func(*template.Resolution) string {
	m := make(map[string]string, len(issuers))
	for k, v := range issuers {
		m[k] = v
	}
	return func(res *template.Resolution) string { return m[res.Variable.Type.Key] }
}

// discovery is how a [Flow] or a [Tokens] finds a connection's
// authorization server metadata: the host's Issuer function and a cache of
// the host's static documents and discovered ones. Both build theirs from
// the same options (FlowConfig and TokensConfig Issuer, Metadata and
// MetadataTTL) with newDiscovery, and fill endpoint URLs from it with the
// one function prepareResolved, so CONNECT, refresh and client credentials
// renewal resolve a connection to the same endpoints.
type discovery struct {
	issuer func(*template.Resolution) string
	cache  *metadataCache
}

// newDiscovery checks the static documents (each must pass check for its
// key) and returns the discovery of a Flow or Tokens; config names the
// config struct in errors, which match ErrConfig. ttl <= 0 means
// DefaultMetadataTTL.
func newDiscovery(config string, issuer func(*template.Resolution) string, docs map[string]*Metadata,
	ttl time.Duration, client *http.Client, now func() time.Time) (*discovery, error) {
	static := make(map[string]*Metadata, len(docs))
	for iss, md := range docs {
		if md == nil {
			return nil, fmt.Errorf("oauth: %s.Metadata[%q] is nil: %w", config, iss, ErrConfig)
		}
		if err := md.check(iss); err != nil {
			return nil, fmt.Errorf("%w: %s.Metadata: %w", ErrConfig, config, err)
		}
		c := *md
		static[iss] = &c
	}
	if ttl <= 0 {
		ttl = DefaultMetadataTTL
	}
	return &discovery{issuer: issuer, cache: &metadataCache{client: client, ttl: ttl, now: now, static: static}}, nil
}

// metadataOf returns the metadata of res's issuer, or nil when res has
// none (no Issuer function, or it gives "").
func (d *discovery) metadataOf(ctx context.Context, res *template.Resolution) (*Metadata, error) {
	if d == nil || d.issuer == nil {
		return nil, nil
	}
	iss := d.issuer(res)
	if iss == "" {
		return nil, nil
	}
	return d.cache.lookup(ctx, iss)
}

// metadataCache holds metadata per issuer: the host's static documents and
// discovered ones for ttl. Concurrent lookups of one issuer share a fetch.
type metadataCache struct {
	client *http.Client
	ttl    time.Duration
	now    func() time.Time
	static map[string]*Metadata
	group  singleflight.Group

	mu      sync.Mutex
	fetched map[string]cachedMetadata
}

type cachedMetadata struct {
	md      *Metadata
	expires time.Time
}

func (c *metadataCache) lookup(ctx context.Context, issuer string) (*Metadata, error) {
	if md, ok := c.static[issuer]; ok {
		return md, nil
	}
	c.mu.Lock()
	e, ok := c.fetched[issuer]
	c.mu.Unlock()
	if ok && c.now().Before(e.expires) {
		return e.md, nil
	}
	// The fetch is shared by every concurrent lookup of the issuer, so it
	// runs on a context of its own (the first caller's values, its own
	// timeout): one caller giving up fails no other, and each waits only
	// as long as its own ctx allows.
	ch := c.group.DoChan(issuer, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discoveryTimeout)
		defer cancel()
		md, err := Discover(fctx, c.client, issuer)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.fetched == nil {
			c.fetched = make(map[string]cachedMetadata)
		}
		c.fetched[issuer] = cachedMetadata{md: md, expires: c.now().Add(c.ttl)}
		c.mu.Unlock()
		return md, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Metadata), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("oauth: metadata of %q: %w", sanitize(issuer, 256), ctx.Err())
	}
}

// discoveryTimeout bounds one shared metadata fetch (both locations, the
// HTTP client's retries included).
const discoveryTimeout = 2 * DefaultTokenTimeout
