package component

import (
	"cmp"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/oauth"
)

// A token source's error can carry what a provider said (an
// *oauth.TokenError's Code and Description). oauth redacts the secrets of
// its own request from them, but the Conn knows secrets oauth may not have
// had at hand (every secret field of the resolved values, the access token
// the API just rejected), and a provider that echoes one of those must not
// get it into a step's error, log or the connection's status. The Conn
// therefore redacts them too before it hands such an error on.

// secretForms returns the strings in which a provider could echo the
// Conn's secrets: the value of every secret field and of each extra
// secret, as is, query- and path-escaped and in base64, plus the base64 of
// the Basic credentials "id:secret" built from them (the OAuth 2.0 client
// id and secret, or the username and password of a Basic type). Longest
// first, so that a longer form is replaced before a shorter one inside it.
func (c *Conn) secretForms(extra ...connection.Secret) []string {
	var forms []string
	add := func(vs ...string) {
		for _, v := range vs {
			if v != "" {
				forms = append(forms, v)
			}
		}
	}
	addB64 := func(raw string) {
		b := []byte(raw)
		add(base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
			base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b))
	}
	addSecret := func(s string) {
		if s == "" {
			return
		}
		add(s, url.QueryEscape(s), url.PathEscape(s))
		addB64(s)
	}
	for _, f := range c.cfg.Type.Fields {
		if f.IsSecret() {
			addSecret(c.cfg.Values.String(f.Key))
		}
	}
	for _, s := range extra {
		addSecret(s.Reveal())
	}
	pair := func(idField, secretField string) {
		id, secret := c.cfg.Values.String(idField), c.cfg.Values.String(secretField)
		if secret != "" {
			addB64(id + ":" + secret)
			addB64(url.QueryEscape(id) + ":" + url.QueryEscape(secret))
		}
	}
	if c.cfg.Type.OAuth2 != nil {
		pair(connection.FieldClientID, connection.FieldClientSecret)
	}
	if a := c.cfg.Type.Auth; a.Method == connection.AuthBasic {
		pair(a.UsernameField, a.PasswordField)
	}
	slices.SortFunc(forms, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b))
	})
	return slices.Compact(forms)
}

// Redact returns s with every secret of the connection replaced by
// connection.Redacted: each secret field's value as is, query- and
// path-escaped and in base64, and the Basic credentials built from them.
// Use it before a text that may quote a credential (an API's error body, a
// request dump) reaches a log line, an error or a stored status.
func (c *Conn) Redact(s string) string { return replaceForms(s, c.secretForms()) }

// replaceForms replaces every form in s with connection.Redacted.
func replaceForms(s string, forms []string) string {
	for _, f := range forms {
		if strings.Contains(s, f) {
			s = strings.ReplaceAll(s, f, connection.Redacted)
		}
	}
	return s
}

// containsForm reports whether s contains one of forms.
func containsForm(s string, forms []string) bool {
	for _, f := range forms {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}

// redactTokenErr returns err unchanged unless its message contains one of
// the Conn's secrets (see secretForms; extra are more secrets, such as a
// rejected access token). Then it returns a *scrubbedError with the
// message redacted, which still matches every error err matches with
// errors.Is, and whose chain holds a redacted copy of err's
// *oauth.TokenError (if any) in place of the original, so that errors.As
// finds no provider text with the secret either.
func (c *Conn) redactTokenErr(err error, extra ...connection.Secret) error {
	if err == nil {
		return nil
	}
	forms := c.secretForms(extra...)
	if !containsForm(err.Error(), forms) {
		return err
	}
	return scrubTokenErr(err, forms)
}

func scrubTokenErr(err error, forms []string) error {
	if err == nil || !containsForm(err.Error(), forms) {
		return err
	}
	s := &scrubbedError{msg: replaceForms(err.Error(), forms), orig: err}
	if te, ok := errors.AsType[*oauth.TokenError](err); ok {
		cp := *te
		cp.Code = replaceForms(cp.Code, forms)
		cp.Description = replaceForms(cp.Description, forms)
		cp.Err = scrubTokenErr(cp.Err, forms)
		s.inner = &cp
	}
	return s
}

// scrubbedError is an error whose message held a secret of the Conn. Is
// consults the original error, so sentinels (oauth.ErrReconnect,
// oauth.ErrMisconfigured, context errors) still match; Unwrap gives only the
// redacted copy of the original's *oauth.TokenError, never the original.
type scrubbedError struct {
	msg   string
	orig  error
	inner error
}

func (e *scrubbedError) Error() string { return e.msg }

func (e *scrubbedError) Unwrap() error { return e.inner }

func (e *scrubbedError) Is(target error) bool { return errors.Is(e.orig, target) }
