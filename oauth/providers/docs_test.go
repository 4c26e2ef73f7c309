package providers_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connkit/connkit/oauth/providers"
	"github.com/connkit/connkit/oauth/providers/internal/docgen"
)

// TestProvidersDocIsCurrent fails when docs/providers.md is not what
// `go generate ./oauth/providers` writes from the catalog.
func TestProvidersDocIsCurrent(t *testing.T) {
	path := filepath.Join("..", "..", filepath.FromSlash(docgen.Path))
	committed, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v (run go generate ./oauth/providers)", docgen.Path, err)
	}
	want := docgen.Render(providers.All())
	if !bytes.Equal(committed, want) {
		cl, wl := strings.Split(string(committed), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(cl) || i < len(wl); i++ {
			var c, w string
			if i < len(cl) {
				c = cl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if c != w {
				t.Fatalf("%s is stale (run go generate ./oauth/providers); first difference at line %d:\n  file:      %q\n  generated: %q", docgen.Path, i+1, c, w)
			}
		}
	}
}

// TestProvidersDocListsEveryProvider checks the page against the catalog
// itself, so a broken renderer cannot pass by matching a broken file.
func TestProvidersDocListsEveryProvider(t *testing.T) {
	page := string(docgen.Render(providers.All()))
	for _, p := range providers.All() {
		if !strings.Contains(page, "| `"+p.Key+"` |") || !strings.Contains(page, p.DocsURL) {
			t.Errorf("the page does not list %s with its docs", p.Key)
		}
	}
	sf, _ := providers.Lookup("salesforce")
	if !strings.Contains(page, "no expires_in: lifetime assumed 2h") || !strings.Contains(page, "token set nested under authed_user") || sf.Type.OAuth2 == nil {
		t.Error("the page does not show the Salesforce and Slack quirks")
	}
}

// TestReadmeListIsCurrent fails when README.md's provider list is not what
// `go generate ./oauth/providers` writes from the catalog.
func TestReadmeListIsCurrent(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", docgen.ReadmePath))
	if err != nil {
		t.Fatal(err)
	}
	want, err := docgen.ReplaceReadmeList(readme, docgen.ReadmeList(providers.All()))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readme, want) {
		t.Fatalf("%s's provider list is stale: run go generate ./oauth/providers", docgen.ReadmePath)
	}
	for _, p := range providers.All() {
		if !bytes.Contains(readme, []byte(p.Name)) {
			t.Errorf("README.md does not list %s", p.Name)
		}
	}
}
