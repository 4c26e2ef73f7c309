package httpx

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// These tests never connect anywhere: they call the decision function
// directly, or dial through a Control that fails every dial the guard lets
// through (errWouldConnect), so no connect(2) happens even if the guard is
// wrong.

var errWouldConnect = errors.New("test: guard allowed the dial (not connecting)")

func TestGuardCheck(t *testing.T) {
	tests := []struct {
		addr string
		// blocked: refused by the zero Guard.
		blocked bool
		// blockedPrivate: still refused with AllowPrivate (non-unicast).
		blockedPrivate bool
	}{
		// Required table.
		{addr: "127.0.0.1", blocked: true},
		{addr: "10.0.0.1", blocked: true},
		{addr: "172.16.0.1", blocked: true},
		{addr: "192.168.1.1", blocked: true},
		{addr: "100.64.0.1", blocked: true},
		{addr: "169.254.169.254", blocked: true},
		{addr: "0.0.0.0", blocked: true, blockedPrivate: true},
		{addr: "::1", blocked: true},
		{addr: "fd00::1", blocked: true},
		{addr: "fe80::1", blocked: true},
		{addr: "::ffff:127.0.0.1", blocked: true},
		{addr: "::ffff:10.0.0.1", blocked: true},
		{addr: "224.0.0.1", blocked: true, blockedPrivate: true},
		{addr: "ff02::1", blocked: true, blockedPrivate: true},
		{addr: "8.8.8.8"},
		{addr: "1.1.1.1"},
		{addr: "2606:4700:4700::1111"},
		// Further special-purpose ranges and embeddings.
		{addr: "127.255.255.254", blocked: true},
		{addr: "172.31.255.255", blocked: true},
		{addr: "172.32.0.1"},
		{addr: "100.127.255.255", blocked: true},
		{addr: "100.128.0.1"},
		{addr: "0.1.2.3", blocked: true, blockedPrivate: true},
		{addr: "255.255.255.255", blocked: true, blockedPrivate: true},
		{addr: "239.255.255.250", blocked: true, blockedPrivate: true},
		{addr: "240.0.0.1", blocked: true},
		{addr: "192.0.0.8", blocked: true},
		{addr: "192.0.2.1", blocked: true},
		{addr: "198.18.0.1", blocked: true},
		{addr: "198.51.100.7", blocked: true},
		{addr: "203.0.113.9", blocked: true},
		{addr: "192.88.99.1", blocked: true},
		{addr: "::", blocked: true, blockedPrivate: true},
		{addr: "::127.0.0.1", blocked: true},    // IPv4-compatible (deprecated)
		{addr: "::ffff:0:a00:1", blocked: true}, // IPv4-translated
		{addr: "::ffff:8.8.8.8"},                // mapped public
		{addr: "::ffff:169.254.169.254", blocked: true},
		{addr: "::ffff:224.0.0.1", blocked: true, blockedPrivate: true},
		{addr: "fe80::1%eth0", blocked: true},
		{addr: "fec0::1", blocked: true},
		{addr: "fc00::1", blocked: true},
		{addr: "fd12:3456:789a::1", blocked: true},
		{addr: "100::1", blocked: true},
		{addr: "64:ff9b::a00:1", blocked: true},      // NAT64 of 10.0.0.1
		{addr: "64:ff9b::7f00:1", blocked: true},     // NAT64 of 127.0.0.1
		{addr: "64:ff9b::808:808"},                   // NAT64 of 8.8.8.8
		{addr: "64:ff9b:1::a00:1", blocked: true},    // local-use NAT64
		{addr: "2002:a00:1::1", blocked: true},       // 6to4 of 10.0.0.1
		{addr: "2002:a9fe:a9fe::1", blocked: true},   // 6to4 of 169.254.169.254
		{addr: "2002:808:808::1"},                    // 6to4 of 8.8.8.8
		{addr: "2001:0:4136:e378::1", blocked: true}, // Teredo
		{addr: "2001:db8::1", blocked: true},
		{addr: "3fff::1", blocked: true},
		{addr: "4000::1", blocked: true}, // outside 2000::/3
		{addr: "2a00:1450:4001::1"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			addr := netip.MustParseAddr(tt.addr)
			err := Guard{}.Check("host.test", addr)
			if got := err != nil; got != tt.blocked {
				t.Errorf("Guard{}.Check(%s) = %v, want blocked=%v", addr, err, tt.blocked)
			}
			if err != nil && !errors.Is(err, ErrBlocked) {
				t.Errorf("Guard{}.Check(%s) = %v, does not match ErrBlocked", addr, err)
			}
			if got := IsPublic(addr); got != !tt.blocked {
				t.Errorf("IsPublic(%s) = %v, want %v", addr, got, !tt.blocked)
			}
			err = Guard{AllowPrivate: true}.Check("host.test", addr)
			if got := err != nil; got != tt.blockedPrivate {
				t.Errorf("Guard{AllowPrivate}.Check(%s) = %v, want blocked=%v", addr, err, tt.blockedPrivate)
			}
		})
	}
}

