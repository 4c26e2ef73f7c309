package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// headerTimeoutErr is shaped like net/http's "timeout awaiting response
// headers" error: a timeout that also matches context.DeadlineExceeded
// although no context expired.
type headerTimeoutErr struct{}

func (headerTimeoutErr) Error() string   { return "net/http: timeout awaiting response headers" }
func (headerTimeoutErr) Timeout() bool   { return true }
func (headerTimeoutErr) Is(t error) bool { return t == context.DeadlineExceeded }

// Every class is judged the same bare, inside the *url.Error an
// *http.Client returns, and inside the giving-up wrapper of a *url.Error of
// the inner client: a *url.Error is a net.Error itself, and must not make
// every error it carries look like a network failure.
func TestRetryableErrorClasses(t *testing.T) {
	opErr := func(op string, err error) error { return &net.OpError{Op: op, Net: "tcp", Err: err} }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		// Transient: the next attempt may well succeed.
		{"connection refused", opErr("dial", os.NewSyscallError("connect", syscall.ECONNREFUSED)), true},
		{"dial timeout", opErr("dial", timeoutErr{"i/o timeout"}), true},
		{"connection reset", opErr("read", os.NewSyscallError("read", syscall.ECONNRESET)), true},
		{"broken pipe", fmt.Errorf("net/http: HTTP/1.x transport connection broken: %w", syscall.EPIPE), true},
		{"EOF before the response", io.EOF, true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"DNS timeout", &net.DNSError{Err: "timeout", IsTimeout: true}, true},
		{"response header timeout", headerTimeoutErr{}, true},
		// Permanent: the same request fails the same way again.
		{"nil", nil, false},
		{"context canceled", context.Canceled, false},
		{"context deadline", context.DeadlineExceeded, false},
		{"context deadline wrapped", fmt.Errorf("read: %w", context.DeadlineExceeded), false},
		{"SSRF refusal", opErr("dial", &BlockedError{Host: "h", Addr: netip.MustParseAddr("10.0.0.1"), Reason: "private"}), false},
		{"body too large", &TooLargeError{Limit: 1}, false},
		{"unknown CA", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, false},
		{"bad hostname", x509.HostnameError{Host: "h"}, false},
		{"TLS alert", opErr("remote error", tls.AlertError(42)), false},
		{"not TLS", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, false},
		{"HTTP response to HTTPS client", http.ErrSchemeMismatch, false},
		{"unsupported scheme", errors.New(`unsupported protocol scheme "ftp"`), false},
		{"malformed response", fmt.Errorf("net/http: HTTP/1.x transport connection broken: %w", errors.New(`malformed HTTP response "garbage"`)), false},
		{"DNS no such host", &net.DNSError{Err: "no such host", IsNotFound: true}, false},
		{"bad address", opErr("dial", &net.AddrError{Err: "missing port in address", Addr: "h"}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forms := map[string]error{"bare": tt.err}
			if tt.err != nil {
				inner := &url.Error{Op: "Get", URL: "https://api.example.com/x", Err: tt.err}
				forms["in *url.Error"] = inner
				forms["given up, in *url.Error"] = &url.Error{Op: "Get", URL: "https://api.example.com/x",
					Err: fmt.Errorf("httpx: giving up after 3 attempts: %w", inner)}
			}
			for form, err := range forms {
				if got := RetryableError(err); got != tt.want {
					t.Errorf("%s: RetryableError(%v) = %v, want %v", form, err, got, tt.want)
				}
			}
		})
	}
}

// rawServer accepts TCP connections on 127.0.0.1 and hands each to serve,
// which owns it. Connections and goroutines end with the test; serve may
// wait on done.
func rawServer(t *testing.T, serve func(c net.Conn, done <-chan struct{})) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				serve(c, done)
			})
		}
	})
	t.Cleanup(func() {
		close(done)
		_ = ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// readRequest reads (the start of) one request from c.
func readRequest(c net.Conn) {
	buf := make([]byte, 4096)
	_, _ = c.Read(buf)
}

// Real failures, classified through the retrying client: transient ones are
// attempted 1+RetryMax times, permanent ones once.
func TestRetryRealFailures(t *testing.T) {
	plain := newServer(t, okHandler)
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(okHandler))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	bigHeader := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Big", strings.Repeat("a", 4096))
	})
	hangUp := rawServer(t, func(c net.Conn, _ <-chan struct{}) { readRequest(c) })
	reset := rawServer(t, func(c net.Conn, _ <-chan struct{}) {
		readRequest(c)
		_ = c.(*net.TCPConn).SetLinger(0) // close with RST
	})
	garbage := rawServer(t, func(c net.Conn, _ <-chan struct{}) {
		readRequest(c)
		_, _ = io.WriteString(c, "garbage\r\n\r\n")
	})
	silent := rawServer(t, func(c net.Conn, done <-chan struct{}) {
		readRequest(c)
		<-done
	})
	// Only the case about the response header timeout gets a short one. Every
	// other case is about another failure, and its server may answer late
	// on a loaded machine: with a short limit there, a slow answer would be
	// a retried timeout and the attempts would not be the case's.
	const (
		short = 50 * time.Millisecond
		long  = time.Minute
	)
	tests := []struct {
		name          string
		url           string
		guarded       bool
		headerTimeout time.Duration
		want          int32 // attempts
	}{
		{"connection refused", "http://127.0.0.1:" + closedPort(t) + "/", false, long, 3},
		{"hang-up before the response (EOF)", "http://" + hangUp + "/", false, long, 3},
		{"connection reset", "http://" + reset + "/", false, long, 3},
		{"response header timeout", "http://" + silent + "/", false, short, 3},
		{"unsupported scheme", "ftp://" + plain.Listener.Addr().String() + "/", false, long, 1},
		{"HTTP response to HTTPS client", "https://" + plain.Listener.Addr().String() + "/", false, long, 1},
		{"certificate of an unknown CA", tlsSrv.URL, false, long, 1},
		{"malformed HTTP response", "http://" + garbage + "/", false, long, 1},
		{"response headers too large", bigHeader.URL, false, long, 1},
		{"SSRF refusal", plain.URL, true, long, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestTransport(t, Config{AllowPrivate: !tt.guarded, ResponseHeaderTimeout: tt.headerTimeout})
			tr.MaxResponseHeaderBytes = 1024
			base := &countingRT{base: tr}
			cfg := fastRetry
			cfg.RetryMax = 2
			c := newRetryClient(t, base, cfg)
			_, _, err := get(t, c, tt.url)
			if err == nil {
				t.Fatal("GET succeeded, want an error")
			}
			if n := base.calls.Load(); n != tt.want {
				t.Errorf("attempts = %d, want %d (error: %v)", n, tt.want, err)
			}
		})
	}
}
