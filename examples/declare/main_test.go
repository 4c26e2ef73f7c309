package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRun runs the program's logic and compares its whole output, produced
// by the code under test, with what the README promises.
func TestRun(t *testing.T) {
	var buf bytes.Buffer
	if err := run(&buf); err != nil {
		t.Fatal(err)
	}
	want := `Connection type "Acme API" (acme), variable "Acme Connection" (instance-level)

Customer-facing form:
  LABEL     KIND             REQUIRED  PLACEHOLDER
  Username  string           yes       jane@example.com
  API Key   password         yes       -
  Region    choice (eu, us)  no        -

Not shown to the customer:
  Host: embedded, set by the host application
  API Version: hidden, filled by the variable's default

Validating Values{apiKey, apiVersion, favouriteColour, host, region}:
connection: invalid values of type "acme": host (Host): must be an absolute URL; username (Username): is required; apiKey (API Key): does not satisfy rule "min=16"; region (Region): must be one of eu, us; favouriteColour: the type has no such field
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	// The values typed in are never echoed.
	for _, value := range []string{"hunter2", "mars"} {
		if strings.Contains(buf.String(), value) {
			t.Errorf("output contains the value %q", value)
		}
	}
}
