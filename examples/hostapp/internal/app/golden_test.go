package app_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/examples/hostapp/internal/democloud"
	"github.com/connkit/connkit/examples/hostapp/internal/golden"
)

// The README's picture of the instance page, docs/instance.png, must show
// what the app shows. The screenshot tool writes the page's normalized text
// next to it (docs/instance.golden.html); this test plays the tool's
// scenario over plain HTTP and compares the page with that text. When it
// fails because the page changed on purpose, regenerate BOTH files with
//
//	go run ./examples/hostapp/internal/screenshot
//
// from the repository root, look at the new picture, and commit both:
// never regenerate or edit the golden file alone.
func TestInstancePageMatchesScreenshot(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("..", "..", "..", "..", filepath.FromSlash(golden.HTML)))
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, newConfig(t))
	b := newBrowser(t)
	// The scenario of internal/screenshot (see golden.Workspace).
	b.post(r.base+oauthPath+"/connect", url.Values{"workspace": {golden.Workspace}})
	b.want(http.StatusOK, `name="request_id"`)
	consent := b.URL.String()
	b.post(consent, url.Values{"request_id": {b.find(`name="request_id" value="([^"]+)"`)},
		"username": {"demo"}, "password": {"demo"}, "action": {"approve"}})
	b.want(http.StatusOK, `id="connected-page"`)
	b.post(r.base+instancePath+"/steps/"+democloud.ActionListProjects+"/run", nil)
	b.want(http.StatusOK, `class="result ok" id="result-list-projects"`)
	b.post(r.base+apiKeyPath+"/values", url.Values{"apiKey": {democloud.DemoAPIKey}})
	b.want(http.StatusOK, `data-color="yellow"`)

	client := &http.Client{}
	defer client.CloseIdleConnections()
	got, err := golden.Page(t.Context(), client, r.base, r.base+instancePath)
	if err != nil {
		t.Fatal(err)
	}
	// A checkout may have turned the file's line endings into \r\n.
	wantLines := strings.Split(strings.ReplaceAll(string(want), "\r\n", "\n"), "\n")
	if diff := cmp.Diff(wantLines, strings.Split(got, "\n")); diff != "" {
		t.Errorf("the instance page no longer matches %s, the text of %s (-picture +app):\n%s\n"+
			"Regenerate both with: go run ./examples/hostapp/internal/screenshot (then look at the picture)",
			golden.HTML, golden.PNG, diff)
	}
}
