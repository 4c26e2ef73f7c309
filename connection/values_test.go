package connection_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/connection"
)

const sentinel = "s3cr3t-SENTINEL"

func TestValidateValuesReportsEveryProblem(t *testing.T) {
	ty, err := connection.Declare(connection.Type{
		Key: "acme",
		Fields: []connection.Field{
			{Key: "host", Label: "Host", Kind: connection.KindURL, Required: true},
			{Key: "username", Label: "Username", Required: true},
			{Key: "port", Label: "Port", Kind: connection.KindNumber},
			{Key: "region", Label: "Region", Kind: connection.KindChoice, Choices: []string{"eu", "us"}},
			{Key: "apiKey", Label: "API Key", Kind: connection.KindPassword, Rule: "min=8"},
			{Key: "token", Label: "Token", Kind: connection.KindPassword, Rule: "alphanum"},
			{Key: "verbose", Label: "Verbose", Kind: connection.KindBoolean},
			{Key: "note", Label: "Note", Kind: connection.KindText},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	values := connection.ValuesOf(map[string]string{
		"host":    "https://" + sentinel + "@acme.example", // user information
		"port":    sentinel,
		"region":  sentinel,
		"apiKey":  "s3cr3t", // 6 characters: fails min=8
		"token":   sentinel, // '-' fails alphanum
		"verbose": sentinel,
		"note":    sentinel, // free text: valid
		"extra":   "x",
	})
	err = ty.ValidateValues(values)
	var ve *connection.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("ValidateValues = %v, want a *ValidationError", err)
	}
	if !errors.Is(err, connection.ErrInvalid) {
		t.Error("errors.Is(err, ErrInvalid) = false")
	}
	want := []connection.FieldError{
		{Key: "host", Label: "Host", Reason: "must not contain user information"},
		{Key: "username", Label: "Username", Reason: "is required"},
		{Key: "port", Label: "Port", Reason: "must be a finite decimal number"},
		{Key: "region", Label: "Region", Reason: "must be one of eu, us"},
		{Key: "apiKey", Label: "API Key", Reason: `does not satisfy rule "min=8"`},
		{Key: "token", Label: "Token", Reason: `does not satisfy rule "alphanum"`},
		{Key: "verbose", Label: "Verbose", Reason: "must be true or false"},
		{Key: "extra", Reason: "the type has no such field"},
	}
	if diff := cmp.Diff(want, ve.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	msg := err.Error()
	for _, secret := range []string{sentinel, "s3cr3t"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error message contains the value %q: %s", secret, msg)
		}
	}

	// The same values, corrected, pass.
	values.Set("host", "https://acme.example")
	values.Set("username", "bob")
	values.Set("port", "8443")
	values.Set("region", "us")
	values.Set("apiKey", sentinel)
	values.Set("token", "abc123")
	values.Set("verbose", "true")
	values.Delete("extra")
	if err := ty.ValidateValues(values); err != nil {
		t.Errorf("ValidateValues of valid values = %v", err)
	}
}

func TestValidateValuesNumberRule(t *testing.T) {
	ty := connection.MustDeclare(connection.Type{Key: "n", Fields: []connection.Field{
		{Key: "timeout", Kind: connection.KindNumber, Rule: "min=8"},
	}})
	for value, wantOK := range map[string]bool{"8": true, "12.5": true, "7.99": false, "NaN": false, "+Inf": false, "1e3": true} {
		err := ty.ValidateValues(connection.ValuesOf(map[string]string{"timeout": value}))
		if (err == nil) != wantOK {
			t.Errorf("timeout=%q: err = %v, want ok=%v", value, err, wantOK)
		}
	}
}

func TestValidateValuesOfUndeclaredTypeDoesNotPanic(t *testing.T) {
	// A rule that cannot apply to the field's kind is refused by Declare;
	// a type literal that skipped Declare still must not panic.
	ty := connection.Type{Key: "raw", Fields: []connection.Field{{Key: "n", Kind: connection.KindNumber, Rule: "url"}}}
	err := ty.ValidateValues(connection.ValuesOf(map[string]string{"n": "5"}))
	want := []string{"n"}
	if diff := cmp.Diff(want, problemKeys(t, err)); diff != "" {
		t.Errorf("problem keys (-want +got):\n%s", diff)
	}
}

func TestFieldValidateValue(t *testing.T) {
	f := connection.Field{Key: "apiKey", Label: "API Key", Kind: connection.KindPassword, Rule: "min=8"}
	if err := f.ValidateValue(""); err != nil {
		t.Errorf(`ValidateValue("") = %v, want nil`, err)
	}
	if err := f.ValidateValue(sentinel); err != nil {
		t.Errorf("ValidateValue(long enough) = %v, want nil", err)
	}
	err := f.ValidateValue("short")
	if diff := cmp.Diff([]string{"apiKey"}, problemKeys(t, err)); diff != "" {
		t.Errorf("problem keys (-want +got):\n%s", diff)
	}
	if strings.Contains(err.Error(), "short") {
		t.Errorf("error contains the value: %v", err)
	}
}

func TestValuesGetters(t *testing.T) {
	v := connection.ValuesOf(map[string]string{
		"host":    "https://acme.example:8443/api",
		"user":    "bob",
		"empty":   "",
		"yes":     "true",
		"one":     "1",
		"port":    "8443",
		"ratio":   "0.25",
		"apiKey":  sentinel,
		"badBool": sentinel,
		"badURL":  "/" + sentinel,
		"userURL": "https://" + sentinel + "@acme.example",
		"ftpURL":  "ftp://acme.example",
	})

	if got := v.String("user"); got != "bob" {
		t.Errorf(`String("user") = %q`, got)
	}
	if got := v.String("missing"); got != "" {
		t.Errorf(`String("missing") = %q, want ""`, got)
	}
	if got, ok := v.Lookup("empty"); got != "" || !ok {
		t.Errorf(`Lookup("empty") = %q, %v; want "", true`, got, ok)
	}
	if got, ok := v.Lookup("missing"); got != "" || ok {
		t.Errorf(`Lookup("missing") = %q, %v; want "", false`, got, ok)
	}
	if !v.Has("empty") || v.Has("missing") {
		t.Error("Has does not tell present from absent keys")
	}
	if got := v.Secret("apiKey"); got.Reveal() != sentinel || got.String() != connection.Redacted {
		t.Errorf(`Secret("apiKey") reveals %q and prints %q`, got.Reveal(), got.String())
	}
	if got := v.Secret("missing"); !got.IsZero() {
		t.Errorf(`Secret("missing") = %v, want the zero Secret`, got)
	}

	for key, want := range map[string]bool{"yes": true, "one": true, "missing": false, "empty": false} {
		if got, err := v.Bool(key); err != nil || got != want {
			t.Errorf("Bool(%q) = %v, %v; want %v, nil", key, got, err, want)
		}
	}
	for key, want := range map[string]int64{"port": 8443, "missing": 0} {
		if got, err := v.Int(key); err != nil || got != want {
			t.Errorf("Int(%q) = %v, %v; want %v, nil", key, got, err, want)
		}
	}
	for key, want := range map[string]float64{"ratio": 0.25, "port": 8443, "missing": 0} {
		if got, err := v.Float(key); err != nil || got != want {
			t.Errorf("Float(%q) = %v, %v; want %v, nil", key, got, err, want)
		}
	}
	u, err := v.URL("host")
	if err != nil || u.Host != "acme.example:8443" || u.Path != "/api" {
		t.Errorf(`URL("host") = %v, %v`, u, err)
	}

	// Every failing getter names the key, matches ErrInvalid and never
	// contains the value.
	failing := map[string]func() error{
		`Bool("badBool")`:  func() error { _, err := v.Bool("badBool"); return err },
		`Int("ratio")`:     func() error { _, err := v.Int("ratio"); return err },
		`Int("apiKey")`:    func() error { _, err := v.Int("apiKey"); return err },
		`Float("apiKey")`:  func() error { _, err := v.Float("apiKey"); return err },
		`URL("badURL")`:    func() error { _, err := v.URL("badURL"); return err },
		`URL("userURL")`:   func() error { _, err := v.URL("userURL"); return err },
		`URL("ftpURL")`:    func() error { _, err := v.URL("ftpURL"); return err },
		`URL("missing")`:   func() error { _, err := v.URL("missing"); return err },
		`URL("emptyhost")`: func() error { _, err := v.URL("empty"); return err },
	}
	for name, call := range failing {
		err := call()
		if !errors.Is(err, connection.ErrInvalid) {
			t.Errorf("%s = %v, want an error matching ErrInvalid", name, err)
			continue
		}
		if strings.Contains(err.Error(), sentinel) {
			t.Errorf("%s error contains the value: %v", name, err)
		}
	}
}

func TestValuesKeysMapDelete(t *testing.T) {
	var v connection.Values // the zero Values is ready to use
	if v.Len() != 0 || v.Keys() != nil || v.Has("a") {
		t.Errorf("zero Values = %v, want empty", v)
	}
	v.Set("b", "2")
	v.Set("a", "1")
	v.SetSecret("c", connection.NewSecret("3"))
	if diff := cmp.Diff([]string{"a", "b", "c"}, v.Keys()); diff != "" {
		t.Errorf("Keys (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"a": "1", "b": "2", "c": "3"}, v.Map()); diff != "" {
		t.Errorf("Map (-want +got):\n%s", diff)
	}
	v.Delete("b")
	if v.Has("b") || v.Len() != 2 {
		t.Errorf("after Delete: %v", v)
	}

	m := map[string]string{"k": "before"}
	w := connection.ValuesOf(m)
	m["k"] = "after"
	if got := w.String("k"); got != "before" {
		t.Errorf("ValuesOf kept a reference to its map: %q", got)
	}
	out := w.Map()
	out["k"] = "changed"
	if got := w.String("k"); got != "before" {
		t.Errorf("Map returned the internal map: %q", got)
	}
}

func TestValuesCloneIsIndependent(t *testing.T) {
	orig := connection.ValuesOf(map[string]string{"a": "1", "b": "2"})
	c := orig.Clone()
	c.Set("a", "changed")
	c.Set("new", "x")
	c.Delete("b")
	if diff := cmp.Diff(map[string]string{"a": "1", "b": "2"}, orig.Map()); diff != "" {
		t.Errorf("changing the clone changed the original (-want +got):\n%s", diff)
	}
	orig.Set("b", "also changed")
	if c.Has("b") {
		t.Error("changing the original changed the clone")
	}
	var zero connection.Values
	zc := zero.Clone()
	zc.Set("a", "1")
	if zero.Len() != 0 {
		t.Error("setting a clone of the zero Values changed the original")
	}
}

func TestValuesEqual(t *testing.T) {
	a := connection.ValuesOf(map[string]string{"user": "bob", "apiKey": sentinel})
	tests := []struct {
		name string
		b    connection.Values
		want bool
	}{
		{"same", connection.ValuesOf(map[string]string{"apiKey": sentinel, "user": "bob"}), true},
		{"clone", a.Clone(), true},
		{"other value", connection.ValuesOf(map[string]string{"user": "bob", "apiKey": "other"}), false},
		{"missing key", connection.ValuesOf(map[string]string{"user": "bob"}), false},
		{"extra key", connection.ValuesOf(map[string]string{"user": "bob", "apiKey": sentinel, "x": ""}), false},
		{"empty", connection.Values{}, false},
	}
	for _, tt := range tests {
		if got := a.Equal(tt.b); got != tt.want {
			t.Errorf("%s: Equal = %v, want %v", tt.name, got, tt.want)
		}
		if got := tt.b.Equal(a); got != tt.want {
			t.Errorf("%s: Equal (reversed) = %v, want %v", tt.name, got, tt.want)
		}
		if got := cmp.Equal(a, tt.b); got != tt.want {
			t.Errorf("%s: cmp.Equal = %v, want %v", tt.name, got, tt.want)
		}
	}
	if !(connection.Values{}).Equal(connection.ValuesOf(nil)) {
		t.Error("two empty Values are not equal")
	}
}
