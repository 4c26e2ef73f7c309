// Command gen writes docs/providers.md and the provider list of README.md
// from the built-in provider catalog. It runs with
// `go generate ./oauth/providers`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/connkit/connkit/oauth/providers"
	"github.com/connkit/connkit/oauth/providers/internal/docgen"
)

func main() {
	out := flag.String("o", "", "the providers page to write (required)")
	readme := flag.String("readme", "", "README.md whose provider list to rewrite (optional)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gen: -o is required")
		os.Exit(2)
	}
	all := providers.All()
	if err := os.WriteFile(*out, docgen.Render(all), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if *readme == "" {
		return
	}
	old, err := os.ReadFile(*readme)
	if err == nil {
		var updated []byte
		if updated, err = docgen.ReplaceReadmeList(old, docgen.ReadmeList(all)); err == nil {
			err = os.WriteFile(*readme, updated, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
