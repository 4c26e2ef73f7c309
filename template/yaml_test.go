package template_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/template"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestYAMLRoundTrip exports an integration, checks the bytes against a
// reviewed golden file, imports them and exports again: the bytes are the
// same and the imported integration equals the original without its secret
// defaults.
func TestYAMLRoundTrip(t *testing.T) {
	in := acmeIntegration("acme-sync", 3, "tpl-acme-oauth")
	b1, err := template.ExportYAML(in)
	if err != nil {
		t.Fatalf("ExportYAML: %v", err)
	}
	golden := filepath.Join("testdata", "acme-sync.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, b1, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(b1)); diff != "" {
		t.Errorf("export differs from %s (-want +got):\n%s", golden, diff)
	}

	got, err := template.ImportYAML(b1)
	if err != nil {
		t.Fatalf("ImportYAML: %v", err)
	}
	b2, err := template.ExportYAML(got)
	if err != nil {
		t.Fatalf("ExportYAML of the import: %v", err)
	}
	if !bytes.Equal(b1, b2) {
		t.Errorf("export -> import -> export changed the bytes:\n%s", cmp.Diff(string(b1), string(b2)))
	}

	// What comes back is the declared original (levels explicit).
	wantIn := in.Clone()
	for i := range wantIn.Variables {
		if wantIn.Variables[i].Level == "" {
			wantIn.Variables[i].Level = connection.InstanceLevel
		}
	}
	if diff := cmp.Diff(wantIn, got); diff != "" {
		t.Errorf("imported integration (-want +got):\n%s", diff)
	}
}

// TestYAMLNeverHoldsSecrets sets a secret variable default and a secret type
// default and proves neither reaches the bytes, while the non-secret default
// beside them does.
func TestYAMLNeverHoldsSecrets(t *testing.T) {
	in := acmeIntegration("acme-sync", 1, "")
	in.Variables[0].Defaults.Set("apiKey", sentinel)
	in.Variables[0].Defaults.Set("signing", sentinel+"-2")
	in.Variables[0].Defaults.Set("tenant", "tenant-default")
	for i, f := range in.Variables[1].Type.Fields {
		if f.Key == connection.FieldClientSecret {
			in.Variables[1].Type.Fields[i].Default = sentinel + "-3"
		}
	}
	b, err := template.ExportYAML(in)
	if err != nil {
		t.Fatalf("ExportYAML: %v", err)
	}
	if bytes.Contains(b, []byte("s3ntinel")) {
		t.Fatalf("exported YAML holds a secret value:\n%s", b)
	}
	if !bytes.Contains(b, []byte("tenant: tenant-default")) {
		t.Errorf("exported YAML lacks the non-secret default:\n%s", b)
	}
	got, err := template.ImportYAML(b)
	if err != nil {
		t.Fatalf("ImportYAML: %v", err)
	}
	v, _ := got.Variable("Acme API")
	if v.Defaults.Has("apiKey") || v.Defaults.Has("signing") || v.Defaults.String("tenant") != "tenant-default" {
		t.Errorf("imported defaults have keys %v, want region and tenant only", v.Defaults.Keys())
	}
}

// TestYAMLImportErrors feeds YAML with many problems and checks that every
// one is reported with the line it is on, and that no value leaks into the
// error.
func TestYAMLImportErrors(t *testing.T) {
	src := `id: acme-sync
version: 1
colour: blue
variables:
  - key: Acme
    level: team
    successRedirect: ftp://redirect.test/
    visibility:
      host: secret
      nope: hidden
    defaults:
      apiKey: hunter2-leaked-value
      port: abc
    type:
      key: acme
      fields:
        - key: host
          rule: no_such_rule
        - key: apiKey
          kind: password
        - key: port
          kind: number
          shape: round
        - key: mode
          kind: dropdown
  - key: Acme
    type:
      key: acme
`
	_, err := template.ImportYAML([]byte(src))
	var ie *template.ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("ImportYAML error = %v, want *ImportError", err)
	}
	t.Logf("%v", err)
	if !errors.Is(err, connection.ErrInvalid) {
		t.Errorf("errors.Is(err, connection.ErrInvalid) = false")
	}
	type loc struct {
		Line int
		Path string
	}
	var got []loc
	for _, p := range ie.Problems {
		got = append(got, loc{p.Line, p.Path})
	}
	want := []loc{
		{3, "colour"},
		{6, "variables[0].level"},
		{7, "variables[0].successRedirect"},
		{9, "variables[0].visibility.host"},
		{10, "variables[0].visibility.nope"},
		{12, "variables[0].defaults.apiKey"},
		{13, "variables[0].defaults.port"},
		{18, "variables[0].type.fields[0].rule"},
		{23, "variables[0].type.fields[2].shape"},
		{25, "variables[0].type.fields[3].kind"},
		{26, "variables[1].key"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s\nerror: %v", diff, err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error holds a secret value: %v", err)
	}
}

// TestYAMLImportSyntaxError reports a syntax error with its line.
func TestYAMLImportSyntaxError(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		line int
	}{
		{"bad indentation", "id: a\nversion: 1\nvariables:\n  - key: x\n   type: [\n", 5},
		{"wrong shape", "id: a\nversion: 1\nvariables:\n  - key: x\n    type:\n      fields: 7\n", 6},
		{"not a number", "id: a\nversion: one\n", 2},
		{"empty", "", 1},
		{"two documents", "id: a\nversion: 1\n---\nid: b\n", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := template.ImportYAML([]byte(tc.src))
			var ie *template.ImportError
			if !errors.As(err, &ie) || len(ie.Problems) == 0 {
				t.Fatalf("ImportYAML error = %v, want *ImportError", err)
			}
			t.Logf("%v", err)
			if ie.Problems[0].Line != tc.line {
				t.Errorf("line = %d, want %d (%v)", ie.Problems[0].Line, tc.line, err)
			}
		})
	}
}
