// Package browser starts the headless Chromium that drives the host app in
// its browser test and in the screenshot tool (internal/screenshot).
//
// It launches Debian's chromium package binary, [ExecPath], with exactly
// these flags and a fresh user-data directory:
//
//	--headless --no-sandbox --disable-gpu --disable-background-networking
//	--disable-component-update --disable-sync --no-first-run --disable-quic
//
// chromedp adds --user-data-dir, --remote-debugging-pipe (the DevTools
// protocol runs over a pipe, not a TCP port) and about:blank.
package browser

import (
	"context"
	"errors"
	"os"
	"os/exec"

	"github.com/chromedp/chromedp"
)

// ExecPath is where Debian's chromium package installs the browser.
const ExecPath = "/usr/bin/chromium"

// Flags are the command-line flags Chromium is started with.
var Flags = []string{
	"headless", "no-sandbox", "disable-gpu", "disable-background-networking",
	"disable-component-update", "disable-sync", "no-first-run", "disable-quic",
}

// ErrMissing is returned by [Start] when ExecPath does not exist.
var ErrMissing = errors.New("browser: " + ExecPath + " not found (Debian: apt-get install -y chromium)")

// Available reports whether ExecPath exists and is executable.
func Available() bool {
	_, err := exec.LookPath(ExecPath)
	return err == nil
}

// AllocatorOptions are the chromedp allocator options: ExecPath, Flags and
// userDataDir, nothing else (in particular not chromedp's default flags).
func AllocatorOptions(userDataDir string) []chromedp.ExecAllocatorOption {
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(ExecPath), chromedp.UserDataDir(userDataDir)}
	for _, f := range Flags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	return opts
}

// Start launches Chromium with a fresh profile in userDataDir and returns
// a context for chromedp actions on its first tab. stop closes the browser
// and waits for it to exit; call it once.
func Start(ctx context.Context, userDataDir string) (tab context.Context, stop func(), err error) {
	if !Available() {
		return nil, nil, ErrMissing
	}
	if err := os.MkdirAll(userDataDir, 0o700); err != nil {
		return nil, nil, err
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, AllocatorOptions(userDataDir)...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	// Start the browser now, so a launch failure is reported here.
	if err := chromedp.Do(tab); err != nil {
		cancelTab()
		cancelAlloc()
		return nil, nil, err
	}
	return tab, func() {
		_ = chromedp.Cancel(tab) // closes the browser gracefully
		cancelTab()
		cancelAlloc() // waits for the process to exit
	}, nil
}
