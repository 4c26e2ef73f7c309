package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"

	"github.com/connkit/connkit/examples/hostapp/internal/app"
	"github.com/connkit/connkit/examples/hostapp/internal/browser"
	"github.com/connkit/connkit/store/keyring"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve starts the host app on a free loopback port for the test and
// returns its base URL; it stops when the test ends.
func serve(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	key, err := keyring.GenerateKey(1)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	a, err := app.New(t.Context(), app.Options{
		BaseURL:    base,
		SQLitePath: filepath.Join(t.TempDir(), "hostapp.db"),
		Key:        key,
		Logger:     slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if err := a.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return base
}

// testWriter sends the app's warnings to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// requireChromium skips without Chromium, except under CI, where the
// browser test must run (.ci/run installs Chromium).
func requireChromium(t *testing.T) {
	t.Helper()
	if browser.Available() {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but %s is missing: the browser test must run in CI (.ci/run installs Debian's chromium package)", browser.ExecPath)
	}
	t.Skipf("skipping the browser test: %s not found (Debian: apt-get install -y chromium)", browser.ExecPath)
}

// stepTimeout bounds one step of the scenario, so that a step that never
// completes fails with a report while the browser can still tell where it
// is. It and scenarioTimeout are generous: a step takes well under a second,
// but go test runs packages in parallel on loaded CI machines, and a step
// that never completes fails just the same.
const stepTimeout = 30 * time.Second

// scenarioTimeout bounds Chromium's start and the whole scenario.
const scenarioTimeout = 2 * time.Minute

// tab is a Chromium tab with step-by-step failure reports.
type tab struct {
	t   *testing.T
	ctx context.Context
}

// do runs actions for one named step of the scenario; on failure it
// reports where the browser was and what the page said.
func (b *tab) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fatal(step, err)
	}
}

func (b *tab) text(step string, sel chromedp.CSS) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		b.fatal(step, err)
	}
	return s
}

func (b *tab) fatal(step string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	b.t.Fatalf("%s: %v\nat %s\n%s", step, err, loc, body)
}

// The lifecycle in a real browser: fill the form, click CONNECT, log in and
// approve at the demo authorization server, land on the success page and
// see yellow, run the step and see green, open the log, click DISCONNECT,
// and see the step fail cleanly.
func TestBrowserLifecycle(t *testing.T) {
	requireChromium(t)
	base := serve(t)
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	tabCtx, stop, err := browser.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop) // runs before serve's cleanup: the browser goes first
	b := &tab{t: t, ctx: tabCtx}

	b.do("open the instance page",
		chromedp.Navigate(base+"/instances/"+app.SeedInstanceID),
		chromedp.WaitVisible(chromedp.CSS(`#status-demo-cloud-connection[data-color="grey"]`)))
	for _, hidden := range []string{"clientId", "clientSecret", "authorizeUrl", "tokenUrl", "scopes", "apiBaseUrl"} {
		n, err := chromedp.Run(tabCtx, chromedp.Nodes(chromedp.CSS(`#form-demo-cloud-connection [name="`+hidden+`"]`), chromedp.AtLeast(0)))
		if err != nil {
			t.Fatal(err)
		}
		if len(n) > 0 {
			t.Errorf("the customer form shows the field %q, which is hidden or filled by the template", hidden)
		}
	}

	b.do("fill the form and click CONNECT",
		chromedp.SendKeys(chromedp.ID("field-demo-cloud-connection-workspace"), "acme"),
		chromedp.Click(chromedp.ID("connect-demo-cloud-connection")),
		chromedp.WaitVisible(chromedp.ID("approve")))
	if loc, _ := chromedp.Run(tabCtx, chromedp.Location()); !strings.HasPrefix(loc, base+app.ProviderPath+"/authorize?") {
		t.Fatalf("CONNECT led to %s, want the demo authorization server", loc)
	}
	b.do("log in and approve",
		chromedp.SendKeys(chromedp.ID("password"), "demo"),
		chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitVisible(chromedp.ID("connected-page")))

	loc, err := chromedp.Run(tabCtx, chromedp.Location())
	if err != nil || !strings.HasPrefix(loc, base+app.SuccessPath+"?") {
		t.Fatalf("landed on %s (%v), want the custom success page", loc, err)
	}
	for id, want := range map[string]string{"instanceId": app.SeedInstanceID, "integrationId": app.IntegrationID,
		"requiredConfigVariableKey": app.OAuthVariable} {
		if got := b.text("read the success page", chromedp.CSS("#param-"+id)); got != want {
			t.Errorf("success page: %s = %q, want %q", id, got, want)
		}
	}
	b.do("see yellow on the success page",
		chromedp.WaitVisible(chromedp.CSS(`#connected-page #status-demo-cloud-connection[data-color="yellow"]`)))
	b.do("go back to the instance and see yellow",
		chromedp.Click(chromedp.ID("back-to-instance")),
		chromedp.WaitVisible(chromedp.CSS(`#conn-demo-cloud-connection #status-demo-cloud-connection[data-color="yellow"]`)))

	b.do("run the step and see green",
		chromedp.Click(chromedp.ID("run-list-projects")),
		chromedp.WaitVisible(chromedp.CSS(`#status-demo-cloud-connection[data-color="green"]`)))
	if got := b.text("read the step result", chromedp.CSS("#result-list-projects")); !strings.Contains(got, "Succeeded") || !strings.Contains(got, "Apollo") {
		t.Errorf("step result = %q, want success listing the projects", got)
	}

	b.do("open the log",
		chromedp.Click(chromedp.ID("log-demo-cloud-connection")),
		chromedp.WaitVisible(chromedp.CSS(`#log tr[data-event="connected"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#log tr[data-event="used"]`)))

	b.do("click DISCONNECT",
		chromedp.Navigate(base+"/instances/"+app.SeedInstanceID),
		chromedp.WaitVisible(chromedp.ID("disconnect-demo-cloud-connection")),
		chromedp.Click(chromedp.ID("disconnect-demo-cloud-connection")),
		chromedp.WaitVisible(chromedp.CSS(`#status-demo-cloud-connection[data-color="grey"]`)))
	if got := b.text("read the notice", chromedp.CSS("#notice")); !strings.Contains(got, "revoked at the provider") {
		t.Errorf("notice after DISCONNECT = %q, want the tokens revoked", got)
	}

	b.do("run the step again and see it fail cleanly",
		chromedp.Click(chromedp.ID("run-list-projects")),
		chromedp.WaitVisible(chromedp.CSS(`#result-list-projects.fail`)))
	got := b.text("read the failure", chromedp.CSS("#result-list-projects"))
	if !strings.Contains(got, "is not connected") || !strings.Contains(got, "CONNECT it first") {
		t.Errorf("step result after DISCONNECT = %q, want a clear not-connected error", got)
	}
	page := b.text("read the page", chromedp.CSS("body"))
	for _, secret := range []string{"demo-client-secret", "dc1."} {
		if strings.Contains(page, secret) {
			t.Errorf("the instance page shows %q", secret)
		}
	}
}
