// Package golden keeps docs/instance.png honest. The screenshot tool
// (internal/screenshot) takes the picture of the instance page and, from
// the same running app, writes the page's text to docs/instance.golden.html
// with [Page]. The app's tests drive the same scenario without a browser
// and compare [Page] with that file, so a change to the page (its HTML or
// its stylesheet) fails a test until both files are regenerated together:
//
//	go run ./examples/hostapp/internal/screenshot
//
// Never edit or regenerate the golden file alone: it stands for the
// picture.
package golden

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
)

// Files, relative to the repository root.
const (
	// PNG is the screenshot of the instance page shown in the README.
	PNG = "docs/instance.png"
	// HTML is the normalized text of the page in PNG (see [Page]).
	HTML = "docs/instance.golden.html"
)

// Stylesheet is the path of the app's stylesheet, which [Page] fingerprints.
const Stylesheet = "/static/app.css"

// Workspace is the workspace of the scenario the screenshot shows, which
// the tool runs in Chromium and the test over plain HTTP: on the seeded
// instance, CONNECT "Demo Cloud Connection" with workspace Workspace, sign
// in at the demo provider as the demo user and approve, run the step
// "list-projects", save the demo API key on "Demo Cloud API key
// Connection", then load the instance page afresh (no notice).
const Workspace = "acme"

// Page fetches the page at pageURL and the stylesheet of the same app (with
// client, no cookies needed) and returns the page's HTML, normalized, with
// the stylesheet's SHA-256 appended: everything the picture depends on,
// except the browser.
func Page(ctx context.Context, client *http.Client, base, pageURL string) (string, error) {
	page, err := fetch(ctx, client, pageURL)
	if err != nil {
		return "", err
	}
	css, err := fetch(ctx, client, base+Stylesheet)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(css))
	return Normalize(page) + fmt.Sprintf("<!-- %s sha256 %s -->\n", Stylesheet, hex.EncodeToString(sum[:])), nil
}

func fetch(ctx context.Context, client *http.Client, u string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("golden: GET %s: %s", u, resp.Status)
	}
	return string(b), nil
}

var (
	// Times as the page shows them ("2006-01-02 15:04:05", local) and as
	// log details carry them (RFC 3339).
	clockTime   = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\b`)
	rfc3339Time = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})`)
	// The app listens on a free loopback port.
	loopbackPort = regexp.MustCompile(`\b(127\.0\.0\.1|localhost|\[::1\]):\d+\b`)
)

// Normalize replaces what differs between two runs of the same scenario:
// times (the page's clock format and RFC 3339) and the app's loopback
// port. Line endings become \n.
func Normalize(page string) string {
	page = strings.ReplaceAll(page, "\r\n", "\n")
	page = rfc3339Time.ReplaceAllString(page, "YYYY-MM-DDThh:mm:ssZ")
	page = clockTime.ReplaceAllString(page, "YYYY-MM-DD hh:mm:ss")
	page = loopbackPort.ReplaceAllString(page, "$1:PORT")
	return page
}
