package httpx

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTransportBlocksLoopbackByDefault(t *testing.T) {
	srv := newServer(t, okHandler)
	// A refusal must not wait for anything: the dial timeout is set far
	// beyond the bound below, so a guard that let the dial run into a
	// timeout (or slept) before refusing fails the test (the client's
	// Timeout ends such a wait at the bound, with an error that is not
	// ErrBlocked), while a loaded machine that merely schedules the test
	// late does not.
	const (
		dialTimeout = 5 * time.Minute
		failFast    = 30 * time.Second
	)
	c := &http.Client{Transport: newTestTransport(t, Config{DialTimeout: dialTimeout}), Timeout: failFast}

	tests := []struct {
		name     string
		url      string
		wantHost string
	}{
		{"IP literal", srv.URL, "127.0.0.1"},
		{"localhost resolves to loopback", "http://localhost:" + srv.port() + "/", "localhost"},
		{"IPv4-mapped literal", "http://[::ffff:127.0.0.1]:" + srv.port() + "/", "::ffff:127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, _, err := get(t, c, tt.url)
			if !errors.Is(err, ErrBlocked) {
				t.Fatalf("GET %s: %v, want ErrBlocked", tt.url, err)
			}
			var be *BlockedError
			if !errors.As(err, &be) {
				t.Fatalf("GET %s: %v, want a *BlockedError", tt.url, err)
			}
			var ue *url.Error
			if !errors.As(err, &ue) {
				t.Errorf("GET %s: %T, want *url.Error on top", tt.url, err)
			}
			if be.Host != tt.wantHost {
				t.Errorf("BlockedError.Host = %q, want %q", be.Host, tt.wantHost)
			}
			if !strings.Contains(err.Error(), tt.wantHost) {
				t.Errorf("error %q does not name host %q", err, tt.wantHost)
			}
			if d := time.Since(start); d > failFast {
				t.Errorf("blocked dial took %v; it must fail fast, not wait for the %v dial timeout", d, dialTimeout)
			}
		})
	}
	if n := srv.hits.Load(); n != 0 {
		t.Errorf("server got %d requests through a guarded transport, want 0", n)
	}
}

func TestTransportAllowPrivate(t *testing.T) {
	srv := newServer(t, okHandler)
	c := &http.Client{Transport: newTestTransport(t, Config{AllowPrivate: true})}
	for _, u := range []string{
		srv.URL,
		"http://localhost:" + srv.port() + "/",
		"http://[::ffff:127.0.0.1]:" + srv.port() + "/",
	} {
		code, body, err := get(t, c, u)
		if err != nil || code != http.StatusOK || body != "ok" {
			t.Errorf("GET %s with AllowPrivate = %d %q %v, want 200 ok", u, code, body, err)
		}
	}
}

func TestTransportAllowPrefixesAndResolver(t *testing.T) {
	srv := newServer(t, okHandler)
	cfg := Config{
		AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		LookupNetIP:   staticResolver(map[string]string{"public.test": "127.0.0.1", "internal.test": "127.0.0.2"}),
	}
	c := &http.Client{Transport: newTestTransport(t, cfg)}
	if code, _, err := get(t, c, "http://public.test:"+srv.port()+"/"); err != nil || code != http.StatusOK {
		t.Errorf("GET allowlisted server via resolver = %d %v, want 200", code, err)
	}
	_, _, err := get(t, c, "http://internal.test:"+srv.port()+"/")
	var be *BlockedError
	if !errors.As(err, &be) || be.Host != "internal.test" || be.Addr != netip.MustParseAddr("127.0.0.2") {
		t.Errorf("GET internal.test = %v, want BlockedError{internal.test, 127.0.0.2}", err)
	}
	_, _, err = get(t, c, "http://unknown.test:"+srv.port()+"/")
	if err == nil || errors.Is(err, ErrBlocked) {
		t.Errorf("GET unknown.test = %v, want a resolution error", err)
	}
}

// TestTransportRedirectToPrivateRefused marks the first server "public"
// with a /32 allowlist entry and checks that a redirect to a second server
// on 127.0.0.2 is refused at the redirect hop's dial.
func TestTransportRedirectToPrivateRefused(t *testing.T) {
	internal := newServerOn(t, "127.0.0.2", okHandler)
	var target string
	public := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/final" {
			okHandler(w, r)
			return
		}
		http.Redirect(w, r, target, http.StatusFound)
	})
	cfg := Config{
		AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		LookupNetIP:   staticResolver(map[string]string{"internal.test": "127.0.0.2", "public.test": "127.0.0.1"}),
	}
	c := &http.Client{Transport: newTestTransport(t, cfg)}

	t.Run("control: redirect to an allowed host is followed", func(t *testing.T) {
		target = "http://public.test:" + public.port() + "/final"
		code, body, err := get(t, c, public.URL+"/start")
		if err != nil || code != http.StatusOK || body != "ok" {
			t.Fatalf("GET = %d %q %v, want 200 ok after redirect", code, body, err)
		}
	})
	for _, tt := range []struct{ name, target, host string }{
		{"IP literal", "http://127.0.0.2:" + internal.port() + "/", "127.0.0.2"},
		{"name resolving to private", "http://internal.test:" + internal.port() + "/", "internal.test"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			target = tt.target
			before := public.hits.Load()
			_, _, err := get(t, c, public.URL+"/start")
			var be *BlockedError
			if !errors.As(err, &be) {
				t.Fatalf("GET with redirect to %s = %v, want *BlockedError", tt.target, err)
			}
			if be.Host != tt.host || be.Addr != netip.MustParseAddr("127.0.0.2") {
				t.Errorf("BlockedError = {Host:%q Addr:%s}, want {%q 127.0.0.2}", be.Host, be.Addr, tt.host)
			}
			if got := public.hits.Load() - before; got != 1 {
				t.Errorf("public server hits = %d, want 1 (the redirecting hop)", got)
			}
		})
	}
	if n := internal.hits.Load(); n != 0 {
		t.Errorf("internal server got %d requests, want 0", n)
	}
}

