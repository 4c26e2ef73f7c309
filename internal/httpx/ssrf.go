package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
)

// ErrBlocked is matched (errors.Is) by every error returned when the SSRF
// guard refuses a destination. The concrete error is a [*BlockedError].
var ErrBlocked = errors.New("httpx: destination address not allowed")

// BlockedError reports a dial (or proxied request) refused by the SSRF guard.
// It matches [ErrBlocked] and survives wrapping by *net.OpError and
// *url.Error, so errors.As works on the error returned by an *http.Client.
type BlockedError struct {
	// Host is the name the caller asked for (as it appeared in the URL, or
	// the IP literal when the URL held one).
	Host string
	// Addr is the resolved address that was refused. It is the zero Addr
	// when the dial address could not be parsed.
	Addr netip.Addr
	// Reason names the class of address, e.g. "loopback" or "private".
	Reason string
}

// Error names the host and the refused address; it never hangs or retries.
func (e *BlockedError) Error() string {
	if !e.Addr.IsValid() {
		return fmt.Sprintf("httpx: dial to %q blocked: %s", e.Host, e.Reason)
	}
	if e.Host == "" || e.Host == e.Addr.String() {
		return fmt.Sprintf("httpx: dial to %s blocked: %s address", e.Addr, e.Reason)
	}
	return fmt.Sprintf("httpx: dial to %q blocked: it resolves to %s, a %s address", e.Host, e.Addr, e.Reason)
}

// Unwrap returns [ErrBlocked].
func (e *BlockedError) Unwrap() error { return ErrBlocked }

// Guard decides which destination addresses outbound dials may reach. Its
// zero value blocks every address that is not globally reachable unicast
// (see [IsPublic]).
//
// Guard is meant to run at dial time, after DNS resolution, as a
// net.Dialer.ControlContext (see [Guard.ControlContext]); checking a URL's
// host before the request is not enough because of redirects and DNS
// rebinding.
type Guard struct {
	// AllowPrivate allows every unicast address: loopback, RFC 1918,
	// CGNAT, link-local (including cloud metadata endpoints), unique-local
	// and the other special-purpose unicast ranges. Meant for tests and
	// single-tenant or development deployments.
	//
	// Unspecified (0.0.0.0/8, ::), multicast and broadcast addresses stay
	// blocked even then: none of them is a valid destination for a
	// connection, and 0.0.0.0 is a well-known alias for "this host".
	AllowPrivate bool
	// AllowPrefixes allows unicast addresses inside these prefixes even
	// when they are not public, e.g. 127.0.0.1/32 for one local test server
	// or an internal API network the host trusts. IPv4-mapped IPv6
	// addresses are matched in their IPv4 form. Non-unicast addresses are
	// never allowed.
	AllowPrefixes []netip.Prefix
}

// Check returns nil when a connection to addr is allowed and a
// [*BlockedError] naming host otherwise. host is only used in the error;
// pass the name that was resolved to addr (or "" when there was none).
func (g Guard) Check(host string, addr netip.Addr) error {
	addr = addr.WithZone("")
	reason, unicast, public := classify(addr)
	if public {
		return nil
	}
	if unicast {
		if g.AllowPrivate {
			return nil
		}
		plain := addr.Unmap()
		for _, p := range g.AllowPrefixes {
			if p.Contains(plain) || p.Contains(addr) {
				return nil
			}
		}
	}
	return &BlockedError{Host: host, Addr: addr, Reason: reason}
}

// ControlContext is a net.Dialer.ControlContext that refuses the dial before
// any packet is sent when the resolved address is not allowed by g. The host
// name reported in the error is taken from ctx when the dial went through a
// transport built by [NewTransport]; otherwise the address itself is named.
func (g Guard) ControlContext(ctx context.Context, network, address string, _ syscall.RawConn) error {
	host := dialHostFrom(ctx)
	switch network {
	case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
	default:
		return &BlockedError{Host: orDefault(host, address), Reason: "non-IP network " + network}
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &BlockedError{Host: orDefault(host, address), Reason: "unparseable dial address"}
	}
	return g.Check(orDefault(host, ap.Addr().WithZone("").String()), ap.Addr())
}

// Control is the net.Dialer.Control form of [Guard.ControlContext].
func (g Guard) Control(network, address string, c syscall.RawConn) error {
	return g.ControlContext(context.Background(), network, address, c)
}

// IsPublic reports whether addr is a globally reachable unicast address:
// not loopback, private (RFC 1918, unique-local fc00::/7), CGNAT
// (100.64.0.0/10), link-local (169.254.0.0/16 with the cloud metadata
// endpoints, fe80::/10), unspecified, multicast, broadcast, documentation,
// benchmarking, reserved, or any other IANA special-purpose range that is not
// globally reachable. IPv4-mapped IPv6 addresses are judged as their IPv4
// form; NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses as the IPv4
// address they embed. Teredo (2001::/32) and the rest of 2001::/23 are not
// public.
func IsPublic(addr netip.Addr) bool {
	_, _, public := classify(addr.WithZone(""))
	return public
}

