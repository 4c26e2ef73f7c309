package httpx

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Defaults applied by [NewTransport] to zero fields of [Config].
const (
	DefaultDialTimeout         = 10 * time.Second
	DefaultKeepAlive           = 30 * time.Second
	DefaultTLSHandshakeTimeout = 10 * time.Second
	DefaultIdleConnTimeout     = 90 * time.Second
	// DefaultResponseHeaderTimeout bounds the wait for a response's
	// headers once the request is written. Two minutes is longer than the
	// front ends of nearly every public API hold a request (Cloudflare
	// answers 524 after 100 s, AWS load balancers and API Gateway give up
	// sooner), so a legitimate answer is not cut off, while a server that
	// accepted the request and went silent no longer holds a connection
	// and the caller's goroutine for good when the caller's context has
	// no deadline. It does not bound reading the body: streamed and long
	// downloads are unaffected.
	DefaultResponseHeaderTimeout = 2 * time.Minute
	DefaultMaxIdleConns          = 256
	DefaultMaxIdleConnsPerHost   = 32
	// DefaultMaxResponseHeaderBytes caps response headers; third-party APIs
	// have no business sending more.
	DefaultMaxResponseHeaderBytes = 1 << 20
)

// Config configures [NewTransport]. Its zero value is usable and safe: the
// SSRF guard is on, no proxy, the system picks the source address, and the
// timeouts are the Default* constants.
type Config struct {
	// AllowPrivate turns the SSRF guard's private-address check off (see
	// [Guard.AllowPrivate]). Tests and the example app set it; a
	// multi-tenant host must not.
	AllowPrivate bool
	// AllowPrefixes lets dials reach these non-public unicast prefixes while
	// the guard stays on for everything else (see [Guard.AllowPrefixes]).
	AllowPrefixes []netip.Prefix

	// Proxy, when set, sends every request through this HTTP, HTTPS or
	// SOCKS5 proxy; userinfo in the URL is used for proxy authentication.
	// The environment (HTTP_PROXY and friends) is never consulted. See
	// [Config.Egress] for what the dial to the proxy and the guard do.
	Proxy *url.URL
	// ProxyResolvesNames skips the client-side DNS check of proxied
	// targets: set it when this host cannot resolve external names and the
	// proxy enforces the egress policy itself. IP-literal targets are still
	// checked.
	ProxyResolvesNames bool
	// LocalAddr, when valid, is the source address of every outbound
	// connection (including the one to the proxy). Destinations of the
	// other address family are skipped.
	LocalAddr netip.Addr

	// DialTimeout bounds connection establishment (default
	// [DefaultDialTimeout]).
	DialTimeout time.Duration
	// TLSHandshakeTimeout bounds the TLS handshake (default
	// [DefaultTLSHandshakeTimeout]).
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for response headers after the
	// request is written (default [DefaultResponseHeaderTimeout]). A
	// negative value means no limit beyond the request's context, for
	// hosts calling APIs that think for longer before they answer.
	ResponseHeaderTimeout time.Duration
	// IdleConnTimeout closes idle keep-alive connections after this long
	// (default [DefaultIdleConnTimeout]).
	IdleConnTimeout time.Duration
	// MaxIdleConnsPerHost bounds idle connections kept per host (default
	// [DefaultMaxIdleConnsPerHost]; net/http's own default is 2).
	MaxIdleConnsPerHost int
	// TLSClientConfig, when set, is cloned and used for TLS connections
	// (e.g. to add root CAs). Otherwise TLS 1.2 is the minimum version.
	TLSClientConfig *tls.Config

	// LookupNetIP, when set, replaces DNS resolution for dials and for the
	// proxied-target check. Its signature is that of
	// (*net.Resolver).LookupNetIP. Tests use it to map names to loopback
	// addresses without touching the network; hosts may use it to plug in
	// their own resolver. The guard still checks every address it returns;
	// dials try the addresses in order (no Happy Eyeballs), skipping those
	// of the other family when LocalAddr is set.
	LookupNetIP func(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard returns the SSRF guard c configures.
func (c Config) Guard() Guard {
	return Guard{AllowPrivate: c.AllowPrivate, AllowPrefixes: slices.Clone(c.AllowPrefixes)}
}

// NewTransport returns an *http.Transport whose every dial is checked by the
// SSRF guard after DNS resolution (so redirects, reconnects and DNS
// rebinding cannot reach a refused address) and whose traffic leaves through
// the configured egress (proxy and/or source address). HTTP/2 is kept.
//
// Each call returns a new transport with its own connection pool; share one
// per configuration, and call CloseIdleConnections when done with it.
func NewTransport(cfg Config) *http.Transport {
	d := newDialer(cfg)
	t := &http.Transport{
		DialContext:            d.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           DefaultMaxIdleConns,
		MaxIdleConnsPerHost:    orDefaultInt(cfg.MaxIdleConnsPerHost, DefaultMaxIdleConnsPerHost),
		IdleConnTimeout:        orDefaultDur(cfg.IdleConnTimeout, DefaultIdleConnTimeout),
		TLSHandshakeTimeout:    orDefaultDur(cfg.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout),
		ResponseHeaderTimeout:  responseHeaderTimeout(cfg.ResponseHeaderTimeout),
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: DefaultMaxResponseHeaderBytes,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
	}
	if cfg.TLSClientConfig != nil {
		t.TLSClientConfig = cfg.TLSClientConfig.Clone()
	}
	if d.proxy != nil {
		t.Proxy = d.proxyFor
	}
	return t
}

// NoRedirect is an http.Client CheckRedirect policy that never follows a
// redirect: the client returns the 3xx response itself. OAuth token and
// revocation endpoints use it so that credentials posted to them are never
// re-sent elsewhere.
func NoRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// dialer dials through the SSRF guard and the configured egress.
type dialer struct {
	guard   Guard
	guarded net.Dialer
	// direct dials the configured proxy, which the host chose and is
	// therefore exempt from the guard.
	direct    net.Dialer
	proxy     *url.URL
	proxyAddr string
	local     netip.Addr
	lookup    func(ctx context.Context, network, host string) ([]netip.Addr, error)
	resolveAt bool // check proxied hostnames with DNS
}

func newDialer(cfg Config) *dialer {
	d := &dialer{
		guard:     cfg.Guard(),
		local:     cfg.LocalAddr.Unmap(),
		lookup:    cfg.LookupNetIP,
		resolveAt: !cfg.ProxyResolvesNames,
	}
	base := net.Dialer{
		Timeout:   orDefaultDur(cfg.DialTimeout, DefaultDialTimeout),
		KeepAlive: DefaultKeepAlive,
	}
	if d.local.IsValid() {
		base.LocalAddr = &net.TCPAddr{IP: d.local.AsSlice(), Zone: d.local.Zone()}
	}
	d.direct = base
	d.guarded = base
	d.guarded.ControlContext = d.guard.ControlContext
	if cfg.Proxy != nil {
		p := *cfg.Proxy
		if p.User != nil {
			u := *p.User
			p.User = &u
		}
		d.proxy = &p
		d.proxyAddr = proxyDialAddr(&p)
	}
	return d
}

// DialContext dials address through the guard, except the dial to the
// configured proxy itself.
func (d *dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if d.proxy != nil && strings.EqualFold(address, d.proxyAddr) {
		return d.direct.DialContext(ctx, network, address)
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("httpx: dial %s: %w", address, err)
	}
	ctx = withDialHost(ctx, host)
	if d.lookup == nil {
		return d.guarded.DialContext(ctx, network, address)
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return d.guarded.DialContext(ctx, network, address)
	}
	addrs, err := d.lookup(ctx, lookupNetwork(network), host)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("httpx: resolve %q: %w", host, err)}
	}
	var firstErr error
	for _, a := range addrs {
		if d.local.IsValid() && a.Unmap().Is4() != d.local.Is4() {
			continue
		}
		c, err := d.guarded.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	if firstErr == nil {
		firstErr = &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("httpx: no suitable address for %q", host)}
	}
	return nil, firstErr
}

// resolve looks host up with the configured resolver or the system one.
func (d *dialer) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if d.lookup != nil {
		return d.lookup(ctx, "ip", host)
	}
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// lookupNetwork maps a dial network to a LookupNetIP network.
func lookupNetwork(network string) string {
	switch network {
	case "tcp4", "udp4":
		return "ip4"
	case "tcp6", "udp6":
		return "ip6"
	}
	return "ip"
}

// responseHeaderTimeout maps Config.ResponseHeaderTimeout to the
// http.Transport field: zero is the default, negative is no limit (0).
func responseHeaderTimeout(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return DefaultResponseHeaderTimeout
	case d < 0:
		return 0
	}
	return d
}

func orDefaultDur(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func orDefaultInt(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}
