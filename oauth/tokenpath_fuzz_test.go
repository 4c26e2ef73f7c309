package oauth

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// FuzzLiftToken feeds liftToken arbitrary token response bodies and paths
// (members separated by "/", at most four). Invariants: no panic; a body
// that is not a JSON object, or that is an error answer, is left alone
// (false); otherwise the result is a JSON object in which every standard
// token member comes from the nested object (never from the top level,
// even when the object is missing), every member of the nested object is
// there with its value, and every other top-level member is kept.
func FuzzLiftToken(f *testing.F) {
	for _, s := range []struct{ body, path string }{
		{`{"ok":true,"access_token":"xoxb-bot","token_type":"bot","authed_user":{"id":"U1","access_token":"xoxp-user","token_type":"user","refresh_token":"r","expires_in":43200}}`, "authed_user"},
		{`{"access_token":"top","data":{"token":{"access_token":"deep","expires_in":"3600"}}}`, "data/token"},
		{`{"access_token":"top","refresh_token":"top-r"}`, "missing"},
		{`{"ok":false,"error":"invalid_code"}`, "authed_user"},
		{`{"authed_user":"not an object","id_token":"x"}`, "authed_user"},
		{`{"authed_user":null}`, "authed_user"},
		{`[1,2,3]`, "a"},
		{`null`, "a"},
		{`{"a":{"a":{"a":{"scope":"s"}}}}`, "a/a/a"},
		{`{"a":1,"a":{"access_token":"dup"}}`, "a"},
		{`{"x":"\u00e9\ud800"}`, "x"},
		{``, ""},
	} {
		f.Add([]byte(s.body), s.path)
	}
	f.Fuzz(func(t *testing.T, body []byte, rawPath string) {
		path := strings.Split(rawPath, "/")
		if len(path) > 4 {
			path = path[:4]
		}
		out, ok := liftToken(body, path)
		var top map[string]json.RawMessage
		isObject := json.Unmarshal(body, &top) == nil && top != nil
		if !ok {
			if out != nil {
				t.Fatalf("liftToken(%q) = %q, false", body, out)
			}
			if _, isErr := top["error"]; isObject && !isErr {
				t.Fatalf("liftToken refused a JSON object without error: %q", body)
			}
			return
		}
		if !isObject {
			t.Fatalf("liftToken accepted %q, which is not a JSON object", body)
		}
		if _, isErr := top["error"]; isErr {
			t.Fatalf("liftToken rewrote an error answer %q", body)
		}
		var got map[string]any
		if err := unmarshalNumbers(out, &got); err != nil || got == nil {
			t.Fatalf("liftToken(%q) = %q, not a JSON object: %v", body, out, err)
		}
		nested := walk(t, body, path)
		for k, v := range nested {
			if !reflect.DeepEqual(got[k], decode(t, v)) {
				t.Fatalf("nested member %q = %v, want %s", k, got[k], v)
			}
		}
		for _, m := range tokenMembers {
			if _, inNested := nested[m]; !inNested {
				if _, kept := got[m]; kept {
					t.Fatalf("top-level %q kept for path %q: %q", m, path, out)
				}
			}
		}
		for k, v := range top {
			if _, replaced := nested[k]; replaced || slices.Contains(tokenMembers, k) {
				continue
			}
			if !reflect.DeepEqual(got[k], decode(t, v)) {
				t.Fatalf("top-level member %q = %v, want %s", k, got[k], v)
			}
		}
	})
}

// walk returns the object at path in body, nil when there is none.
func walk(t *testing.T, body []byte, path []string) map[string]json.RawMessage {
	var cur map[string]json.RawMessage
	if json.Unmarshal(body, &cur) != nil {
		t.Fatal("walk: body is not an object")
	}
	for _, m := range path {
		var next map[string]json.RawMessage
		raw, ok := cur[m]
		if !ok || json.Unmarshal(raw, &next) != nil || next == nil {
			return nil
		}
		cur = next
	}
	return cur
}

func decode(t *testing.T, raw json.RawMessage) any {
	var v any
	if err := unmarshalNumbers(raw, &v); err != nil {
		t.Fatalf("decode %q: %v", raw, err)
	}
	return v
}

// unmarshalNumbers decodes keeping numbers as written (1e309 is valid JSON).
func unmarshalNumbers(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}