// rangeClass is one entry of the special-purpose tables below.
type rangeClass struct {
	prefix netip.Prefix
	reason string
	// nonUnicast marks ranges that are never a valid connection
	// destination; AllowPrivate and AllowPrefixes do not apply to them.
	nonUnicast bool
}

func rc(prefix, reason string, nonUnicast bool) rangeClass {
	return rangeClass{prefix: netip.MustParsePrefix(prefix), reason: reason, nonUnicast: nonUnicast}
}

// specialV4 lists IPv4 ranges that are not globally reachable, from the IANA
// IPv4 Special-Purpose Address Registry (plus multicast and class E). More
// specific entries come first so the reason is the most precise one.
// Ranges the registry marks globally reachable (192.31.196.0/24,
// 192.52.193.0/24, 192.175.48.0/24) are deliberately absent.
//
// The tables are read-only after package initialisation.
var specialV4 = []rangeClass{
	rc("255.255.255.255/32", "broadcast", true),
	rc("0.0.0.0/8", "unspecified (\"this network\")", true),
	rc("224.0.0.0/4", "multicast", true),
	rc("127.0.0.0/8", "loopback", false),
	rc("10.0.0.0/8", "private", false),
	rc("172.16.0.0/12", "private", false),
	rc("192.168.0.0/16", "private", false),
	rc("100.64.0.0/10", "shared (CGNAT)", false),
	rc("169.254.0.0/16", "link-local", false),
	rc("192.0.0.0/24", "IETF protocol assignment", false),
	rc("192.0.2.0/24", "documentation", false),
	rc("198.51.100.0/24", "documentation", false),
	rc("203.0.113.0/24", "documentation", false),
	rc("192.88.99.0/24", "6to4 relay anycast", false),
	rc("198.18.0.0/15", "benchmarking", false),
	rc("240.0.0.0/4", "reserved", false),
}

// specialV6 lists IPv6 ranges that are not globally reachable. Anything
// outside 2000::/3 (global unicast) is refused separately, which covers ::/128,
// ::1/128, IPv4-compatible and IPv4-translated forms, 100::/64, fc00::/7,
// fe80::/10, fec0::/10, 5f00::/16 and 64:ff9b:1::/48; NAT64 and IPv4-mapped
// addresses are unwrapped before the tables are consulted.
var specialV6 = []rangeClass{
	rc("::/128", "unspecified", true),
	rc("ff00::/8", "multicast", true),
	rc("::1/128", "loopback", false),
	rc("fc00::/7", "unique-local", false),
	rc("fe80::/10", "link-local", false),
	rc("fec0::/10", "site-local", false),
	rc("64:ff9b:1::/48", "local-use NAT64", false),
	rc("100::/64", "discard-only", false),
	rc("2001::/32", "Teredo", false),
	rc("2001::/23", "IETF protocol assignment", false),
	rc("2001:db8::/32", "documentation", false),
	rc("3fff::/20", "documentation", false),
}

var (
	nat64Prefix   = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour     = netip.MustParsePrefix("2002::/16")
	globalUnicast = netip.MustParsePrefix("2000::/3")
)

// classify returns why addr is not public (reason), whether it is a unicast
// address at all, and whether it is public. Embedded IPv4 addresses (mapped,
// NAT64, 6to4) are classified as the IPv4 address they carry.
func classify(addr netip.Addr) (reason string, unicast, public bool) {
	if !addr.IsValid() {
		return "invalid", false, false
	}
	if addr.Is4In6() {
		r, u, p := classify(addr.Unmap())
		if !p {
			r = "IPv4-mapped " + r
		}
		return r, u, p
	}
	if addr.Is4() {
		return classifyTable(addr, specialV4)
	}
	if embedded, ok := embeddedV4(addr); ok {
		r, u, p := classify(embedded)
		if !p {
			r = "IPv4-embedding (" + r + ")"
		}
		return r, u, p
	}
	r, u, p := classifyTable(addr, specialV6)
	if p && !globalUnicast.Contains(addr) {
		return "reserved (outside 2000::/3)", true, false
	}
	return r, u, p
}

func classifyTable(addr netip.Addr, table []rangeClass) (reason string, unicast, public bool) {
	for _, c := range table {
		if c.prefix.Contains(addr) {
			return c.reason, !c.nonUnicast, false
		}
	}
	return "", true, true
}

// embeddedV4 extracts the IPv4 address a NAT64 (64:ff9b::/96) or 6to4
// (2002::/16) address routes to.
func embeddedV4(addr netip.Addr) (netip.Addr, bool) {
	b := addr.As16()
	switch {
	case nat64Prefix.Contains(addr):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(addr):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// dialHostKey carries the host name of a dial to [Guard.ControlContext].
type dialHostKey struct{}

// withDialHost records host (without port) for the error of a refused dial.
func withDialHost(ctx context.Context, host string) context.Context {
	return context.WithValue(ctx, dialHostKey{}, strings.TrimSuffix(host, "."))
}

func dialHostFrom(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	h, _ := ctx.Value(dialHostKey{}).(string)
	return h
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
