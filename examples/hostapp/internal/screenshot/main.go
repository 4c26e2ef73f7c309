// Command screenshot regenerates docs/instance.png, the README's picture of
// the host app's instance page, and docs/instance.golden.html, the page's
// text that a test compares with the app (see internal/golden). It starts
// the host app on a free loopback port with a fresh database, drives
// headless Chromium (see internal/browser) through CONNECT, the demo
// provider's login and a step run, saves an API key on the second
// connection, takes a full-page screenshot of the instance page and saves
// the page's normalized text:
//
//	go run ./examples/hostapp/internal/screenshot            # writes both files in docs/
//	go run ./examples/hostapp/internal/screenshot -o x.png -golden x.html
//
// Run it from the repository root, and look at the new picture before
// committing it with the golden file. It needs /usr/bin/chromium.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/connkit/connkit/examples/hostapp/internal/app"
	"github.com/connkit/connkit/examples/hostapp/internal/browser"
	"github.com/connkit/connkit/examples/hostapp/internal/democloud"
	"github.com/connkit/connkit/examples/hostapp/internal/golden"
	"github.com/connkit/connkit/store/keyring"
)

func main() {
	out := flag.String("o", filepath.FromSlash(golden.PNG), "output PNG `file`")
	goldenOut := flag.String("golden", filepath.FromSlash(golden.HTML), "output `file` for the page's normalized text")
	width := flag.Int64("width", 1200, "viewport width in CSS pixels")
	flag.Parse()
	if err := run(*out, *goldenOut, *width); err != nil {
		fmt.Fprintln(os.Stderr, "screenshot:", err)
		os.Exit(1)
	}
	fmt.Println("wrote", *out, "and", *goldenOut)
}

func run(out, goldenOut string, width int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "connkit-screenshot-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	key, err := keyring.GenerateKey(1)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	a, err := app.New(ctx, app.Options{BaseURL: base, SQLitePath: filepath.Join(dir, "hostapp.db"), Key: key,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		ln.Close()
		return err
	}
	serveCtx, stopServe := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- a.Serve(serveCtx, ln) }()
	defer func() {
		stopServe()
		<-served
		_ = a.Close(context.Background())
	}()

	tab, stop, err := browser.Start(ctx, filepath.Join(dir, "chromium"))
	if err != nil {
		return err
	}
	defer stop()

	instance := base + "/instances/" + app.SeedInstanceID
	err = chromedp.Do(tab,
		chromedp.EmulateViewport(width, 900),
		chromedp.Navigate(instance),
		chromedp.SendKeys(chromedp.ID("field-demo-cloud-connection-workspace"), golden.Workspace),
		chromedp.Click(chromedp.ID("connect-demo-cloud-connection")),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), "demo"),
		chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitVisible(chromedp.ID("back-to-instance")),
		chromedp.Click(chromedp.ID("back-to-instance")),
		chromedp.WaitVisible(chromedp.ID("run-list-projects")),
		chromedp.Click(chromedp.ID("run-list-projects")),
		chromedp.WaitVisible(chromedp.CSS(`#status-demo-cloud-connection[data-color="green"]`)),
		chromedp.SendKeys(chromedp.ID("field-demo-cloud-api-key-connection-apiKey"), democloud.DemoAPIKey),
		chromedp.Click(chromedp.ID("save-demo-cloud-api-key-connection")),
		chromedp.WaitVisible(chromedp.CSS(`#status-demo-cloud-api-key-connection[data-color="yellow"]`)),
		// A fresh load without the one-shot notice of the save.
		chromedp.Navigate(instance),
		chromedp.WaitVisible(chromedp.ID("result-list-projects")),
	)
	if err != nil {
		return fmt.Errorf("drive the browser: %w", err)
	}
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100)) // quality 100 means PNG
	if err != nil {
		return fmt.Errorf("take the screenshot: %w", err)
	}
	// The text of the page just photographed, fetched afresh (no cookies,
	// so no notice) from the same app.
	client := &http.Client{}
	defer client.CloseIdleConnections()
	text, err := golden.Page(ctx, client, base, instance)
	if err != nil {
		return fmt.Errorf("read the page's text: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{out, png}, {goldenOut, []byte(text)}} {
		if err := os.MkdirAll(filepath.Dir(f.name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(f.name, f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
