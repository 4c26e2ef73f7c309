package httpx

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// Egress describes where outbound traffic leaves from, so a host can show
// its customers what to allowlist. It never carries proxy credentials.
type Egress struct {
	// Proxy is the proxy every request goes through (scheme and host:port
	// only; no userinfo, path or query), or nil when requests go direct.
	Proxy *url.URL
	// LocalAddr is the pinned source address of outbound connections, or
	// the zero Addr when the operating system chooses.
	LocalAddr netip.Addr
}

// String describes e in one line, e.g.
// "proxy http://proxy.example:3128, source address 203.0.113.7".
func (e Egress) String() string {
	var parts []string
	if e.Proxy != nil {
		parts = append(parts, "proxy "+e.Proxy.String())
	}
	if e.LocalAddr.IsValid() {
		parts = append(parts, "source address "+e.LocalAddr.String())
	}
	if len(parts) == 0 {
		return "direct (source address chosen by the operating system)"
	}
	return strings.Join(parts, ", ")
}

// Egress reports the egress c configures. With a proxy, third parties see
// the proxy's public address; with a local address, they see that address
// (or the address it is translated to by the host's NAT).
//
// How the SSRF guard applies with a proxy: the dial to the proxy itself is
// exempt (the host chose it, and egress proxies commonly live on private
// networks); the target of each proxied request is checked before the
// request is sent: IP literals always, host names by resolving them (with
// [Config.LookupNetIP] or the system resolver) unless
// [Config.ProxyResolvesNames] is set. That name check is best effort
// because the proxy resolves the name again; a proxy used for tenant-supplied
// URLs should enforce its own egress policy.
func (c Config) Egress() Egress {
	var e Egress
	if c.Proxy != nil {
		e.Proxy = &url.URL{Scheme: orDefault(c.Proxy.Scheme, "http"), Host: c.Proxy.Host}
	}
	if c.LocalAddr.IsValid() {
		e.LocalAddr = c.LocalAddr.Unmap()
	}
	return e
}

// proxyDialAddr is the host:port net/http dials for proxy p (mirroring
// net/http's canonicalAddr for ASCII host names).
func proxyDialAddr(p *url.URL) string {
	port := p.Port()
	if port == "" {
		switch strings.ToLower(p.Scheme) {
		case "https":
			port = "443"
		case "socks5", "socks5h":
			port = "1080"
		default:
			port = "80"
		}
	}
	return net.JoinHostPort(p.Hostname(), port)
}

// proxyFor is the http.Transport Proxy function: it checks the request's
// target with the guard and returns the configured proxy.
func (d *dialer) proxyFor(req *http.Request) (*url.URL, error) {
	host := strings.TrimSuffix(req.URL.Hostname(), ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := d.guard.Check(host, ip); err != nil {
			return nil, err
		}
		return d.proxy, nil
	}
	if !d.resolveAt {
		return d.proxy, nil
	}
	addrs, err := d.resolve(req.Context(), host)
	if err != nil {
		return nil, fmt.Errorf("httpx: resolve proxied host %q: %w", host, err)
	}
	for _, a := range addrs {
		if err := d.guard.Check(host, a); err != nil {
			return nil, err
		}
	}
	return d.proxy, nil
}
