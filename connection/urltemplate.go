package connection

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// URL templates let a type's URLs depend on a connection's values, for
// providers whose endpoints live on a tenant's own host, such as
// "https://{shop}.myshopify.com/admin/oauth/authorize" or
// "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token".
//
// A placeholder "{key}" names a non-secret field of the type and stands for
// a whole host label or a whole path segment, nothing else: never part of a
// label, the scheme, the port, user information, the query or the fragment.
// The value filled in must be non-empty, valid for its field, and a single
// DNS label (ASCII letters, digits and inner hyphens, at most 63
// characters), so that no value can change which host a URL points at: a
// value can never add a dot, a slash, an at sign, a percent escape or a
// look-alike Unicode character.

// dnsLabel is what a value filled into a URL template must be.
var dnsLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// placeholderPattern finds the placeholders of a URL template.
var placeholderPattern = regexp.MustCompile(`\{([^{}]*)\}`)

// ValidDNSLabel reports whether s is one DNS label: 1 to 63 ASCII letters,
// digits and hyphens, neither starting nor ending with a hyphen. Only such
// values are filled into URL templates.
func ValidDNSLabel(s string) bool { return dnsLabel.MatchString(s) }

// IsURLTemplate reports whether s holds a placeholder (or any brace, which
// makes it a malformed template rather than a URL).
func IsURLTemplate(s string) bool { return strings.ContainsAny(s, "{}") }

// URLTemplateKeys returns the field keys the placeholders of a URL template
// name, each once, in order of first appearance. It returns nil for a URL
// without placeholders and does not check the template; see [ExpandURL].
func URLTemplateKeys(tmpl string) []string {
	var keys []string
	for _, m := range placeholderPattern.FindAllStringSubmatch(tmpl, -1) {
		if !slices.Contains(keys, m[1]) {
			keys = append(keys, m[1])
		}
	}
	return keys
}

// urlTemplate is a parsed URL template: the template with every
// placeholder replaced by a dummy label, parsed, and where the dummy
// labels sit in its host and path.
type urlTemplate struct {
	raw    string
	keys   []string // placeholder keys, each once
	dummy  map[string]string
	parsed *url.URL
	host   []string // host labels; a placeholder label holds its key in keyAt
	path   []string // path segments (of the unescaped path)
	hostAt map[int]string
	pathAt map[int]string
}

// templateProblem is a problem of a URL template: key is the placeholder's
// key, or "" when the problem is about the template as a whole.
type templateProblem struct {
	key    string
	reason string
}

// parseURLTemplate checks the shape of a template: placeholders are
// well-formed keys and each stands for a whole host label or path segment;
// the rest is an absolute http(s) URL without user information.
func parseURLTemplate(tmpl string) (*urlTemplate, *templateProblem) {
	t := &urlTemplate{raw: tmpl, dummy: map[string]string{}, hostAt: map[int]string{}, pathAt: map[int]string{}}
	// Every brace must belong to a placeholder.
	if strings.ContainsAny(placeholderPattern.ReplaceAllString(tmpl, ""), "{}") {
		return nil, &templateProblem{reason: "URL template has an unbalanced or nested brace"}
	}
	for _, m := range placeholderPattern.FindAllStringSubmatch(tmpl, -1) {
		if !ValidKey(m[1]) {
			return nil, &templateProblem{reason: "URL template has a placeholder that is not a field key"}
		}
		if !slices.Contains(t.keys, m[1]) {
			t.keys = append(t.keys, m[1])
		}
	}
	// A dummy label per key that occurs nowhere in the template.
	filled := tmpl
	for i, k := range t.keys {
		d := "ckph" + strconv.Itoa(i) + "x"
		for strings.Contains(strings.ToLower(tmpl), d) {
			d += "x"
		}
		t.dummy[k] = d
		filled = strings.ReplaceAll(filled, "{"+k+"}", d)
	}
	u, err := url.Parse(filled)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, &templateProblem{reason: "URL template is not an absolute URL"}
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, &templateProblem{reason: "URL template must be an http or https URL"}
	}
	if u.User != nil {
		return nil, &templateProblem{reason: "URL template must not contain user information"}
	}
	t.parsed = u
	t.host = strings.Split(u.Hostname(), ".")
	t.path = strings.Split(u.Path, "/")
	placed := make(map[string]bool, len(t.keys))
	for i, l := range t.host {
		for _, k := range t.keys {
			if l == t.dummy[k] {
				t.hostAt[i] = k
				placed[k] = true
			}
		}
	}
	for i, s := range t.path {
		for _, k := range t.keys {
			if s == t.dummy[k] {
				t.pathAt[i] = k
				placed[k] = true
			}
		}
	}
	// A dummy anywhere else (inside a label or segment, in the port, the
	// query or the fragment) is a placeholder in a place it may not be.
	rest := u.Port() + "?" + u.RawQuery + "#" + u.Fragment + "/" + strings.Join(unplaced(t.host, t.hostAt), ".") + "/" + strings.Join(unplaced(t.path, t.pathAt), "/")
	for _, k := range t.keys {
		if !placed[k] || strings.Contains(rest, t.dummy[k]) {
			return nil, &templateProblem{key: k, reason: fmt.Sprintf("placeholder {%s} must be a whole host label or path segment", k)}
		}
	}
	return t, nil
}

