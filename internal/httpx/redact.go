package httpx

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// Redacted replaces every redacted value.
const Redacted = "REDACTED"

// RedactURL renders u for logs and errors without secrets: userinfo is
// dropped, every query value is replaced with REDACTED (keys are kept, so
// "?api_key=s3cr3t&page=2" becomes "?api_key=REDACTED&page=REDACTED"), a
// query part without "=" becomes REDACTED as a whole, and a fragment becomes
// "#REDACTED". The path is kept: callers must not put secrets in paths they
// log. A nil u renders as "".
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	r := *u
	r.User = nil
	if r.RawQuery != "" {
		r.RawQuery = redactQuery(r.RawQuery)
	}
	r.ForceQuery = false
	if r.Fragment != "" || r.RawFragment != "" {
		r.Fragment, r.RawFragment = Redacted, ""
	}
	return r.String()
}

// redactQuery keeps keys in their original order and encoding and replaces
// values.
func redactQuery(raw string) string {
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		if p == "" {
			continue
		}
		k, _, ok := strings.Cut(p, "=")
		if !ok {
			parts[i] = Redacted
			continue
		}
		parts[i] = k + "=" + Redacted
	}
	return strings.Join(parts, "&")
}

// RedactError returns err with every URL in its message redacted (see
// [RedactURL]), so that err.Error() of a failed request never contains a
// query-string secret or credentials. A top-level *url.Error (what
// *http.Client returns) is rebuilt with its URL redacted, so errors.As to
// *url.Error keeps working; other errors whose message contains a URL are
// wrapped in an error with a redacted message. errors.Is and errors.As see
// the original chain in both cases. A nil err returns nil.
//
// In free text only absolute URLs (scheme://...) are recognised; the URL of
// a *url.Error is redacted wherever the error sits in the chain, whatever
// its form (relative, or not even parseable).
func RedactError(err error) error {
	if err == nil {
		return nil
	}
	if ue, ok := err.(*url.Error); ok {
		return &url.Error{Op: ue.Op, URL: redactURLString(ue.URL), Err: RedactError(ue.Err)}
	}
	msg := err.Error()
	red := msg
	var pairs []string // old, new: each URL as (*url.Error).Error quotes it, then bare
	eachURLError(err, func(ue *url.Error) {
		if r := redactURLString(ue.URL); ue.URL != "" && r != ue.URL {
			pairs = append(pairs, strconv.Quote(ue.URL), strconv.Quote(r), ue.URL, r)
		}
	})
	if pairs != nil {
		// One pass, so that no replacement is itself replaced again.
		red = strings.NewReplacer(pairs...).Replace(red)
	}
	red = redactText(red)
	if red == msg {
		return err
	}
	return &redactedError{msg: red, err: err}
}

// eachURLError calls f for every *url.Error in err's chain (tree).
func eachURLError(err error, f func(*url.Error)) {
	for err != nil {
		if ue, ok := err.(*url.Error); ok {
			f(ue)
		}
		switch e := err.(type) {
		case interface{ Unwrap() error }:
			err = e.Unwrap()
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				eachURLError(inner, f)
			}
			return
		default:
			return
		}
	}
}

// redactedError carries a redacted message for an error whose own message
// contains a secret.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Timeout keeps (*url.Error).Timeout working through the wrapper.
func (e *redactedError) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.err, &t) && t.Timeout()
}

// redactURLString redacts a URL given as a string (see [RedactURL]). One
// that does not parse keeps what precedes its query and fragment, less any
// userinfo after "//", and loses the rest to REDACTED.
func redactURLString(s string) string {
	if u, err := url.Parse(s); err == nil {
		return RedactURL(u)
	}
	head, tail := s, ""
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		head, tail = s[:i], s[i:i+1]+Redacted
	}
	if i := strings.Index(head, "//"); i >= 0 {
		auth := head[i+2:]
		if end := strings.IndexByte(auth, '/'); end >= 0 {
			auth = auth[:end]
		}
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			head = head[:i+2] + head[i+2+at+1:]
		}
	}
	return head + tail
}

// redactText redacts every absolute URL (scheme://...) inside free text.
// Unparseable URLs lose everything after their host.
func redactText(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "://")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		start := i
		for start > 0 && isSchemeChar(rest[start-1]) {
			start--
		}
		end := i + 3
		for end < len(rest) && !isURLTerminator(rest[end]) {
			end++
		}
		b.WriteString(rest[:start])
		tok := rest[start:end]
		if start == i { // "://" without a scheme: not a URL, but be safe
			b.WriteString(cutSecrets(tok))
		} else if u, err := url.Parse(tok); err == nil {
			b.WriteString(RedactURL(u))
		} else {
			b.WriteString(cutSecrets(tok))
		}
		rest = rest[end:]
	}
	return b.String()
}

// cutSecrets is the fallback for text that looks like a URL but does not
// parse: keep scheme and host, drop userinfo, path, query and fragment.
func cutSecrets(tok string) string {
	scheme, rest, _ := strings.Cut(tok, "://")
	auth := rest // userinfo can only be in the authority
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		auth = rest[:i]
	}
	if at := strings.LastIndex(auth, "@"); at >= 0 {
		rest = rest[at+1:]
	}
	host := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host = rest[:i]
	}
	if host == rest {
		return scheme + "://" + host
	}
	return scheme + "://" + host + "/" + Redacted
}

func isSchemeChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'
}

func isURLTerminator(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '`', '<', '>':
		return true
	}
	return false
}
