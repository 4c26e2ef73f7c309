package connection

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
)

// The validator is a stateless cache of parsed rules; validator.Validate is
// safe for concurrent use. It is created on first use.
var ruleValidator = sync.OnceValue(func() *validator.Validate {
	return validator.New(validator.WithRequiredStructEnabled())
})

// checkRule reports whether rule is a well-formed validator tag. validator
// panics on unknown tags, so the panic is turned into an error here, at
// declaration time, and never reaches value validation.
func checkRule(rule string) (err error) {
	if rule == "" {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rule %q is not a valid validation rule", rule)
		}
	}()
	_ = ruleValidator().Var("", rule)
	return nil
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
		if err != nil {
			return "must be a number"
		}
		typed = n
	case KindURL:
		if err := checkURL(v); err != "" {
			return err
		}
	case KindChoice:
		if !slices.Contains(f.Choices, v) {
			return "must be one of " + strings.Join(f.Choices, ", ")
		}
	}
	if f.Rule == "" {
		return ""
	}
	if err := checkRule(f.Rule); err != nil {
		return err.Error()
	}
	if err := ruleValidator().Var(typed, f.Rule); err != nil {
		return "does not satisfy rule " + strconv.Quote(f.Rule)
	}
	return ""
}

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
