package oauth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/httpx"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
)

// ccEndpoint is a client-credentials endpoint for the fake provider.
func ccEndpoint(t testing.TB, tokenURL string) *oauth.Endpoint {
	t.Helper()
	typ := connection.MustDeclare(connection.Type{Key: "cc", OAuth2: &connection.OAuth2{
		Grant: connection.GrantClientCredentials, TokenURL: tokenURL}})
	ep, err := oauth.NewEndpoint(&typ, connection.ValuesOf(map[string]string{
		connection.FieldClientID: fxClientID, connection.FieldClientSecret: fxClientSecret}), "")
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func ccServer(t testing.TB, cfg oauthtest.Config) *oauthtest.Server {
	cfg.Clients = append(cfg.Clients, oauthtest.Client{ID: fxClientID, Secret: fxClientSecret})
	return oauthtest.NewUnstarted(t, cfg)
}

// TestHTTPClientRetriesHonourRetryAfter: two 503s with Retry-After: 2 are
// retried after waiting two seconds each, and the third attempt succeeds.
func TestHTTPClientRetriesHonourRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := ccServer(t, oauthtest.Config{})
		srv.FailToken(2, oauthtest.Fault{Status: 503, RetryAfter: "2"})
		client := oauth.NewHTTPClient(oauth.HTTPClientConfig{Transport: srv.Transport()})
		start := time.Now()
		if _, _, err := ccEndpoint(t, srv.TokenURL()).ClientCredentials(context.Background(), client); err != nil {
			t.Fatal(err)
		}
		if n := srv.Calls(oauthtest.PathToken); n != 3 {
			t.Errorf("attempts = %d, want 3", n)
		}
		if waited := time.Since(start); waited != 4*time.Second {
			t.Errorf("waited %v, want 4s (Retry-After twice)", waited)
		}
	})
}

// TestHTTPClientGivesUp: after the first attempt and two retries the last
// answer is the error, with the provider's status; a Retry-After longer
// than the client waits is not retried at all.
func TestHTTPClientGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := ccServer(t, oauthtest.Config{})
		client := oauth.NewHTTPClient(oauth.HTTPClientConfig{Transport: srv.Transport()})
		ep := ccEndpoint(t, srv.TokenURL())

		srv.FailToken(-1, oauthtest.Fault{Status: 502})
		_, _, err := ep.ClientCredentials(context.Background(), client)
		var te *oauth.TokenError
		if !errors.As(err, &te) || te.StatusCode != 502 || !te.Temporary() {
			t.Errorf("error = %v", err)
		}
		if n := srv.Calls(oauthtest.PathToken); n != 3 {
			t.Errorf("attempts = %d, want 3", n)
		}
		srv.ClearFaults()

		srv.FailToken(1, oauthtest.Fault{Status: 429, RetryAfter: "3600"})
		_, _, err = ep.ClientCredentials(context.Background(), client)
		if !errors.As(err, &te) || te.StatusCode != 429 || te.RetryAfter != time.Hour {
			t.Errorf("error = %v (RetryAfter %v)", err, te.RetryAfter)
		}
		if n := srv.Calls(oauthtest.PathToken); n != 4 {
			t.Errorf("attempts = %d, want 4 (no retry of the 429)", n)
		}
		// OAuth errors are final.
		srv.FailToken(1, oauthtest.Fault{Error: "invalid_client"})
		if _, _, err = ep.ClientCredentials(context.Background(), client); !errors.Is(err, oauth.ErrMisconfigured) {
			t.Errorf("error = %v", err)
		}
		if n := srv.Calls(oauthtest.PathToken); n != 5 {
			t.Errorf("attempts = %d, want 5", n)
		}
	})
}

// flakyTransport fails some requests before or after they reach base.
type flakyTransport struct {
	base      http.RoundTripper
	dialFails atomic.Int32 // requests to fail as a refused dial (never sent)
	lostReply atomic.Int32 // requests to send, then lose the answer of
}

func (f *flakyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if f.dialFails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	}
	resp, err := f.base.RoundTrip(req)
	if err == nil && f.lostReply.Add(-1) >= 0 {
		resp.Body.Close()
		return nil, io.ErrUnexpectedEOF
	}
	return resp, err
}

