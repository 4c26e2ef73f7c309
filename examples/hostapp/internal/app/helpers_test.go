package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/connkit/connkit/examples/hostapp/internal/app"
	"github.com/connkit/connkit/store/keyring"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// logBuffer collects the app's log output for secret checks.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// running is an app served on a loopback port for one test.
type running struct {
	app  *app.App
	base string
	logs *logBuffer
	stop func()
}

// config is what a test may vary between starts of the same app.
type config struct {
	dbPath      string
	postgresDSN string
	prefix      string
	key         keyring.Key
}

func newConfig(t *testing.T) config {
	t.Helper()
	key, err := keyring.GenerateKey(1)
	if err != nil {
		t.Fatal(err)
	}
	return config{dbPath: filepath.Join(t.TempDir(), "hostapp.db"), key: key}
}

// start serves the app on a free loopback port until stop or the end of
// the test.
func start(t *testing.T, c config) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	opts := app.Options{
		BaseURL:     "http://" + ln.Addr().String(),
		SQLitePath:  c.dbPath,
		PostgresDSN: c.postgresDSN,
		TablePrefix: c.prefix,
		Key:         c.key,
		Logger:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	a, err := app.New(t.Context(), opts)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	var once sync.Once
	r := &running{app: a, base: opts.BaseURL, logs: logs}
	r.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
			if err := a.Close(context.Background()); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	t.Cleanup(r.stop)
	return r
}

// browser is a minimal browser: it keeps cookies (CONNECT is bound to the
// browser that started it with one), follows redirects itself so tests can
// see where each one goes, and keeps the last page.
type browser struct {
	t      *testing.T
	client *http.Client
	// URL, Status and Body describe the last page.
	URL    *url.URL
	Status int
	Body   string
	// Trail lists every URL visited by the last navigation, redirects
	// included.
	Trail []string
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	t.Cleanup(b.client.CloseIdleConnections)
	return b
}

func (b *browser) do(req *http.Request) {
	b.t.Helper()
	b.Trail = nil
	for range 10 {
		b.Trail = append(b.Trail, req.URL.String())
		resp, err := b.client.Do(req)
		if err != nil {
			b.t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusSeeOther || resp.StatusCode == http.StatusFound {
			loc, err := resp.Location()
			if err != nil {
				b.t.Fatal(err)
			}
			req, _ = http.NewRequestWithContext(b.t.Context(), http.MethodGet, loc.String(), nil)
			continue
		}
		b.URL, b.Status, b.Body = req.URL, resp.StatusCode, string(body)
		return
	}
	b.t.Fatal("too many redirects")
}

// get opens a URL.
func (b *browser) get(u string) *browser {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	b.do(req)
	return b
}

// post submits a form.
func (b *browser) post(u string, form url.Values) *browser {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	b.do(req)
	return b
}

// want fails unless the last page has the status and contains every
// string.
func (b *browser) want(status int, contains ...string) {
	b.t.Helper()
	if b.Status != status {
		b.t.Fatalf("%s: status %d, want %d\n%s", b.URL, b.Status, status, b.Body)
	}
	for _, s := range contains {
		if !strings.Contains(b.Body, s) {
			b.t.Fatalf("%s: page lacks %q\n%s", b.URL, s, b.Body)
		}
	}
}

// lacks fails if the last page contains any of the strings.
func (b *browser) lacks(strs ...string) {
	b.t.Helper()
	for _, s := range strs {
		if strings.Contains(b.Body, s) {
			b.t.Errorf("%s: page contains %q", b.URL, s)
		}
	}
}

// find returns the first submatch of re in the last page.
func (b *browser) find(re string) string {
	b.t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(b.Body)
	if m == nil {
		b.t.Fatalf("%s: no match for %s\n%s", b.URL, re, b.Body)
	}
	return m[1]
}

// OAuth variable paths of the seeded instance.
const (
	instancePath = "/instances/" + app.SeedInstanceID
	oauthPath    = instancePath + "/connections/Demo%20Cloud%20Connection"
	apiKeyPath   = instancePath + "/connections/Demo%20Cloud%20API%20key%20Connection"
	oauthSlug    = "demo-cloud-connection"
	apiKeySlug   = "demo-cloud-api-key-connection"
)

// connect fills the workspace, clicks CONNECT, logs in at the demo provider
// and approves; the browser ends on the page the callback redirects to.
func connect(t *testing.T, b *browser, base, password, action string) {
	t.Helper()
	b.post(base+oauthPath+"/connect", url.Values{"workspace": {"acme"}})
	b.want(http.StatusOK, "Sign in to authorize", `name="request_id"`)
	if !strings.HasPrefix(b.URL.String(), base+app.ProviderPath+"/authorize?") {
		t.Fatalf("CONNECT led to %s, want the demo provider's authorize endpoint", b.URL)
	}
	consent := b.URL.String()
	id := b.find(`name="request_id" value="([^"]+)"`)
	b.post(consent, url.Values{"request_id": {id}, "username": {"demo"}, "password": {password}, "action": {action}})
}

// statusColor returns the data-color of a connection's badge on the page.
func statusColor(b *browser, slug string) string {
	b.t.Helper()
	return b.find(`id="status-` + regexp.QuoteMeta(slug) + `" data-color="([a-z]+)"`)
}
