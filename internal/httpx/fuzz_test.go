package httpx

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The parsers of outside input: Retry-After headers and the redaction of
// URLs, errors and free text that may carry secrets. Seed corpora live in
// testdata/fuzz/<FuzzName>/; run one with, e.g.,
//
//	go test -run '^$' -fuzz '^FuzzRetryAfter$' -fuzztime 20s ./internal/httpx

// FuzzRetryAfter: never panics; when ok, the wait is within
// [0, MaxRetryAfter]; a plain count of seconds within the cap is read
// exactly; a negative count is refused.
func FuzzRetryAfter(f *testing.F) {
	f.Fuzz(func(t *testing.T, value string, nowUnix int64) {
		now := time.Unix(nowUnix, 0)
		h := http.Header{"Retry-After": {value}}
		d, ok := RetryAfter(h, now)
		if !ok {
			if d != 0 {
				t.Fatalf("RetryAfter(%q) = %v, false; want 0 when not ok", value, d)
			}
			return
		}
		if d < 0 || d > MaxRetryAfter {
			t.Fatalf("RetryAfter(%q, %v) = %v, outside [0, %v]", value, now, d, MaxRetryAfter)
		}
		v := strings.TrimSpace(value)
		if isDigits(v) {
			want := MaxRetryAfter
			if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs < int64(MaxRetryAfter/time.Second) {
				want = time.Duration(secs) * time.Second
			}
			if d != want {
				t.Fatalf("RetryAfter(%q) = %v, want %v", value, d, want)
			}
		}
		if strings.HasPrefix(v, "-") && isDigits(v[1:]) && strings.Trim(v[1:], "0") != "" {
			t.Fatalf("RetryAfter(%q) = %v, true; want a negative delay refused", value, d)
		}
	})
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FuzzRedactURL: for any URL that parses, the redacted form depends only
// on its scheme, host, path and query keys: changing the query values, the
// userinfo or the fragment does not change it, so none of them can appear
// in it. Its query part is exactly the input's keys, each with the value
// REDACTED.
func FuzzRedactURL(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		got := RedactURL(u)

		other := *u
		other.User = url.UserPassword("other-user", "other-password")
		other.RawQuery = replaceQueryValues(u.RawQuery)
		if u.Fragment != "" || u.RawFragment != "" {
			other.Fragment, other.RawFragment = "other-fragment", ""
		}
		if alt := RedactURL(&other); alt != got {
			t.Fatalf("RedactURL depends on query values, userinfo or fragment:\n%q -> %q\n%q -> %q", raw, got, other.String(), alt)
		}

		stripped := *u
		stripped.User, stripped.RawQuery, stripped.ForceQuery = nil, "", false
		stripped.Fragment, stripped.RawFragment = "", ""
		want := stripped.String()
		if u.RawQuery != "" {
			want += "?" + wantRedactedQuery(u.RawQuery)
		}
		if u.Fragment != "" || u.RawFragment != "" {
			want += "#" + Redacted
		}
		if got != want {
			t.Fatalf("RedactURL(%q) = %q, want %q", raw, got, want)
		}
		if pw, ok := u.User.Password(); ok && len(pw) >= 4 && !strings.Contains(want, pw) && strings.Contains(got, pw) {
			t.Fatalf("RedactURL(%q) = %q contains the password", raw, got)
		}
	})
}

// replaceQueryValues gives every non-empty part of a raw query another
// value (or, for a part without "=", another whole).
func replaceQueryValues(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		if p == "" {
			continue
		}
		if k, _, ok := strings.Cut(p, "="); ok {
			parts[i] = k + "=other-value"
		} else {
			parts[i] = "other-part"
		}
	}
	return strings.Join(parts, "&")
}

// wantRedactedQuery states RedactURL's contract for a raw query: keys in
// order and as written, every value REDACTED, a part without "=" REDACTED
// as a whole, empty parts kept.
func wantRedactedQuery(raw string) string {
	var parts []string
	for p := range strings.SplitSeq(raw, "&") {
		switch k, _, ok := strings.Cut(p, "="); {
		case p == "":
			parts = append(parts, "")
		case ok:
			parts = append(parts, k+"="+Redacted)
		default:
			parts = append(parts, Redacted)
		}
	}
	return strings.Join(parts, "&")
}

// embedURL builds an absolute URL from fuzzed pieces with secret (query
// escaped, as a client would send it) as the value of a query parameter.
// ok is false when the pieces contain characters that end a URL in text
// (see isURLTerminator), which would put the secret outside the URL.
func embedURL(scheme, hostPath, secret string) (string, bool) {
	if strings.ContainsFunc(scheme+hostPath, func(r rune) bool { return r < 0x80 && isURLTerminator(byte(r)) }) {
		return "", false
	}
	sep := "?"
	if strings.Contains(hostPath, "?") {
		sep = "&"
	}
	return scheme + "://" + hostPath + sep + "key=" + url.QueryEscape(secret), true
}

// FuzzRedactText: a URL inside free text is redacted whatever surrounds
// it: the text's redacted form does not depend on the value of the URL's
// query parameter, so the value cannot appear in it.
func FuzzRedactText(f *testing.F) {
	f.Fuzz(func(t *testing.T, prefix, scheme, hostPath, secret, suffix string) {
		withSecret, ok := embedURL(scheme, hostPath, secret)
		if !ok {
			return
		}
		withOther, _ := embedURL(scheme, hostPath, "other-value")
		text := prefix + " " + withSecret + " " + suffix
		got := redactText(text)
		alt := redactText(prefix + " " + withOther + " " + suffix)
		if got != alt {
			t.Fatalf("redactText depends on a query value:\n%q -> %q\nwith the value replaced -> %q", text, got, alt)
		}
	})
}

// FuzzRedactError: neither the URL of a *url.Error (which may be any
// string, even one that does not parse) nor a URL inside the message of
// the error it wraps leaks a query value through RedactError.
func FuzzRedactError(f *testing.F) {
	f.Fuzz(func(t *testing.T, base, scheme, hostPath, secret, msg string) {
		build := func(secret string) (error, bool) {
			inText, ok := embedURL(scheme, hostPath, secret)
			if !ok {
				return nil, false
			}
			sep := "?"
			if strings.Contains(base, "?") {
				sep = "&"
			}
			return &url.Error{
				Op:  "Get",
				URL: base + sep + "key=" + url.QueryEscape(secret),
				Err: fmt.Errorf("%s %s", msg, inText),
			}, true
		}
		err, ok := build(secret)
		if !ok {
			return
		}
		other, _ := build("other-value")
		red := RedactError(err)
		got, alt := red.Error(), RedactError(other).Error()
		if got != alt {
			t.Fatalf("RedactError depends on a query value:\n%q -> %q\nwith the value replaced -> %q", err.Error(), got, alt)
		}
		// Wrapped, the *url.Error's message is redacted as well.
		if got, alt := RedactError(fmt.Errorf("wrapped: %w", err)).Error(), RedactError(fmt.Errorf("wrapped: %w", other)).Error(); got != alt {
			t.Fatalf("RedactError of a wrapped *url.Error depends on a query value:\n%q -> %q\nwith the value replaced -> %q", err.Error(), got, alt)
		}
		var ue *url.Error
		if !errors.As(red, &ue) {
			t.Fatalf("RedactError(%v) lost the *url.Error", err)
		}
		if plain := RedactError(errors.New(msg)); plain.Error() != redactText(msg) {
			t.Fatalf("RedactError(errors.New(%q)) = %q, want %q", msg, plain, redactText(msg))
		}
	})
}
