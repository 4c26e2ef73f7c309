package oauth

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/connkit/connkit/internal/httpx"
)

// tokenMembers are the standard members of a token response (RFC 6749
// section 5.1, and the expires_at some providers add). With a TokenPath,
// they are taken from the nested object only.
var tokenMembers = []string{"access_token", "token_type", "expires_in", "expires_at", "refresh_token", "scope", "id_token"}

// tokenClient returns the client to call the token endpoint with: client
// itself, or for a type with a TokenPath a copy whose transport lifts the
// nested token set to the top level of successful JSON responses, so that
// x/oauth2 reads the nested token.
func (e *Endpoint) tokenClient(client *http.Client) *http.Client {
	if len(e.settings.TokenPath) == 0 {
		return client
	}
	if client == nil {
		client = http.DefaultClient
	}
	c := *client
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = liftTransport{base: base, path: e.settings.TokenPath}
	return &c
}

// liftTransport rewrites successful JSON token responses: the members of
// the object at path replace the standard token members of the top level,
// which are dropped even when the object is missing.
type liftTransport struct {
	base http.RoundTripper
	path []string
}

func (t liftTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, err
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" || ct == "text/plain" {
		return resp, nil // x/oauth2 reads these as forms, which cannot nest
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, httpx.TokenBodyLimit))
	_ = resp.Body.Close()
	if rerr != nil {
		return nil, rerr
	}
	if lifted, ok := liftToken(body, t.path); ok {
		body = lifted
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return resp, nil
}

// liftToken returns body with the object at path lifted into the top level.
// It reports false when body is not a JSON object, which is then left for
// x/oauth2 to refuse.
func liftToken(body []byte, path []string) ([]byte, bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil || top == nil {
		return nil, false
	}
	if _, isErr := top["error"]; isErr {
		return nil, false // a 200 error answer (Slack's ok:false) stays as it is
	}
	nested := top
	for _, member := range path {
		var next map[string]json.RawMessage
		if raw, ok := nested[member]; !ok || json.Unmarshal(raw, &next) != nil || next == nil {
			nested = nil
			break
		}
		nested = next
	}
	for _, m := range tokenMembers {
		delete(top, m)
	}
	for k, v := range nested {
		top[k] = v
	}
	out, err := json.Marshal(top)
	if err != nil {
		return nil, false
	}
	return out, true
}
