package httpx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

const sentinel = "SENTINEL"

func TestRedactURL(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"https://x/?api_key=SENTINEL", "https://x/?api_key=REDACTED"},
		{"https://user:SENTINEL@api.test/v1/items?page=2&api_key=SENTINEL", "https://api.test/v1/items?page=REDACTED&api_key=REDACTED"},
		{"https://api.test/cb?SENTINEL", "https://api.test/cb?REDACTED"},
		{"https://api.test/cb?a=1&&b=", "https://api.test/cb?a=REDACTED&&b=REDACTED"},
		{"https://api.test/cb#access_token=SENTINEL", "https://api.test/cb#REDACTED"},
		{"https://api.test/cb?", "https://api.test/cb"},
		{"https://api.test/path%2Fenc?k%20ey=v", "https://api.test/path%2Fenc?k%20ey=REDACTED"},
		{"https://api.test/plain", "https://api.test/plain"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := RedactURL(u); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if tt.in != u.String() && !strings.Contains(tt.in, "%2F") {
			t.Errorf("RedactURL modified its argument: %q", u)
		}
	}
	if got := RedactURL(nil); got != "" {
		t.Errorf("RedactURL(nil) = %q", got)
	}
}

func TestRedactText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"no urls here", "no urls here"},
		{`Get "https://x/?api_key=SENTINEL": dial tcp: refused`, `Get "https://x/?api_key=REDACTED": dial tcp: refused`},
		{"GET http://a.test/?k=SENTINEL (status: 503) then https://b.test/p?t=SENTINEL", "GET http://a.test/?k=REDACTED (status: 503) then https://b.test/p?t=REDACTED"},
		{"bad http://a.test/%zz?k=SENTINEL end", "bad http://a.test/REDACTED end"},
		{"odd ://host/?k=SENTINEL", "odd ://host/REDACTED"},
		{"creds https://u:SENTINEL@h.test/", "creds https://h.test/"},
		{"unparseable 0://?@&key=SENTINEL end", "unparseable 0:///REDACTED end"}, // "@" in the query is not userinfo
	}
	for _, tt := range tests {
		if got := redactText(tt.in); got != tt.want {
			t.Errorf("redactText(%q) =\n %q, want\n %q", tt.in, got, tt.want)
		}
	}
}

// TestRedactErrorRealFailure fails a request to https://x/?api_key=SENTINEL
// ("x" resolves to 127.0.0.1 through the test resolver, on a port with no
// listener) and checks the error string after RedactError.
func TestRedactErrorRealFailure(t *testing.T) {
	port := closedPort(t)
	cfg := Config{AllowPrivate: true, LookupNetIP: staticResolver(map[string]string{"x": "127.0.0.1"})}
	target := "https://x:" + port + "/?api_key=" + sentinel
	clients := map[string]*http.Client{
		"plain":    {Transport: newTestTransport(t, cfg)},
		"retrying": newRetryClient(t, newTestTransport(t, cfg), fastRetry),
	}
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			_, _, err := get(t, c, target)
			if err == nil {
				t.Fatal("request to a closed port succeeded")
			}
			if !strings.Contains(err.Error(), sentinel) {
				t.Fatalf("test premise: raw error %q should contain the query secret", err)
			}
			red := RedactError(err)
			if strings.Contains(red.Error(), sentinel) {
				t.Errorf("RedactError leaks the secret: %q", red)
			}
			if !strings.Contains(red.Error(), "api_key=REDACTED") {
				t.Errorf("RedactError(%q) lost the key", red)
			}
			if !errors.Is(red, syscall.ECONNREFUSED) {
				t.Errorf("RedactError broke the chain: %v", red)
			}
			var ue *url.Error
			if !errors.As(red, &ue) || strings.Contains(ue.URL, sentinel) {
				t.Errorf("errors.As(*url.Error) = %v, URL %q", ue, ue.URL)
			}
		})
	}
}

type timeoutErr struct{ msg string }

func (e timeoutErr) Error() string { return e.msg }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestRedactErrorWrapped(t *testing.T) {
	inner := timeoutErr{msg: "i/o timeout talking to https://idp.test/token?client_secret=" + sentinel}
	ue := &url.Error{Op: "Post", URL: "https://idp.test/token?code=" + sentinel, Err: inner}
	for _, err := range []error{ue, fmt.Errorf("oauth: %w", ue)} {
		red := RedactError(err)
		if strings.Contains(red.Error(), sentinel) {
			t.Errorf("RedactError(%q) = %q leaks the secret", err, red)
		}
		var got *url.Error
		if !errors.As(red, &got) {
			t.Fatalf("errors.As(*url.Error) failed on %v", red)
		}
		if !got.Timeout() {
			t.Errorf("Timeout() lost through redaction")
		}
		var te timeoutErr
		if !errors.As(red, &te) {
			t.Errorf("inner error lost through redaction")
		}
	}
	if RedactError(nil) != nil {
		t.Error("RedactError(nil) != nil")
	}
	plain := errors.New("nothing secret")
	if RedactError(plain) != plain {
		t.Error("RedactError rewrapped an error without URLs")
	}
}