// unplaced returns the parts that are not placeholders.
func unplaced(parts []string, at map[int]string) []string {
	out := make([]string, 0, len(parts))
	for i, p := range parts {
		if _, ok := at[i]; !ok {
			out = append(out, p)
		}
	}
	return out
}

// placeholderProblem checks that a placeholder names a field a URL may
// carry.
func (t *Type) placeholderProblem(key string) *templateProblem {
	f, ok := t.Field(key)
	switch {
	case !ok:
		return &templateProblem{key: key, reason: fmt.Sprintf("placeholder {%s} names no field of the type", key)}
	case f.IsSecret():
		return &templateProblem{key: key, reason: fmt.Sprintf("placeholder {%s} names a secret field, which must never be part of a URL", key)}
	}
	return nil
}

// checkURLTemplate reports why tmpl is not a usable URL template of the
// type for field f, or "" when it is one: its shape, its placeholders
// (fields of the type, not secret, not f itself), and the URL it gives
// when every placeholder is filled with a dummy label must satisfy f's kind
// and rule. The reason never contains a value.
func (t *Type) checkURLTemplate(f Field, tmpl string) string {
	ut, p := parseURLTemplate(tmpl)
	if p != nil {
		return p.reason
	}
	for _, k := range ut.keys {
		if k == f.Key {
			return fmt.Sprintf("placeholder {%s} names the field itself", k)
		}
		if p := t.placeholderProblem(k); p != nil {
			return p.reason
		}
	}
	if reason := checkValue(f, ut.parsed.String()); reason != "" {
		return "with its placeholders filled in, " + reason
	}
	return ""
}

// isTemplateValue reports whether s is the URL template that f declares as
// its default. Only a declared default (checked by [Declare]) is taken as a
// template: a value from a template, a variable default or a customer that
// holds braces is not a URL.
func isTemplateValue(f Field, s string) bool {
	return f.Kind == KindURL && s == f.Default && IsURLTemplate(s)
}

// checkDefault checks a field's default: a URL template as a template,
// anything else as a value.
func (t *Type) checkDefault(f Field) string {
	if f.Kind == KindURL && IsURLTemplate(f.Default) {
		return t.checkURLTemplate(f, f.Default)
	}
	return checkValue(f, f.Default)
}

// checkResolved checks a resolved value; the field's own URL template
// default is checked as a template, and filled in by checkTemplateValues.
func (t *Type) checkResolved(f Field, s string) string {
	if isTemplateValue(f, s) {
		return t.checkURLTemplate(f, s)
	}
	return checkValue(f, s)
}

