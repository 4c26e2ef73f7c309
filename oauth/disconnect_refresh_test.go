package oauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
)

// heldResponses is a token client transport that notes every token the
// provider issues and, while armed, holds the response after the provider
// answered: the provider has rotated the refresh token, the client does not
// know yet (a slow network on the way back).
type heldResponses struct {
	next http.RoundTripper

	mu      sync.Mutex
	issued  []string
	release chan struct{} // non-nil: hold the next token response until closed
	held    chan struct{} // closed when a response is being held
}

func (h *heldResponses) arm() (held, release chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held, h.release = make(chan struct{}), make(chan struct{})
	return h.held, h.release
}

func (h *heldResponses) tokens() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.issued...)
}

func (h *heldResponses) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := h.next.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, oauthtest.PathToken) {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var m struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	_ = json.Unmarshal(body, &m)
	h.mu.Lock()
	for _, tok := range []string{m.AccessToken, m.RefreshToken} {
		if tok != "" {
			h.issued = append(h.issued, tok)
		}
	}
	held, release := h.held, h.release
	h.held, h.release = nil, nil
	h.mu.Unlock()
	if release != nil {
		close(held)
		select {
		case <-release:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	return resp, nil
}

// lenientRevocation plays a provider that, as RFC 7009 section 2.2 allows,
// answers 200 to the revocation of a token that is already invalid (here: a
// refresh token rotated away) and does nothing else. (The fake server
// revokes the whole grant then, which would hide a leaked new set.)
type lenientRevocation struct {
	next http.RoundTripper
	srv  **oauthtest.Server
}

func (l lenientRevocation) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, oauthtest.PathRevoke) && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		form, _ := url.ParseQuery(string(body))
		if info, ok := (*l.srv).Lookup(form.Get("token")); ok && info.Rotated {
			return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	return l.next.RoundTrip(req)
}

// disconnectRace connects fx.ref, starts a refresh whose response the
// provider has sent but the host not yet received, and runs DISCONNECT
// meanwhile. While the refresh is held, whileHeld runs (it may advance the
// clock); then the response is released. It returns every token the
// provider issued to the connection, the refresh's error and the
// DISCONNECT's result.
func disconnectRace(t *testing.T, edit func(*oauth.TokensConfig), whileHeld func(disconnected <-chan struct{})) (fx *flowFx, issued []string, refreshErr error, res *oauth.DisconnectResult) {
	t.Helper()
	var srv *oauthtest.Server
	fx = newFlowFx(t, flowFxOptions{
		server: oauthtest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Hour},
		flow: func(c *oauth.FlowConfig) {
			c.HTTPClient = &http.Client{Transport: lenientRevocation{next: c.HTTPClient.Transport, srv: &srv}}
		},
	})
	srv = fx.srv
	fx.connect(fx.ref)
	first := fx.token(fx.ref)
	hold := &heldResponses{next: fx.srv.Transport()}
	cfg := oauth.TokensConfig{
		Store:      fx.store,
		Sealer:     fx.seal,
		Resolver:   fx.mgr,
		HTTPClient: oauth.NewHTTPClient(oauth.HTTPClientConfig{Transport: hold, Timeout: 3 * time.Minute}),
		Jitter:     func(time.Duration) time.Duration { return 0 },
	}
	if edit != nil {
		edit(&cfg)
	}
	tk, err := oauth.NewTokens(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeTokens(t, tk)

	time.Sleep(time.Hour + time.Second)
	held, release := hold.arm()
	refreshed := make(chan error, 1)
	go func() {
		_, err := tk.Source(fx.ref).Token(context.Background())
		refreshed <- err
	}()
	<-held // the provider rotated; the host waits for the response
	disconnected := make(chan struct{})
	go func() {
		defer close(disconnected)
		var err error
		if res, err = fx.flow.Disconnect(context.Background(), fx.ref); err != nil {
			t.Errorf("Disconnect: %v", err)
		}
	}()
	synctest.Wait()
	whileHeld(disconnected)
	close(release)
	refreshErr = <-refreshed
	<-disconnected
	synctest.Wait() // the refresh's aftermath
	issued = append([]string{first.AccessToken.Reveal(), first.RefreshToken.Reveal()}, hold.tokens()...)
	return fx, issued, refreshErr, res
}

// checkNothingActive fails if the provider still accepts a token it issued
// to the connection, or the store still holds a token set.
func checkNothingActive(t *testing.T, fx *flowFx, issued []string) {
	t.Helper()
	if len(issued) != 4 {
		t.Fatalf("the provider issued %d tokens, want 4 (CONNECT and one refresh)", len(issued))
	}
	for i, tok := range issued {
		if info, ok := fx.srv.Lookup(tok); !ok || info.Active {
			t.Errorf("token %d (%s) issued to the connection is still active after DISCONNECT", i, info.Type)
		}
	}
	if c := fx.conn(fx.ref); c.Token != nil {
		t.Error("the store holds a token set after DISCONNECT")
	}
}

// TestDisconnectWaitsForRefresh (review M2): DISCONNECT while a rotating
// refresh is at the provider waits for the refresh lease, so it deletes and
// revokes the set the refresh stored, not the one rotated away; afterwards
// the provider accepts no token of the grant.
func TestDisconnectWaitsForRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fx, issued, refreshErr, res := disconnectRace(t, nil, func(<-chan struct{}) {})
		if refreshErr != nil {
			t.Errorf("the refresh, finished before DISCONNECT: %v", refreshErr)
		}
		if res == nil || !res.Deleted || res.RevokeErr != nil || len(res.Revoked) != 2 {
			t.Fatalf("Disconnect = %+v", res)
		}
		checkNothingActive(t, fx, issued)
	})
}

// TestDisconnectRevokesLateRefresh (review M2): a refresh still held after
// DISCONNECT stopped waiting for its lease finds the token set deleted when
// it writes; it revokes the set it just obtained, so nothing stays active.
func TestDisconnectRevokesLateRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		long := func(c *oauth.TokensConfig) { c.LeaseTTL, c.RefreshTimeout = 5*time.Minute, 4*time.Minute }
		fx, issued, refreshErr, res := disconnectRace(t, long, func(disconnected <-chan struct{}) {
			time.Sleep(2 * time.Minute)
			select {
			case <-disconnected:
			default:
				t.Fatal("DISCONNECT still waits for the refresh lease after two minutes")
			}
		})
		if !errors.Is(refreshErr, oauth.ErrNotConnected) {
			t.Errorf("the refresh, finished after DISCONNECT: %v, want ErrNotConnected", refreshErr)
		}
		if res == nil || !res.Deleted {
			t.Fatalf("Disconnect = %+v", res)
		}
		checkNothingActive(t, fx, issued)
	})
}
