package connection_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/connection"
)

// checkRedacted fails when out contains the sentinel (as text or hex), or
// lacks the redaction marker when wantMarker.
func checkRedacted(t *testing.T, what, out string, wantMarker bool) {
	t.Helper()
	lower := strings.ToLower(out)
	if strings.Contains(out, sentinel) || strings.Contains(lower, hex.EncodeToString([]byte(sentinel))) {
		t.Errorf("%s leaks the secret: %s", what, out)
	}
	if wantMarker && !strings.Contains(out, connection.Redacted) {
		t.Errorf("%s does not show %s: %s", what, connection.Redacted, out)
	}
}

var verbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%-12v", "%t", "%e", "%p"}

func TestSecretFmtVerbs(t *testing.T) {
	s := connection.NewSecret(sentinel)
	if s.Reveal() != sentinel {
		t.Fatalf("Reveal = %q", s.Reveal())
	}
	for _, verb := range verbs {
		checkRedacted(t, "Sprintf("+verb+", Secret)", fmt.Sprintf(verb, s), true)
		checkRedacted(t, "Sprintf("+verb+", *Secret)", fmt.Sprintf(verb, &s), verb != "%p")
		checkRedacted(t, "Sprintf("+verb+", []Secret)", fmt.Sprintf(verb, []connection.Secret{s}), verb != "%p")
		checkRedacted(t, "Sprintf("+verb+", map)", fmt.Sprintf(verb, map[string]connection.Secret{"k": s}), verb != "%p")
	}
	checkRedacted(t, "Sprint", fmt.Sprint(s), true)
	checkRedacted(t, "Sprintln", fmt.Sprintln("key:", s), true)
	var buf bytes.Buffer
	fmt.Fprintln(&buf, s, &s)
	checkRedacted(t, "Fprintln", buf.String(), true)
	if got := fmt.Sprintf("%T", s); got != "connection.Secret" {
		t.Errorf("%%T = %s", got)
	}
	checkRedacted(t, "Errorf %w-wrapped", fmt.Errorf("calling API with %v: %w", s, connection.ErrInvalid).Error(), true)

	if got, want := fmt.Sprintf("%#v", s), `connection.Secret("[REDACTED]")`; got != want {
		t.Errorf("%%#v = %s, want %s", got, want)
	}
	if got, want := fmt.Sprintf("%q", s), `"[REDACTED]"`; got != want {
		t.Errorf("%%q = %s, want %s", got, want)
	}
}

func TestEmptySecret(t *testing.T) {
	var zero connection.Secret
	if !zero.IsZero() || !connection.NewSecret("").IsZero() || connection.NewSecret("x").IsZero() {
		t.Error("IsZero does not tell empty from non-empty secrets")
	}
	if got := fmt.Sprintf("%v|%s|%q", zero, zero, zero); got != `||""` {
		t.Errorf("empty secret prints %q", got)
	}
	b, err := json.Marshal(zero)
	if err != nil || string(b) != `""` {
		t.Errorf("json.Marshal(empty secret) = %s, %v", b, err)
	}
	if !zero.Equal(connection.NewSecret("")) || zero.Equal(connection.NewSecret("x")) {
		t.Error("Equal is wrong for the empty secret")
	}
	if !connection.NewSecret(sentinel).Equal(connection.NewSecret(sentinel)) {
		t.Error("two secrets with the same value are not Equal")
	}
}

type exported struct {
	User string
	Key  connection.Secret
}

type unexported struct {
	user string
	key  connection.Secret
}

type deep struct {
	inner unexported
	vals  connection.Values
	list  []connection.Secret
	ptr   *connection.Secret
}

func TestSecretNestedInStructs(t *testing.T) {
	s := connection.NewSecret(sentinel)
	vals := connection.ValuesOf(map[string]string{"apiKey": sentinel})
	for _, verb := range verbs {
		// %p prints only an address; by reflection, %x and %X print the
		// marker hex-encoded.
		marker := verb != "%p"
		reflected := marker && verb != "%x" && verb != "%X"
		checkRedacted(t, verb+" exported field", fmt.Sprintf(verb, exported{"bob", s}), true)
		checkRedacted(t, verb+" *exported", fmt.Sprintf(verb, &exported{"bob", s}), marker)
		// fmt cannot call methods on unexported fields: the Secret's own
		// marker field shows instead.
		checkRedacted(t, verb+" unexported field", fmt.Sprintf(verb, unexported{"bob", s}), reflected)
		checkRedacted(t, verb+" *unexported", fmt.Sprintf(verb, &unexported{"bob", s}), reflected)
		d := deep{inner: unexported{"bob", s}, vals: vals, list: []connection.Secret{s}, ptr: &s}
		checkRedacted(t, verb+" deep", fmt.Sprintf(verb, d), reflected)
		checkRedacted(t, verb+" *deep", fmt.Sprintf(verb, &d), reflected)
		if verb == "%x" && !strings.Contains(fmt.Sprintf(verb, unexported{"bob", s}), hex.EncodeToString([]byte(connection.Redacted))) {
			t.Errorf("%%x of an unexported Secret does not show the hex-encoded marker")
		}
	}
}

