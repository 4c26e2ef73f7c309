package connection

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
)

// ruleValidator is created on first use and only caches parsed rules;
// validator.Validate is safe for concurrent use.
var ruleValidator = sync.OnceValue(func() *validator.Validate {
	return validator.New(validator.WithRequiredStructEnabled())
})

// refusedTags are validator tags that compare a value with other struct
// fields or walk containers. A rule applies to one value on its own, so they
// would silently pass or fail; declaring them is an error.
var refusedTags = map[string]bool{
	"dive": true, "keys": true, "endkeys": true, "structonly": true, "nostructlevel": true,
	"unique": true, "skip_unless": true,
	"eqfield": true, "nefield": true, "gtfield": true, "gtefield": true, "ltfield": true, "ltefield": true,
	"eqcsfield": true, "necsfield": true, "gtcsfield": true, "gtecsfield": true, "ltcsfield": true, "ltecsfield": true,
	"fieldcontains": true, "fieldexcludes": true,
	"required_if": true, "required_unless": true, "required_with": true, "required_with_all": true,
	"required_without": true, "required_without_all": true,
	"excluded_if": true, "excluded_unless": true, "excluded_with": true, "excluded_with_all": true,
	"excluded_without": true, "excluded_without_all": true,
}

// ruleSamples returns values of the Go type a field of kind k is validated
// as: an empty one and a non-empty one, so that a rule whose parameters do
// not fit the type (or that only runs on non-empty values) fails to declare.
func ruleSamples(k Kind) []any {
	switch k {
	case KindNumber:
		return []any{0.0, 1.0}
	case KindBoolean:
		return []any{false, true}
	}
	return []any{"", "x"}
}

// checkRule reports whether rule is a well-formed validator tag that applies
// to the values of a field of kind k. validator panics on unknown tags and on
// parameters that do not fit the value's type, so the panic is turned into
// an error here, at declaration time. The error names the rule, never a value.
func checkRule(k Kind, rule string) (err error) {
	if rule == "" {
		return nil
	}
	for _, part := range strings.FieldsFunc(rule, func(r rune) bool { return r == ',' || r == '|' }) {
		name, _, _ := strings.Cut(part, "=")
		if refusedTags[name] {
			return fmt.Errorf("rule %q uses %q, which cannot apply to a single value", rule, name)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rule %q is not a valid validation rule for a %s field", rule, kindOrString(k))
		}
	}()
	for _, v := range ruleSamples(k) {
		_ = ruleValidator().Var(v, rule)
	}
	return nil
}

func kindOrString(k Kind) Kind {
	if k == "" {
		return KindString
	}
	return k
}

// checkValue validates one non-empty value against its field's kind, choices
// and rule. The returned reason never contains the value.
func checkValue(f Field, v string) (reason string) {
	var typed any = v
	switch f.Kind {
	case KindBoolean:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return "must be true or false"
		}
		typed = b
	case KindNumber:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return "must be a finite decimal number"
		}
		typed = n
	case KindURL:
		if reason := checkURL(v); reason != "" {
			return reason
		}
	case KindChoice:
		if !slices.Contains(f.Choices, v) {
			return "must be one of " + strings.Join(f.Choices, ", ")
		}
	}
	if f.Rule == "" {
		return ""
	}
	// Declaration checks the rule; this guard keeps a type that was never
	// declared (or a rule that panics only on some values) from panicking.
	defer func() {
		if r := recover(); r != nil {
			reason = "cannot be checked against rule " + strconv.Quote(f.Rule)
		}
	}()
	if err := ruleValidator().Var(typed, f.Rule); err != nil {
		return "does not satisfy rule " + strconv.Quote(f.Rule)
	}
	return ""
}

// checkURL reports why v is not an absolute http or https URL with a host and
// without user information, or "" when it is one.
func checkURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return "must be an absolute URL"
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "must be an http or https URL"
	}
	if u.User != nil {
		return "must not contain user information"
	}
	return ""
}