// checkTemplateValues adds the problems of filling in the URL templates
// among the values of v (see [ExpandURL]). A field that already has a
// problem is not reported again.
func (t *Type) checkTemplateValues(v Values, p *problems) {
	for _, f := range t.Fields {
		s := v.String(f.Key)
		if !isTemplateValue(f, s) {
			continue
		}
		_, err := ExpandURL(s, t, v)
		ve, ok := err.(*ValidationError)
		if !ok {
			continue
		}
		for _, fe := range ve.Problems {
			if slices.ContainsFunc(p.list, func(x FieldError) bool { return x.Key == fe.Key }) {
				continue
			}
			if fe.Key == "template" {
				fe.Key, fe.Label = f.Key, f.DisplayLabel()
			}
			p.add(fe.Key, fe.Label, fe.Reason)
		}
	}
}

// ExpandURL fills the placeholders of the URL template tmpl with the values
// of typ's fields in v and returns the URL. A string without braces is
// returned as it is.
//
// Every placeholder must name a non-secret field of typ, stand for a whole
// host label or path segment, and its value must be non-empty, valid for
// its field (kind, choices, rule) and one DNS label (see [ValidDNSLabel]).
// The result is checked once more: its scheme, port, query, fragment and
// every host label and path segment not templated are those of the
// template, and each templated one is exactly its value; so no value can
// point the URL at another host.
//
// Errors are a *[ValidationError] (matching [ErrInvalid]) whose problems
// name the placeholder's field (or "template" for a malformed template) and
// never contain a value or the template.
func ExpandURL(tmpl string, typ *Type, v Values) (string, error) {
	if !IsURLTemplate(tmpl) {
		return tmpl, nil
	}
	p := &problems{subject: fmt.Sprintf("URL template of type %q", typ.Key)}
	t, tp := parseURLTemplate(tmpl)
	if tp != nil {
		key := tp.key
		if key == "" {
			key = "template"
		}
		p.add(key, "", tp.reason)
		return "", p.err()
	}
	values := make(map[string]string, len(t.keys))
	for _, k := range t.keys {
		if pp := typ.placeholderProblem(k); pp != nil {
			p.add(k, "", pp.reason)
			continue
		}
		f, _ := typ.Field(k)
		s := v.String(k)
		switch {
		case s == "":
			p.add(k, f.DisplayLabel(), "has no value to fill into a URL")
		case !ValidDNSLabel(s):
			p.add(k, f.DisplayLabel(), "must be a single DNS label (letters, digits and inner hyphens, at most 63) to fill into a URL")
		default:
			if reason := checkValue(f, s); reason != "" {
				p.add(k, f.DisplayLabel(), reason)
				continue
			}
			values[k] = s
		}
	}
	if err := p.err(); err != nil {
		return "", err
	}
	out := tmpl
	for _, k := range t.keys {
		out = strings.ReplaceAll(out, "{"+k+"}", values[k])
	}
	if !t.sameShape(out, values) {
		// Unreachable with DNS-label values; kept as the last line of defence.
		p.add("template", "", "filled-in URL does not keep the template's host and path")
		return "", p.err()
	}
	return out, nil
}

// sameShape reports whether the expanded URL s is the template with exactly
// its placeholders replaced by values: same scheme, no user information,
// same port, query and fragment, and the same host labels and path segments
// but the templated ones, which equal their values.
func (t *urlTemplate) sameShape(s string, values map[string]string) bool {
	u, err := url.Parse(s)
	if err != nil || u.User != nil || u.Opaque != "" || u.Scheme != t.parsed.Scheme ||
		u.Port() != t.parsed.Port() || u.RawQuery != t.parsed.RawQuery || u.Fragment != t.parsed.Fragment {
		return false
	}
	match := func(got, want []string, at map[int]string) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			w := want[i]
			if k, ok := at[i]; ok {
				w = values[k]
			}
			if got[i] != w {
				return false
			}
		}
		return true
	}
	return match(strings.Split(u.Hostname(), "."), t.host, t.hostAt) &&
		match(strings.Split(u.Path, "/"), t.path, t.pathAt)
}
