package oauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzCallbackHandler sends arbitrary query strings to the callback
// handler. "STATE" in the input is replaced by the state of a CONNECT just
// started, so the fuzzer reaches the paths after the state is consumed.
// Invariants: no panic; every answer carries the security headers; no
// answer is a success (the fuzzer cannot forge a code); the token endpoint
// is called only for a well-formed response (one state, one code, no
// error, no repeated parameter); the page never echoes markup unescaped.
func FuzzCallbackHandler(f *testing.F) {
	for _, s := range []string{
		"code=abc&state=STATE",
		"error=access_denied&error_description=%3Cscript%3E&state=STATE",
		"code=a&code=b&state=STATE",
		"code=a&error=b&state=STATE",
		"state=STATE&state=STATE&code=x",
		"code=x&state=STATE&iss=https%3A%2F%2Fevil.example",
		"state=STATE",
		"%zz&state=STATE",
		"code=x",
		"",
	} {
		f.Add(s)
	}
	fx := newFlowFx(f, flowFxOptions{})
	f.Fuzz(func(t *testing.T, raw string) {
		if strings.Contains(raw, "STATE") {
			authURL, err := fx.flow.Start(context.Background(), fx.ref)
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(authURL)
			raw = strings.ReplaceAll(raw, "STATE", url.QueryEscape(u.Query().Get("state")))
		}
		req := httptest.NewRequest(http.MethodGet, fxRedirectURL, nil)
		req.URL.RawQuery = raw
		before := fx.tokenCalls()
		rec := httptest.NewRecorder()
		fx.flow.ServeHTTP(rec, req)
		resp := rec.Result()
		calls := fx.tokenCalls() - before
		if resp.Header.Get("Referrer-Policy") != "no-referrer" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("missing security headers: %v", resp.Header)
		}
		switch resp.StatusCode {
		case http.StatusBadRequest, http.StatusBadGateway, http.StatusInternalServerError:
		default:
			t.Fatalf("status %d for %q", resp.StatusCode, raw)
		}
		if calls > 1 {
			t.Fatalf("%d token calls for one callback", calls)
		}
		if calls == 1 {
			vals, err := url.ParseQuery(raw)
			if err != nil || len(vals["code"]) != 1 || vals.Has("error") || len(vals["state"]) != 1 {
				t.Fatalf("token endpoint called for %q", raw)
			}
			for k, v := range vals {
				if len(v) != 1 {
					t.Fatalf("token endpoint called for %q with repeated %q", raw, k)
				}
			}
		}
		if body := rec.Body.String(); strings.Contains(strings.ToLower(body), "<script") {
			t.Fatalf("page contains markup from the input: %q", body)
		}
	})
}
