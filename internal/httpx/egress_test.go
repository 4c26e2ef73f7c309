package httpx

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestConfigEgress(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want Egress
		str  string
	}{
		{"direct", Config{}, Egress{}, "direct (source address chosen by the operating system)"},
		{
			"proxy with credentials and local address",
			Config{
				Proxy:     &url.URL{Scheme: "http", User: url.UserPassword("user", "SENTINEL"), Host: "proxy.example:3128", Path: "/x", RawQuery: "k=SENTINEL"},
				LocalAddr: netip.MustParseAddr("203.0.113.7"),
			},
			Egress{Proxy: &url.URL{Scheme: "http", Host: "proxy.example:3128"}, LocalAddr: netip.MustParseAddr("203.0.113.7")},
			"proxy http://proxy.example:3128, source address 203.0.113.7",
		},
		{
			"mapped local address is reported as IPv4",
			Config{LocalAddr: netip.MustParseAddr("::ffff:198.51.100.1")},
			Egress{LocalAddr: netip.MustParseAddr("198.51.100.1")},
			"source address 198.51.100.1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cfg.Egress()
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
				t.Errorf("Egress() (-want +got):\n%s", diff)
			}
			if s := got.String(); s != tt.str {
				t.Errorf("Egress().String() = %q, want %q", s, tt.str)
			}
			if strings.Contains(got.String(), "SENTINEL") {
				t.Errorf("Egress leaks proxy credentials: %q", got)
			}
		})
	}
}

// proxyServer is a loopback forward proxy stand-in: it answers proxied
// requests itself (it never forwards anything) and records what it saw.
type proxyServer struct {
	*hitServer
	mu      sync.Mutex
	targets []string
	auth    []string
}

func newProxy(t *testing.T) *proxyServer {
	p := &proxyServer{}
	p.hitServer = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.targets = append(p.targets, r.URL.String())
		p.auth = append(p.auth, r.Header.Get("Proxy-Authorization"))
		p.mu.Unlock()
		_, _ = io.WriteString(w, "via proxy")
	})
	return p
}

func TestProxyEgress(t *testing.T) {
	proxy := newProxy(t)
	proxyURL, err := url.Parse(proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxyURL.User = url.UserPassword("egress", "pw")

	// The resolver answers only the proxied-target check. A lookup made
	// from a dial (the request bypassing the proxy) fails, so a broken
	// proxy path can never connect to the "public" address.
	var targetChecks atomic.Int32
	lookup := func(ctx context.Context, _, host string) ([]netip.Addr, error) {
		if dialHostFrom(ctx) != "" {
			return nil, errors.New("test: request bypassed the proxy")
		}
		targetChecks.Add(1)
		switch host {
		case "api.example.test":
			return []netip.Addr{netip.MustParseAddr("8.8.8.8")}, nil
		case "internal.example.test":
			return []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("10.0.0.5")}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	// The guard stays on (no AllowPrivate): the loopback proxy is reachable
	// because the dial to the configured proxy is exempt.
	c := &http.Client{Transport: newTestTransport(t, Config{Proxy: proxyURL, LookupNetIP: lookup})}

	code, body, err := get(t, c, "http://api.example.test/v1/items?page=2")
	if err != nil || code != http.StatusOK || body != "via proxy" {
		t.Fatalf("GET through proxy = %d %q %v, want 200 via proxy", code, body, err)
	}
	if n := proxy.hits.Load(); n != 1 {
		t.Errorf("proxy hits = %d, want 1", n)
	}
	if n := targetChecks.Load(); n != 1 {
		t.Errorf("target checks = %d, want 1", n)
	}
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("egress:pw"))
	proxy.mu.Lock()
	gotTargets, gotAuth := proxy.targets, proxy.auth
	proxy.mu.Unlock()
	if diff := cmp.Diff([]string{"http://api.example.test/v1/items?page=2"}, gotTargets); diff != "" {
		t.Errorf("proxied targets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{wantAuth}, gotAuth); diff != "" {
		t.Errorf("Proxy-Authorization (-want +got):\n%s", diff)
	}

	// Private targets are refused before anything reaches the proxy.
	for _, u := range []string{
		"http://10.0.0.1/",
		"http://169.254.169.254/latest/meta-data/",
		"http://[::1]:8080/",
		"http://internal.example.test/",
	} {
		_, _, err := get(t, c, u)
		if !errors.Is(err, ErrBlocked) {
			t.Errorf("GET %s through proxy = %v, want ErrBlocked", u, err)
		}
	}
	if _, _, err := get(t, c, "http://unknown.example.test/"); err == nil || errors.Is(err, ErrBlocked) {
		t.Errorf("GET unresolvable host through proxy = %v, want a resolution error", err)
	}
	if n := proxy.hits.Load(); n != 1 {
		t.Errorf("proxy hits after refused targets = %d, want still 1", n)
	}
}

func TestProxyResolvesNames(t *testing.T) {
	proxy := newProxy(t)
	proxyURL, _ := url.Parse(proxy.URL)
	lookup := func(context.Context, string, string) ([]netip.Addr, error) {
		return nil, errors.New("test: no lookups expected when the proxy resolves names")
	}
	c := &http.Client{Transport: newTestTransport(t, Config{Proxy: proxyURL, ProxyResolvesNames: true, LookupNetIP: lookup})}
	if code, _, err := get(t, c, "http://unresolvable-here.test/"); err != nil || code != http.StatusOK {
		t.Errorf("GET = %d %v, want 200 from the proxy", code, err)
	}
	if _, _, err := get(t, c, "http://192.168.0.1/"); !errors.Is(err, ErrBlocked) {
		t.Errorf("GET private literal = %v, want ErrBlocked even when the proxy resolves names", err)
	}
	if n := proxy.hits.Load(); n != 1 {
		t.Errorf("proxy hits = %d, want 1", n)
	}
}

func TestLocalAddrEgress(t *testing.T) {
	for _, local := range []string{"127.0.0.1", "127.0.0.3"} {
		t.Run(local, func(t *testing.T) {
			var remote atomic.Value
			srv := newServerOn(t, "127.0.0.2", func(w http.ResponseWriter, r *http.Request) {
				host, _, _ := net.SplitHostPort(r.RemoteAddr)
				remote.Store(host)
			})
			cfg := Config{AllowPrivate: true, LocalAddr: netip.MustParseAddr(local)}
			if got := cfg.Egress().LocalAddr.String(); got != local {
				t.Errorf("Egress().LocalAddr = %s, want %s", got, local)
			}
			c := &http.Client{Transport: newTestTransport(t, cfg)}
			if code, _, err := get(t, c, srv.URL); err != nil || code != http.StatusOK {
				t.Fatalf("GET = %d %v", code, err)
			}
			if got, _ := remote.Load().(string); got != local {
				t.Errorf("server saw RemoteAddr %q, want %q", got, local)
			}
		})
	}
}

func TestLocalAddrWithResolverSkipsOtherFamily(t *testing.T) {
	srv := newServer(t, okHandler)
	lookup := func(context.Context, string, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.1")}, nil
	}
	c := &http.Client{Transport: newTestTransport(t, Config{
		AllowPrivate: true,
		LocalAddr:    netip.MustParseAddr("127.0.0.1"),
		LookupNetIP:  lookup,
	})}
	if code, _, err := get(t, c, "http://dual.test:"+srv.port()+"/"); err != nil || code != http.StatusOK {
		t.Errorf("GET = %d %v, want 200 over IPv4", code, err)
	}
}