func TestGuardAllowPrefixes(t *testing.T) {
	g := Guard{AllowPrefixes: []netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("10.1.0.0/16"),
		netip.MustParsePrefix("224.0.0.0/4"), // cannot re-enable multicast
		netip.MustParsePrefix("0.0.0.0/0"),   // cannot re-enable unspecified
	}}
	tests := []struct {
		addr    string
		allowed bool
	}{
		{"127.0.0.1", true},
		{"::ffff:127.0.0.1", true},
		{"10.1.2.3", true},
		{"127.0.0.2", true}, // 0.0.0.0/0 allows every IPv4 unicast...
		{"224.0.0.1", false},
		{"0.0.0.0", false},
		{"255.255.255.255", false},
		{"::1", false}, // ...but not IPv6
		{"8.8.8.8", true},
	}
	for _, tt := range tests {
		err := g.Check("", netip.MustParseAddr(tt.addr))
		if got := err == nil; got != tt.allowed {
			t.Errorf("Check(%s) = %v, want allowed=%v", tt.addr, err, tt.allowed)
		}
	}

	narrow := Guard{AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	if err := narrow.Check("", netip.MustParseAddr("127.0.0.2")); !errors.Is(err, ErrBlocked) {
		t.Errorf("127.0.0.1/32 allowlist: Check(127.0.0.2) = %v, want ErrBlocked", err)
	}
}

func TestBlockedError(t *testing.T) {
	err := Guard{}.Check("metadata.internal", netip.MustParseAddr("169.254.169.254"))
	var be *BlockedError
	if !errors.As(err, &be) {
		t.Fatalf("Check = %T %v, want *BlockedError", err, err)
	}
	want := &BlockedError{Host: "metadata.internal", Addr: netip.MustParseAddr("169.254.169.254"), Reason: "link-local"}
	if diff := cmp.Diff(want, be, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("BlockedError mismatch (-want +got):\n%s", diff)
	}
	for _, s := range []string{"metadata.internal", "169.254.169.254", "link-local"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	wrapped := &net.OpError{Op: "dial", Net: "tcp", Err: err}
	if !errors.Is(wrapped, ErrBlocked) || !errors.As(wrapped, &be) {
		t.Errorf("errors.Is/As do not see through *net.OpError: %v", wrapped)
	}
}

func TestGuardControlContext(t *testing.T) {
	ctx := withDialHost(context.Background(), "api.tenant.example")
	tests := []struct {
		name     string
		ctx      context.Context
		network  string
		address  string
		wantErr  bool
		wantHost string
	}{
		{"private v4 names host", ctx, "tcp4", "10.0.0.1:443", true, "api.tenant.example"},
		{"metadata without host names address", context.Background(), "tcp4", "169.254.169.254:80", true, "169.254.169.254"},
		{"ULA v6", ctx, "tcp6", "[fd00::1]:443", true, "api.tenant.example"},
		{"link-local with zone", ctx, "tcp6", "[fe80::1%eth0]:443", true, "api.tenant.example"},
		{"unix socket", ctx, "unix", "/run/docker.sock", true, "api.tenant.example"},
		{"unparseable", ctx, "tcp", "nonsense", true, "api.tenant.example"},
		{"public v4", ctx, "tcp4", "8.8.8.8:443", false, ""},
		{"public v6", ctx, "tcp6", "[2606:4700:4700::1111]:443", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Guard{}.ControlContext(tt.ctx, tt.network, tt.address, nil)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("ControlContext = %v, want nil", err)
				}
				return
			}
			var be *BlockedError
			if !errors.As(err, &be) || !errors.Is(err, ErrBlocked) {
				t.Fatalf("ControlContext = %v, want *BlockedError", err)
			}
			if be.Host != tt.wantHost {
				t.Errorf("Host = %q, want %q", be.Host, tt.wantHost)
			}
		})
	}
	if err := (Guard{}).Control("tcp4", "127.0.0.1:80", nil); !errors.Is(err, ErrBlocked) {
		t.Errorf("Control(127.0.0.1) = %v, want ErrBlocked", err)
	}
}

// TestGuardDialRefusedBeforeConnect dials non-loopback addresses through a
// real net.Dialer. The guard runs as the dialer's Control, i.e. after the
// socket is created and before connect(2); whatever it lets through is then
// failed by errWouldConnect, so nothing is ever sent.
func TestGuardDialRefusedBeforeConnect(t *testing.T) {
	g := Guard{}
	d := &net.Dialer{
		Timeout: time.Second,
		ControlContext: func(ctx context.Context, network, address string, c syscall.RawConn) error {
			if err := g.ControlContext(ctx, network, address, c); err != nil {
				return err
			}
			return errWouldConnect
		},
	}
	for _, addr := range []string{"10.0.0.1:80", "169.254.169.254:80", "[fd00::1]:80", "[::ffff:10.0.0.1]:80", "192.168.1.1:443"} {
		t.Run(addr, func(t *testing.T) {
			_, err := d.DialContext(withDialHost(t.Context(), "tenant-host"), "tcp", addr)
			if !errors.Is(err, ErrBlocked) {
				t.Fatalf("dial %s: %v, want ErrBlocked", addr, err)
			}
			var oe *net.OpError
			if !errors.As(err, &oe) {
				t.Errorf("dial %s: %T, want a *net.OpError around the BlockedError", addr, err)
			}
			if !strings.Contains(err.Error(), "tenant-host") {
				t.Errorf("error %q does not name the host", err)
			}
		})
	}
	t.Run("public address passes the guard", func(t *testing.T) {
		_, err := d.DialContext(t.Context(), "tcp", "8.8.8.8:53")
		if !errors.Is(err, errWouldConnect) {
			t.Fatalf("dial 8.8.8.8: %v, want the guard to allow it (errWouldConnect)", err)
		}
	})
}
