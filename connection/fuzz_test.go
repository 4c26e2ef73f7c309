package connection_test

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/connkit/connkit/connection"
)

// fuzzType has a field of every kind that parses its value, with rules.
var fuzzType = connection.MustDeclare(connection.Type{
	Key: "fuzz",
	Fields: []connection.Field{
		{Key: "host", Label: "Host", Kind: connection.KindURL, Required: true},
		{Key: "port", Label: "Port", Kind: connection.KindNumber, Rule: "min=1,max=65535"},
		{Key: "region", Label: "Region", Kind: connection.KindChoice, Choices: []string{"eu", "us"}},
		{Key: "apiKey", Label: "API Key", Kind: connection.KindPassword, Required: true, Rule: "min=8,printascii"},
		{Key: "verbose", Label: "Verbose", Kind: connection.KindBoolean},
		{Key: "server", Label: "Server", Rule: "hostname_rfc1123|ip"},
	},
})

// fuzzReasons are all the reasons ValidateValues may give for fuzzType: fixed
// strings, so an error built from them cannot hold a value.
var fuzzReasons = []string{
	"is required",
	"must be an absolute URL",
	"must be an http or https URL",
	"must not contain user information",
	"must be a finite decimal number",
	`does not satisfy rule "min=1,max=65535"`,
	"must be one of eu, us",
	`does not satisfy rule "min=8,printascii"`,
	"must be true or false",
	`does not satisfy rule "hostname_rfc1123|ip"`,
}

// checkValuesError checks that err is nil or a *ValidationError whose message
// is made only of fuzzType's keys, labels and fixed reasons, so that it cannot
// contain a value.
func checkValuesError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var ve *connection.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, connection.ErrInvalid) {
		t.Fatalf("ValidateValues = %v (%T), want a *ValidationError matching ErrInvalid", err, err)
	}
	var parts []string
	for _, p := range ve.Problems {
		f, ok := fuzzType.Field(p.Key)
		if !ok || p.Label != f.Label {
			t.Errorf("problem %+v is not about a field of the type", p)
		}
		if !slices.Contains(fuzzReasons, p.Reason) {
			t.Errorf("problem %+v has an unexpected reason", p)
		}
		parts = append(parts, p.String())
	}
	if want := `connection: invalid values of type "fuzz": ` + strings.Join(parts, "; "); err.Error() != want {
		t.Errorf("error message\n%q\nis not built from its problems\n%q", err.Error(), want)
	}
}

// checkGetterError checks that a getter's error names the key, matches
// ErrInvalid and has the fixed shape that leaves no room for the value.
func checkGetterError(t *testing.T, getter, key string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if !errors.Is(err, connection.ErrInvalid) {
		t.Errorf("%s(%q) error %v does not match ErrInvalid", getter, key, err)
	}
	msg := err.Error()
	prefix, suffix := `connection: field "`+key+`" `, ": "+connection.ErrInvalid.Error()
	middle, ok := strings.CutPrefix(msg, prefix)
	if ok {
		middle, ok = strings.CutSuffix(middle, suffix)
	}
	fixed := []string{
		"is not a boolean", "is not an integer", "is not a finite number", "has no value",
		"must be an absolute URL", "must be an http or https URL", "must not contain user information",
	}
	if !ok || !slices.Contains(fixed, middle) {
		t.Errorf("%s(%q) error has an unexpected shape: %q", getter, key, msg)
	}
}

// FuzzValidateValues feeds arbitrary strings, as a customer or an API client
// may send them, to value validation and the typed getters. They must never
// panic, and their errors must never echo a value.
func FuzzValidateValues(f *testing.F) {
	f.Add("https://acme.example", "443", "eu", "s3cr3t-SENTINEL", "true", "api.acme.example")
	f.Add("", "", "", "", "", "")
	f.Add("ftp://x", "NaN", "mars", "short", "yes", "-bad-")
	f.Add("https://user:s3cr3t-SENTINEL@acme.example", "1e309", "EU", "\x00\xff\xfe", "1", "10.0.0.1")
	f.Fuzz(func(t *testing.T, host, port, region, apiKey, verbose, server string) {
		vals := map[string]string{"host": host, "port": port, "region": region, "apiKey": apiKey, "verbose": verbose, "server": server}
		v := connection.ValuesOf(vals)
		checkValuesError(t, fuzzType.ValidateValues(v))

		// The same values wrapped in a marker no reason contains: the
		// marked value must never show up in the message.
		marked := make(map[string]string, len(vals))
		for k, s := range vals {
			marked[k] = "\x00<<" + s + ">>"
		}
		err := fuzzType.ValidateValues(connection.ValuesOf(marked))
		if err == nil {
			t.Fatal("marked values passed validation")
		}
		for k, s := range marked {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error message contains the value of %s", k)
			}
		}

		for _, key := range []string{"host", "port", "verbose", "apiKey"} {
			_, err := v.Bool(key)
			checkGetterError(t, "Bool", key, err)
			_, err = v.Int(key)
			checkGetterError(t, "Int", key, err)
			_, err = v.Float(key)
			checkGetterError(t, "Float", key, err)
			u, err := v.URL(key)
			checkGetterError(t, "URL", key, err)
			if err == nil && (u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil) {
				t.Errorf("URL(%q) accepted %v", key, u.Redacted())
			}
		}
	})
}

// FuzzVariableRedirect feeds arbitrary custom redirect URIs to variable
// declaration: it must never panic, and an accepted URI is an absolute http(s)
// URL with a host, without user information or fragment.
func FuzzVariableRedirect(f *testing.F) {
	for _, s := range []string{
		"https://app.example/done", "/done", "//evil.example", "javascript:alert(1)",
		"https://a@evil.example", "https://app.example/#x", "ftp://app.example", "https:\\\\evil.example",
		"HTTPS://APP.EXAMPLE/done?x=1", "http://[::1]:8080/cb", "https://app.example/%zz",
	} {
		f.Add(s)
	}
	ty := connection.MustDeclare(connection.Type{Key: "t"})
	f.Fuzz(func(t *testing.T, redirect string) {
		_, err := connection.DeclareVariable(connection.Variable{Key: "v", Type: ty, SuccessRedirect: redirect, FailureRedirect: redirect})
		if err != nil {
			if diff := problemKeys(t, err); !slices.Equal(diff, []string{"successRedirect", "failureRedirect"}) {
				t.Errorf("problem keys = %v", diff)
			}
			return
		}
		if redirect == "" {
			return
		}
		u, perr := url.Parse(redirect)
		if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || strings.Contains(redirect, "#") {
			t.Errorf("accepted redirect %q", redirect)
		}
	})
}
