package oauthtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
)

// Transport returns an http.RoundTripper that serves requests for the
// server's host in memory, by calling [Server.Handler] directly on the
// caller's goroutine: no socket, no extra goroutine, so it works inside a
// testing/synctest bubble. A request for any other host fails. If the
// request's context is done when the handler returns (a hang that the client
// gave up on), RoundTrip returns the context's error, as a real transport
// would.
func (s *Server) Transport() http.RoundTripper { return transport{s} }

type transport struct{ s *Server }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("oauthtest: transport: reading request body: %w", err)
		}
		body = b
	}
	if req.URL == nil || req.URL.Host != t.s.host {
		return nil, fmt.Errorf("oauthtest: transport: request is not for the fake server at %s", t.s.url)
	}
	ctx := req.Context()
	sr := req.Clone(ctx)
	sr.RequestURI = req.URL.RequestURI()
	u, err := url.ParseRequestURI(sr.RequestURI)
	if err != nil {
		return nil, fmt.Errorf("oauthtest: transport: %w", err)
	}
	sr.URL = u
	sr.Host = req.URL.Host
	if req.Host != "" {
		sr.Host = req.Host
	}
	sr.RemoteAddr = "192.0.2.1:1234"
	sr.Proto, sr.ProtoMajor, sr.ProtoMinor = "HTTP/1.1", 1, 1
	sr.Body = io.NopCloser(bytes.NewReader(body))
	sr.ContentLength = int64(len(body))
	sr.GetBody = nil
	if sr.Header == nil {
		sr.Header = http.Header{}
	}

	rec := httptest.NewRecorder()
	t.s.handler.ServeHTTP(rec, sr)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

func jsonEncode(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }
