package oauth_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/connkit/connkit/internal/oauthtest"
)

// externalRef matches any attribute that would load or link something from
// an origin: src=, href=, action=, srcset=, or a CSS url()/@import.
var externalRef = regexp.MustCompile(`(?i)(src|href|action|srcset|poster|data)\s*=\s*["']?\s*(https?:)?//|url\(|@import`)

func checkPage(t *testing.T, resp *http.Response, status int, title string) string {
	t.Helper()
	body := flowBody(t, resp)
	if resp.StatusCode != status {
		t.Errorf("status = %d, want %d", resp.StatusCode, status)
	}
	checkCallbackHeaders(t, resp)
	for k, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(body, "<title>"+title+"</title>") || !strings.Contains(body, "<h1>"+title+"</h1>") {
		t.Errorf("page lacks the title %q:\n%s", title, body)
	}
	if externalRef.MatchString(body) || strings.Contains(strings.ToLower(body), "<script") ||
		strings.Contains(strings.ToLower(body), "<link") || strings.Contains(strings.ToLower(body), "<img") {
		t.Errorf("page references another origin or runs script:\n%s", body)
	}
	// The CSP allows exactly the page's inline style and nothing else.
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.HasPrefix(csp, "default-src 'none'") {
		t.Errorf("CSP = %q", csp)
	}
	start, end := strings.Index(body, "<style>"), strings.Index(body, "</style>")
	if start < 0 || end < start {
		t.Fatalf("no inline style in\n%s", body)
	}
	sum := sha256.Sum256([]byte(body[start+len("<style>") : end]))
	if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, "style-src "+h) {
		t.Errorf("CSP %q does not allow the inline style %s", csp, h)
	}
	return body
}

func TestSuccessPage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{})
		body := checkPage(t, fx.callback(fx.start(fx.ref).String()), http.StatusOK, "Authorization completed successfully")
		if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
			t.Errorf("success page mentions a URL:\n%s", body)
		}
	})
}

func TestFailurePage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{server: oauthtest.Config{
			DenyDescription: `<script src="https://evil.example/x.js"></script>`,
		}})
		fx.srv.SetConsent(oauthtest.ConsentDeny)
		body := checkPage(t, fx.callback(fx.start(fx.ref).String()), http.StatusBadRequest, "Authorization failed")
		if !strings.Contains(body, "<code>access_denied</code>") {
			t.Errorf("failure page does not name the error:\n%s", body)
		}
		if !strings.Contains(body, "&lt;script") {
			t.Errorf("provider's description not escaped:\n%s", body)
		}
	})
}