func TestSecretInCmpDiff(t *testing.T) {
	// Test failures print diffs; a diff of two secrets must not show them.
	a, b := connection.NewSecret(sentinel), connection.NewSecret(sentinel+"-other")
	diff := cmp.Diff(exported{"bob", a}, exported{"bob", b})
	if diff == "" {
		t.Fatal("cmp.Diff of different secrets is empty")
	}
	checkRedacted(t, "cmp.Diff", diff, false)
	if d := cmp.Diff(exported{"bob", a}, exported{"bob", connection.NewSecret(sentinel)}); d != "" {
		t.Errorf("cmp.Diff of equal secrets = %s", d)
	}
	va := connection.ValuesOf(map[string]string{"k": sentinel})
	vb := connection.ValuesOf(map[string]string{"k": sentinel + "-other"})
	diff = cmp.Diff(va, vb)
	if diff == "" {
		t.Fatal("cmp.Diff of different Values is empty")
	}
	checkRedacted(t, "cmp.Diff(Values)", diff, false)
}

func TestSecretJSON(t *testing.T) {
	s := connection.NewSecret(sentinel)
	b, err := json.Marshal(exported{"bob", s})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"User":"bob","Key":"[REDACTED]"}`; got != want {
		t.Errorf("json.Marshal = %s, want %s", got, want)
	}
	b, err = json.Marshal(map[string]any{"s": s, "p": &s, "list": []connection.Secret{s}})
	if err != nil {
		t.Fatal(err)
	}
	checkRedacted(t, "json.Marshal(map)", string(b), true)
	text, err := s.MarshalText()
	if err != nil || string(text) != connection.Redacted {
		t.Errorf("MarshalText = %s, %v", text, err)
	}
}

func TestSecretSlog(t *testing.T) {
	s := connection.NewSecret(sentinel)
	vals := connection.ValuesOf(map[string]string{"apiKey": sentinel, "user": "bob"})
	handlers := map[string]func(*bytes.Buffer) slog.Handler{
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	}
	for name, newHandler := range handlers {
		t.Run(name, func(t *testing.T) {
			cases := []struct {
				what       string
				log        func(*slog.Logger)
				wantMarker bool
			}{
				{"slog.Any(Secret)", func(l *slog.Logger) { l.Info("m", slog.Any("key", s)) }, true},
				{"Secret as a loose argument", func(l *slog.Logger) { l.Info("m", "key", s) }, true},
				{"*Secret", func(l *slog.Logger) { l.Info("m", "key", &s) }, true},
				{"struct with a Secret field", func(l *slog.Logger) { l.Info("m", "cfg", exported{"bob", s}) }, true},
				{"struct with an unexported Secret", func(l *slog.Logger) { l.Info("m", "cfg", unexported{"bob", s}) }, name == "text"},
				{"group", func(l *slog.Logger) { l.Info("m", slog.Group("conn", "key", s)) }, true},
				{"With", func(l *slog.Logger) { l.With("key", s).Info("m") }, true},
				{"Values", func(l *slog.Logger) { l.Info("m", "values", vals) }, name == "json"},
				{"error with a Secret", func(l *slog.Logger) { l.Info("m", "err", fmt.Errorf("key %v rejected", s)) }, true},
			}
			for _, c := range cases {
				var buf bytes.Buffer
				c.log(slog.New(newHandler(&buf)))
				checkRedacted(t, c.what, buf.String(), c.wantMarker)
			}
		})
	}
}

func TestValuesRedaction(t *testing.T) {
	v := connection.ValuesOf(map[string]string{"apiKey": sentinel, "user": "bob-" + sentinel})
	for _, verb := range verbs {
		out := fmt.Sprintf(verb, v)
		checkRedacted(t, "Values "+verb, out, false)
		if verb != "%p" && !strings.Contains(out, "Values{apiKey, user}") {
			t.Errorf("Values %s = %s, want the keys", verb, out)
		}
	}
	checkRedacted(t, "Sprint(Values)", fmt.Sprint(v, &v), false)
	b, err := json.Marshal(struct{ V connection.Values }{v})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"V":{"apiKey":"[REDACTED]","user":"[REDACTED]"}}`; got != want {
		t.Errorf("json.Marshal = %s, want %s", got, want)
	}
	b, err = json.Marshal(connection.Values{})
	if err != nil || string(b) != "{}" {
		t.Errorf("json.Marshal(empty Values) = %s, %v", b, err)
	}
	// A variable's defaults stay out of its JSON form.
	b, err = json.Marshal(connection.Variable{Key: "k", Defaults: v})
	if err != nil {
		t.Fatal(err)
	}
	checkRedacted(t, "json.Marshal(Variable)", string(b), false)
	checkRedacted(t, "Variable %+v", fmt.Sprintf("%+v", connection.Variable{Key: "k", Defaults: v}), false)
}
