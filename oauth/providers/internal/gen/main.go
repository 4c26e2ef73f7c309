// Command gen writes docs/providers.md from the built-in provider catalog.
// It runs with `go generate ./oauth/providers`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/connkit/connkit/oauth/providers"
	"github.com/connkit/connkit/oauth/providers/internal/docgen"
)

func main() {
	out := flag.String("o", "", "file to write (required)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gen: -o is required")
		os.Exit(2)
	}
	if err := os.WriteFile(*out, docgen.Render(providers.All()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
