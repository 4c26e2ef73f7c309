package keyring_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/store/keyring"
)

// config holds keys the way a host's own code does: in unexported fields,
// where fmt and go-cmp cannot call a Key's methods and print it by
// reflection instead.
type config struct {
	name    string
	primary keyring.Key
	older   []keyring.Key
	ptr     *keyring.Key
}

type outer struct {
	cfg  config
	keys map[string]keyring.Key
}

// materialForms are the ways key material could show in output: raw, hex,
// base64, as a byte list, and a long run of it.
func materialForms(material []byte) []string {
	return []string{
		string(material),
		string(material[:12]),
		hex.EncodeToString(material),
		hex.EncodeToString(material[:8]),
		strings.ToUpper(hex.EncodeToString(material[:8])),
		fmt.Sprintf("% x", material[:8]),
		base64.StdEncoding.EncodeToString(material),
		base64.RawURLEncoding.EncodeToString(material)[:16],
		strings.Trim(fmt.Sprint(material[:8]), "[]"),
		fmt.Sprintf("%q", string(material[:8])),
	}
}

func checkNoMaterial(t *testing.T, what, out string, material []byte) {
	t.Helper()
	for _, form := range materialForms(material) {
		if strings.Contains(out, form) {
			t.Errorf("%s prints key material (%q):\n%s", what, form, out)
			return
		}
	}
}

// A Key held in an unexported struct field, directly, in a slice, in a map or
// behind a pointer, never prints its material: not with any fmt verb, not in
// a go-cmp diff that looks into unexported fields, not through log/slog's
// text or JSON handlers (review M4).
func TestKeyInUnexportedFields(t *testing.T) {
	material := []byte("0123456789abcdef0123456789ABCDEF")
	k, err := keyring.NewKey(1, material)
	if err != nil {
		t.Fatal(err)
	}
	other := testKey(t, 2, 0x3C)
	c := config{name: "prod", primary: k, older: []keyring.Key{k, other}, ptr: &k}
	o := outer{cfg: c, keys: map[string]keyring.Key{"primary": k}}

	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "% x", "%d", "%T %v"} {
		for name, v := range map[string]any{
			"struct{ primary Key }": struct{ primary keyring.Key }{k},
			"config":                c,
			"*config":               &c,
			"outer":                 o,
			"[]config":              []config{c},
		} {
			checkNoMaterial(t, verb+" of "+name, fmt.Sprintf(verb, v), material)
		}
	}

	// go-cmp: a diff of two configs that differ in their keys, with every
	// unexported field opened up, as a test helper might do.
	opts := cmp.Exporter(func(reflect.Type) bool { return true })
	c2 := c
	c2.primary = other
	diff := cmp.Diff(c, c2, opts)
	if diff == "" {
		t.Error("cmp.Diff of configs with different primary keys is empty")
	}
	checkNoMaterial(t, "cmp.Diff", diff, material)
	checkNoMaterial(t, "cmp.Diff of outer", cmp.Diff(o, outer{cfg: c2}, opts), material)

	for name, newHandler := range map[string]func(*bytes.Buffer) slog.Handler{
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var buf bytes.Buffer
		l := slog.New(newHandler(&buf))
		l.Info("loaded", "cfg", c, "outer", o, "anon", struct{ primary keyring.Key }{k})
		l.Info("loaded", slog.Any("ptr", &c), slog.Group("g", "cfg", c))
		checkNoMaterial(t, "slog "+name+" handler", buf.String(), material)
	}
}

// Key stays comparable (it can be a map key and be compared with ==), and
// Equal compares what a key is: its id and its material.
func TestKeyEqual(t *testing.T) {
	material := bytes.Repeat([]byte{0x42}, keyring.KeySize)
	a, _ := keyring.NewKey(1, material)
	b, _ := keyring.NewKey(1, material)
	otherID, _ := keyring.NewKey(2, material)
	otherMaterial := testKey(t, 1, 0x77)
	copied := a
	if !a.Equal(b) || !b.Equal(a) {
		t.Error("two keys with the same id and material are not Equal")
	}
	if a.Equal(otherID) || a.Equal(otherMaterial) || a.Equal(keyring.Key{}) {
		t.Error("keys with another id or other material are Equal")
	}
	if !(keyring.Key{}).Equal(keyring.Key{}) {
		t.Error("zero keys are not Equal")
	}
	if copied != a {
		t.Error("a copy of a key is not == to it")
	}
	set := map[keyring.Key]bool{a: true}
	if !set[copied] {
		t.Error("a copy of a key does not find it as a map key")
	}
	if d := cmp.Diff(a, b); d != "" {
		t.Errorf("cmp.Diff of equal keys made separately:\n%s", d)
	}
	if d := cmp.Diff(a, otherMaterial); d == "" {
		t.Error("cmp.Diff of keys with other material is empty")
	}
}