// The URL of a *url.Error is redacted whatever its form and wherever the
// error sits in the chain.
func TestRedactErrorURLForms(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"unparseable URL", &url.Error{Op: "Get", URL: "%zz?key=" + sentinel, Err: io.EOF},
			`Get "%zz?REDACTED": EOF`},
		{"unparseable URL with userinfo", &url.Error{Op: "Get", URL: "http://u:" + sentinel + "@h%zz/p?k=" + sentinel, Err: io.EOF},
			`Get "http://h%zz/p?REDACTED": EOF`},
		{"wrapped relative URL", fmt.Errorf("oauth: %w", &url.Error{Op: "Post", URL: "/token?code=" + sentinel, Err: io.EOF}),
			`oauth: Post "/token?code=REDACTED": EOF`},
		{"wrapped URL that needs quoting", fmt.Errorf("oauth: %w", &url.Error{Op: "Get", URL: "/a\"b?code=" + sentinel, Err: io.EOF}),
			`oauth: Get "/a%22b?code=REDACTED": EOF`},
		{"joined", errors.Join(io.ErrUnexpectedEOF, &url.Error{Op: "Get", URL: "?t=" + sentinel, Err: io.EOF}),
			"unexpected EOF\nGet \"?t=REDACTED\": EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RedactError(tt.err)
			if got.Error() != tt.want {
				t.Errorf("RedactError = %q, want %q", got, tt.want)
			}
			if !errors.Is(got, io.EOF) {
				t.Errorf("RedactError lost the chain")
			}
		})
	}
}

// TestSlogLoggerRedacts drives go-retryablehttp's logging (request, retry
// and failure records) into text and JSON handlers and checks that no query
// secret or credential reaches the output.
func TestSlogLoggerRedacts(t *testing.T) {
	handlers := map[string]func(*bytes.Buffer) slog.Handler{
		"text": func(b *bytes.Buffer) slog.Handler {
			return slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})
		},
		"json": func(b *bytes.Buffer) slog.Handler {
			return slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})
		},
	}
	for name, mk := range handlers {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			cfg := fastRetry
			cfg.RetryMax = 1
			cfg.Logger = slog.New(mk(&buf))
			srv := newStatusSeq(t, 503, 200)
			c := newRetryClient(t, privateTransport(t), cfg)

			u := strings.Replace(srv.URL, "http://", "http://user:"+sentinel+"@", 1) + "/items?api_key=" + sentinel
			if code, _, err := get(t, c, u); err != nil || code != 200 {
				t.Fatalf("GET = %d %v", code, err)
			}
			_, _, err := get(t, c, "http://127.0.0.1:"+closedPort(t)+"/?token="+sentinel)
			if err == nil {
				t.Fatal("request to a closed port succeeded")
			}

			// Direct adapter use with values go-retryablehttp does not
			// send today.
			l := SlogLogger(cfg.Logger)
			pu, _ := url.Parse("https://h.test/?k=" + sentinel)
			l.Warn("direct https://h.test/?k="+sentinel,
				"header", http.Header{"Authorization": {"Bearer " + sentinel}},
				"u", pu, "uv", *pu,
				"err", &url.Error{Op: "Get", URL: pu.String(), Err: errors.New("boom")},
				"wait", time.Second, "n", 3, "stringer", net.ParseIP("10.0.0.1"),
				"dangling")
			l.Info("info")
			l.Error("error")
			l.Debug("debug")

			out := buf.String()
			for _, want := range []string{"performing request", "retrying request", "request failed", "REDACTED", "direct"} {
				if !strings.Contains(out, want) {
					t.Errorf("log output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, sentinel) {
				t.Errorf("log output leaks %s:\n%s", sentinel, out)
			}
		})
	}
}

func TestSlogLoggerLevelFiltering(t *testing.T) {
	var buf bytes.Buffer
	l := SlogLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})))
	l.Debug("debug-record")
	l.Info("info-record")
	l.Warn("warn-record")
	out := buf.String()
	if strings.Contains(out, "debug-record") || strings.Contains(out, "info-record") || !strings.Contains(out, "warn-record") {
		t.Errorf("level filtering wrong:\n%s", out)
	}
}
