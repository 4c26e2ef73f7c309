package oauth

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

var validTestState = strings.Repeat("s", 43) + ".c2VhbGVk"

func TestParseCallback(t *testing.T) {
	st := url.QueryEscape(validTestState)
	for _, tc := range []struct {
		raw       string
		ok        bool
		code      string
		errCode   string
		iss       string
		keepState bool // state extracted even though the response is refused
	}{
		{raw: "code=abc&state=" + st, ok: true, code: "abc", keepState: true},
		{raw: "code=abc&state=" + st + "&iss=https%3A%2F%2Fas.example", ok: true, code: "abc", iss: "https://as.example", keepState: true},
		{raw: "error=access_denied&error_description=no&state=" + st, ok: true, errCode: "access_denied", keepState: true},
		{raw: "code=abc", ok: false},
		{raw: "code=abc&state=", ok: false},
		{raw: "code=abc&state=short", ok: false},
		{raw: "code=abc&error=x&state=" + st, ok: false, keepState: true},
		{raw: "state=" + st, ok: false, keepState: true},
		{raw: "code=&state=" + st, ok: false, keepState: true},
		{raw: "code=a&code=b&state=" + st, ok: false, keepState: true},
		{raw: "code=a&state=" + st + "&state=" + st, ok: false},
		{raw: "code=a&state=" + st + "&x=%zz", ok: false, keepState: true},
		{raw: "code=a;b&state=" + st, ok: false, keepState: true},
		{raw: "error=&state=" + st, ok: false, keepState: true},
		{raw: "error=a%0Ab&state=" + st, ok: false, keepState: true},
		{raw: "code=a&state=" + st + "&pad=" + strings.Repeat("x", maxCallbackQuery), ok: false},
	} {
		q, err := parseCallback(tc.raw)
		if (err == nil) != tc.ok {
			t.Errorf("parseCallback(%.80q) error = %v, want ok=%v", tc.raw, err, tc.ok)
			continue
		}
		if err != nil && !errors.Is(err, errMalformedCallback) {
			t.Errorf("error %v does not wrap errMalformedCallback", err)
		}
		if (q.state != "") != tc.keepState {
			t.Errorf("parseCallback(%.80q) state = %q, want kept=%v", tc.raw, q.state, tc.keepState)
		}
		if tc.ok && (q.code != tc.code || q.errCode != tc.errCode || q.iss != tc.iss) {
			t.Errorf("parseCallback(%.80q) = code %q error %q iss %q", tc.raw, q.code, q.errCode, q.iss)
		}
	}
}

// FuzzParseCallback checks the parser's invariants on any query string:
// no panic, and an accepted response has exactly one of code and error, a
// well-formed state, no repeated parameter, and a printable error code.
func FuzzParseCallback(f *testing.F) {
	st := url.QueryEscape(validTestState)
	for _, s := range []string{
		"code=abc&state=" + st,
		"error=access_denied&error_description=denied&state=" + st,
		"code=a&code=b&state=" + st,
		"code=a&error=b&state=" + st,
		"state=" + st + "&iss=https%3A%2F%2Fas.example&code=x",
		"%zz",
		";",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseCallback(raw)
		if q.state != "" && !wellFormedState(q.state) {
			t.Fatalf("extracted a malformed state %q", q.state)
		}
		if err != nil {
			if !errors.Is(err, errMalformedCallback) {
				t.Fatalf("error %v does not wrap errMalformedCallback", err)
			}
			return
		}
		vals, perr := url.ParseQuery(raw)
		if perr != nil || len(raw) > maxCallbackQuery {
			t.Fatalf("accepted %q that does not parse or is too long", raw)
		}
		for k, v := range vals {
			if len(v) != 1 {
				t.Fatalf("accepted repeated parameter %q", k)
			}
		}
		if (q.code == "") == (q.errCode == "") {
			t.Fatalf("accepted %q with code %q and error %q", raw, q.code, q.errCode)
		}
		if q.state == "" || vals.Get("state") != q.state {
			t.Fatalf("accepted %q without its state", raw)
		}
		if q.errCode != "" && !validErrorCode(q.errCode) {
			t.Fatalf("accepted error code %q", q.errCode)
		}
		for i := 0; i < len(q.errDesc); i++ {
			if q.errDesc[i] < 0x20 || q.errDesc[i] > 0x7e {
				t.Fatalf("error description keeps byte %#x", q.errDesc[i])
			}
		}
	})
}
