package template_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/template"
)

// FuzzImportYAML feeds arbitrary bytes to ImportYAML: it never panics, every
// failure is an *ImportError whose problems have a line, and whatever it
// accepts exports, re-imports and exports again to the same bytes.
func FuzzImportYAML(f *testing.F) {
	for _, seed := range []string{
		"id: a\nversion: 1\n",
		"id: a\nversion: 1\nvariables:\n  - key: x\n    type:\n      key: t\n      fields:\n        - key: host\n",
		"id: a\nversion: 1\nvariables:\n  - key: x\n    defaults: {host: h}\n    type: {key: t, fields: [{key: host, kind: url}]}\n",
		"- a\n- b\n",
		"id: [\n",
		"&a id: *a\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := template.ImportYAML(b)
		if err != nil {
			var ie *template.ImportError
			if !errors.As(err, &ie) || len(ie.Problems) == 0 {
				t.Fatalf("ImportYAML error %v is not an *ImportError with problems", err)
			}
			if !errors.Is(err, connection.ErrInvalid) {
				t.Fatalf("ImportYAML error %v does not match connection.ErrInvalid", err)
			}
			for _, p := range ie.Problems {
				if p.Line < 1 || p.Column < 1 || p.Reason == "" {
					t.Fatalf("problem %+v lacks a position or reason", p)
				}
			}
			return
		}
		b1, err := template.ExportYAML(in)
		if err != nil {
			t.Fatalf("ExportYAML of an accepted integration: %v", err)
		}
		again, err := template.ImportYAML(b1)
		if err != nil {
			t.Fatalf("ImportYAML of an export: %v\n%s", err, b1)
		}
		b2, err := template.ExportYAML(again)
		if err != nil {
			t.Fatalf("ExportYAML: %v", err)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatalf("export is not stable:\n%s\n---\n%s", b1, b2)
		}
	})
}