// TestHTTPClientRetriesOnlyUnsentRequests: a failed dial is retried; a
// request that reached the provider and lost its answer is not (replaying a
// code or a rotating refresh token could burn the grant).
func TestHTTPClientRetriesOnlyUnsentRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := ccServer(t, oauthtest.Config{})
		ft := &flakyTransport{base: srv.Transport()}
		client := oauth.NewHTTPClient(oauth.HTTPClientConfig{Transport: ft})
		ep := ccEndpoint(t, srv.TokenURL())
		ft.dialFails.Store(2)
		if _, _, err := ep.ClientCredentials(context.Background(), client); err != nil {
			t.Fatalf("after two failed dials: %v", err)
		}
		if n := srv.Calls(oauthtest.PathToken); n != 1 {
			t.Errorf("provider calls = %d, want 1", n)
		}
		ft.lostReply.Store(1)
		_, _, err := ep.ClientCredentials(context.Background(), client)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("error = %v", err)
		}
		if n := srv.Calls(oauthtest.PathToken); n != 2 {
			t.Errorf("provider calls = %d, want 2 (the lost one is not replayed)", n)
		}
	})
}

// TestHTTPClientNoRedirects: a token endpoint answering with a redirect
// fails; the credentials are not sent to the redirect's target.
func TestHTTPClientNoRedirects(t *testing.T) {
	var elsewhere atomic.Int32
	srv := ccServer(t, oauthtest.Config{Intercept: func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case oauthtest.PathToken:
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
			return true
		case "/elsewhere":
			elsewhere.Add(1)
		}
		return false
	}})
	client := oauth.NewHTTPClient(oauth.HTTPClientConfig{Transport: srv.Transport()})
	_, _, err := ccEndpoint(t, srv.TokenURL()).ClientCredentials(context.Background(), client)
	var te *oauth.TokenError
	if !errors.As(err, &te) || te.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("error = %v", err)
	}
	if elsewhere.Load() != 0 {
		t.Error("the redirect was followed")
	}
}

// TestHTTPClientBodyCap: token responses are read up to 1 MiB (x/oauth2's
// own cap, and the client's); a larger one fails without its content in the
// error, whether or not it declares its length.
func TestHTTPClientBodyCap(t *testing.T) {
	for _, tc := range []struct {
		name          string
		size          int
		contentLength bool
		ok            bool
	}{
		{"just under 1 MiB", 1<<20 - 100, true, true},
		{"2 MiB with Content-Length", 2 << 20, true, false},
		{"2 MiB streamed", 2 << 20, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const marker = "PADDINGPADDING"
			srv := ccServer(t, oauthtest.Config{Intercept: func(w http.ResponseWriter, r *http.Request) bool {
				head := `{"access_token":"at","token_type":"Bearer","expires_in":3600,"pad":"`
				body := head + strings.Repeat(marker, (tc.size-len(head)-2)/len(marker)) + `"}`
				w.Header().Set("Content-Type", "application/json")
				if tc.contentLength {
					w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				}
				_, _ = io.WriteString(w, body)
				return true
			}})
			client := oauth.NewHTTPClient(oauth.HTTPClientConfig{Transport: srv.Transport()})
			tok, _, err := ccEndpoint(t, srv.TokenURL()).ClientCredentials(context.Background(), client)
			if tc.ok {
				if err != nil || tok.AccessToken.Reveal() != "at" {
					t.Fatalf("ClientCredentials = %v", err)
				}
				return
			}
			var te *oauth.TokenError
			if !errors.As(err, &te) {
				t.Fatalf("error = %v, want *TokenError", err)
			}
			if msg := err.Error(); strings.Contains(msg, marker) || len(msg) > 512 {
				t.Errorf("error carries the body: %.200q", msg)
			}
		})
	}
}