func TestNoRedirect(t *testing.T) {
	final := newServer(t, okHandler)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, final.URL, http.StatusFound)
	})
	c := &http.Client{Transport: newTestTransport(t, Config{AllowPrivate: true}), CheckRedirect: NoRedirect}
	code, _, err := get(t, c, srv.URL)
	if err != nil || code != http.StatusFound {
		t.Fatalf("GET = %d %v, want the 302 itself", code, err)
	}
	if n := final.hits.Load(); n != 0 {
		t.Errorf("redirect target got %d requests, want 0", n)
	}
}

func TestNewTransportDefaults(t *testing.T) {
	tr := newTestTransport(t, Config{})
	type settings struct {
		HTTP2               bool
		MaxIdleConnsPerHost int
		TLSHandshake        time.Duration
		IdleConn            time.Duration
		ResponseHeader      time.Duration
		MaxHeaderBytes      int64
		TLSMinVersion       uint16
		HasProxy            bool
	}
	got := settings{
		HTTP2:               tr.ForceAttemptHTTP2,
		MaxIdleConnsPerHost: tr.MaxIdleConnsPerHost,
		TLSHandshake:        tr.TLSHandshakeTimeout,
		IdleConn:            tr.IdleConnTimeout,
		ResponseHeader:      tr.ResponseHeaderTimeout,
		MaxHeaderBytes:      tr.MaxResponseHeaderBytes,
		TLSMinVersion:       tr.TLSClientConfig.MinVersion,
		HasProxy:            tr.Proxy != nil,
	}
	want := settings{
		HTTP2:               true,
		MaxIdleConnsPerHost: DefaultMaxIdleConnsPerHost,
		TLSHandshake:        DefaultTLSHandshakeTimeout,
		IdleConn:            DefaultIdleConnTimeout,
		ResponseHeader:      DefaultResponseHeaderTimeout,
		MaxHeaderBytes:      DefaultMaxResponseHeaderBytes,
		TLSMinVersion:       tls.VersionTLS12,
		HasProxy:            false,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("NewTransport(Config{}) settings (-want +got):\n%s", diff)
	}
}

// TestTransportHTTP2 checks that the custom dialer keeps HTTP/2 over TLS.
func TestTransportHTTP2(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.Proto))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	c := &http.Client{Transport: newTestTransport(t, Config{
		AllowPrefixes:   []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	})}
	code, proto, err := get(t, c, srv.URL)
	if err != nil || code != http.StatusOK || proto != "HTTP/2.0" {
		t.Fatalf("GET over TLS = %d %q %v, want 200 HTTP/2.0", code, proto, err)
	}
}

// A server that accepts a request and never answers holds a request made
// without a deadline for DefaultResponseHeaderTimeout, not for good; a
// negative ResponseHeaderTimeout lifts the limit. (Review L8.)
func TestResponseHeaderTimeout(t *testing.T) {
	tests := []struct {
		name     string
		cfg      time.Duration
		wantWait time.Duration // 0: no limit
	}{
		{"default", 0, DefaultResponseHeaderTimeout},
		{"explicit", 5 * time.Second, 5 * time.Second},
		{"negative means no limit", -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				pn := newPipeNet()
				srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					select { // silent until released or the client hangs up
					case <-release:
					case <-r.Context().Done():
					}
				})}
				go func() { _ = srv.Serve(pn) }()
				tr := NewTransport(Config{ResponseHeaderTimeout: tt.cfg})
				tr.DialContext = pn.DialContext // in-memory, so the fake clock runs
				t.Cleanup(func() {
					tr.CloseIdleConnections()
					_ = srv.Close()
				})
				start := time.Now()
				type result struct {
					err error
					at  time.Duration
				}
				done := make(chan result, 1)
				go func() {
					resp, err := (&http.Client{Transport: tr}).Get("http://api.example.com/slow")
					if err == nil {
						resp.Body.Close()
					}
					done <- result{err, time.Since(start)}
				}()
				limit := tt.wantWait
				if limit == 0 {
					limit = 24 * time.Hour
				}
				time.Sleep(limit - time.Nanosecond)
				synctest.Wait()
				select {
				case r := <-done:
					t.Fatalf("request ended after %v (err %v), before %v", r.at, r.err, limit)
				default:
				}
				if tt.wantWait == 0 {
					close(release)
					if r := <-done; r.err != nil {
						t.Fatalf("released request failed: %v", r.err)
					}
					return
				}
				var r result
				select {
				case r = <-done:
				case <-time.After(24 * time.Hour):
					close(release)
					t.Fatalf("request still waiting for headers a day later, want a timeout after %v", tt.wantWait)
				}
				var ne interface{ Timeout() bool }
				if !errors.As(r.err, &ne) || !ne.Timeout() {
					t.Fatalf("request error = %v, want a timeout", r.err)
				}
				if r.at != tt.wantWait {
					t.Errorf("request timed out after %v, want %v", r.at, tt.wantWait)
				}
				close(release)
			})
		})
	}
}