// TestHTTPClientSSRFGuard: the default client refuses loopback token URLs
// (tenant-supplied URLs must not reach the host's network) unless private
// networks are allowed.
func TestHTTPClientSSRFGuard(t *testing.T) {
	var hits atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"at","token_type":"Bearer","expires_in":60}`)
	}))
	defer ts.Close()
	ep := ccEndpoint(t, ts.URL+"/token")

	guarded := oauth.NewHTTPClient(oauth.HTTPClientConfig{})
	defer guarded.CloseIdleConnections()
	_, _, err := ep.ClientCredentials(context.Background(), guarded)
	if !errors.Is(err, httpx.ErrBlocked) {
		t.Errorf("guarded client: %v, want ErrBlocked", err)
	}
	var te *oauth.TokenError
	if !errors.As(err, &te) || te.Temporary() {
		t.Errorf("error = %v: want a *TokenError that is not temporary", err)
	}
	if hits.Load() != 0 {
		t.Error("the guarded client reached the loopback server")
	}

	open := oauth.NewHTTPClient(oauth.HTTPClientConfig{AllowPrivateNetworks: true})
	defer open.CloseIdleConnections()
	if _, _, err := ep.ClientCredentials(context.Background(), open); err != nil || hits.Load() != 1 {
		t.Errorf("AllowPrivateNetworks: %v, %d hits", err, hits.Load())
	}
}

// TestHTTPClientTimeout: a provider that never answers is given up on after
// the client's timeout.
func TestHTTPClientTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := ccServer(t, oauthtest.Config{})
		srv.FailToken(-1, oauthtest.Fault{Hang: true})
		client := oauth.NewHTTPClient(oauth.HTTPClientConfig{Transport: srv.Transport(), Timeout: 20 * time.Second})
		start := time.Now()
		_, _, err := ccEndpoint(t, srv.TokenURL()).ClientCredentials(context.Background(), client)
		var te *oauth.TokenError
		if !errors.As(err, &te) || te.StatusCode != 0 {
			t.Errorf("error = %v", err)
		}
		if d := time.Since(start); d != 20*time.Second {
			t.Errorf("gave up after %v, want 20s", d)
		}
		if n := srv.Calls(oauthtest.PathToken); n != 1 {
			t.Errorf("attempts = %d, want 1 (a request that may have arrived is not replayed)", n)
		}
	})
}

// TestHTTPClientSingleUseGrantsNotReplayed: a token request presenting a
// single-use credential (authorization_code, refresh_token) is not retried
// after a 500, 502 or 504, which may come from a gateway whose upstream has
// already consumed the code or rotated the refresh token; 503 and 429 are
// still retried, and other grants keep retrying every 5xx but 501.
func TestHTTPClientSingleUseGrantsNotReplayed(t *testing.T) {
	for _, tc := range []struct {
		grant    string
		status   int
		attempts int
	}{
		{"authorization_code", 502, 1},
		{"authorization_code", 504, 1},
		{"authorization_code", 500, 1},
		{"authorization_code", 503, 3},
		{"refresh_token", 502, 1},
		{"refresh_token", 504, 1},
		{"refresh_token", 500, 1},
		{"refresh_token", 503, 3},
		{"refresh_token", 429, 3},
		{"client_credentials", 502, 3},
		{"client_credentials", 504, 3},
		{"client_credentials", 500, 3},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.grant, tc.status), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := ccServer(t, oauthtest.Config{})
				srv.FailToken(-1, oauthtest.Fault{GrantType: tc.grant, Status: tc.status})
				client := oauth.NewHTTPClient(oauth.HTTPClientConfig{Transport: srv.Transport()})
				resp, err := client.PostForm(srv.TokenURL(), map[string][]string{"grant_type": {tc.grant}, "code": {"c"}, "refresh_token": {"r"}})
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.status {
					t.Errorf("status = %d", resp.StatusCode)
				}
				if n := srv.Calls(oauthtest.PathToken); n != tc.attempts {
					t.Errorf("attempts = %d, want %d", n, tc.attempts)
				}
			})
		})
	}
}

// TestRefreshNotReplayedAfterGatewayError: through the Endpoint, a refresh
// answered 502 is tried once, and the error is temporary.
func TestRefreshNotReplayedAfterGatewayError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx := newFlowFx(t, flowFxOptions{})
		fx.connect(fx.ref)
		tok := fx.token(fx.ref)
		ep, err := oauth.NewEndpoint(&fx.typ, connection.ValuesOf(map[string]string{
			connection.FieldClientID: fxClientID, connection.FieldClientSecret: fxClientSecret}), fxRedirectURL)
		if err != nil {
			t.Fatal(err)
		}
		fx.srv.FailToken(-1, oauthtest.Fault{GrantType: oauthtest.GrantRefreshToken, Status: 502})
		before := fx.tokenCalls()
		_, _, err = ep.Refresh(context.Background(), fx.flow.HTTPClient(), tok.RefreshToken)
		var te *oauth.TokenError
		if !errors.As(err, &te) || te.StatusCode != 502 || !te.Temporary() {
			t.Errorf("Refresh = %v", err)
		}
		if n := fx.tokenCalls() - before; n != 1 {
			t.Errorf("refresh attempts = %d, want 1", n)
		}
	})
}
