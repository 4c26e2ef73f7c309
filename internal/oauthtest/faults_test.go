package oauthtest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/connkit/connkit/internal/oauthtest"
)

// revoke calls the revocation endpoint with HTTP Basic client auth.
func revoke(t *testing.T, s *oauthtest.Server, token, hint string) int {
	t.Helper()
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.RevokeURL(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestRevokeRecordsOrder(t *testing.T) {
	s := newServer(t, oauthtest.AuthStyleAny, oauthtest.Config{})
	conf := oauthConfig(s, oauth2.AuthStyleInHeader)
	a := connect(t, s, conf)
	b := connect(t, s, conf)

	s.FailRevoke(1, oauthtest.Fault{Status: http.StatusServiceUnavailable})
	codes := []int{
		revoke(t, s, b.AccessToken, "access_token"),
		revoke(t, s, b.AccessToken, "access_token"),
		revoke(t, s, a.RefreshToken, "refresh_token"),
		revoke(t, s, "never-issued", ""),
	}
	if diff := cmp.Diff([]int{503, 200, 200, 200}, codes); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	want := []oauthtest.Revocation{
		{Token: b.AccessToken, TokenTypeHint: "access_token", Status: 503},
		{Token: b.AccessToken, TokenTypeHint: "access_token", ClientID: clientID, Status: 200, Known: true},
		{Token: a.RefreshToken, TokenTypeHint: "refresh_token", ClientID: clientID, Status: 200, Known: true},
		{Token: "never-issued", ClientID: clientID, Status: 200},
	}
	if diff := cmp.Diff(want, s.Revocations()); diff != "" {
		t.Errorf("Revocations (-want +got):\n%s", diff)
	}
	if s.Active(b.AccessToken) || s.Active(a.AccessToken) {
		t.Error("revoked access token, or access token of a revoked refresh token, still active")
	}
	if info, _ := s.Lookup(b.RefreshToken); !info.Active {
		t.Error("revoking an access token revoked its refresh token too")
	}
	if got := s.Calls(oauthtest.PathRevoke); got != 4 {
		t.Errorf("Calls(revoke) = %d, want 4", got)
	}
}

func TestTokenFaults503ThenOK(t *testing.T) {
	s := newServer(t, oauthtest.AuthStyleAny, oauthtest.Config{})
	s.FailToken(2, oauthtest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "7"})
	cc := clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret, TokenURL: s.TokenURL(), AuthStyle: oauth2.AuthStyleInHeader}
	for i := range 2 {
		_, err := cc.Token(clientCtx(t, s))
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.Response.StatusCode != 503 || re.Response.Header.Get("Retry-After") != "7" {
			t.Fatalf("call %d: %v, want 503 with Retry-After: 7", i, err)
		}
	}
	tok, err := cc.Token(clientCtx(t, s))
	if err != nil || !s.Active(tok.AccessToken) {
		t.Fatalf("third call: %v", err)
	}
	if got := s.Calls(oauthtest.PathToken); got != 3 {
		t.Errorf("Calls(token) = %d, want 3", got)
	}
}

func TestTokenFaultsByGrantType(t *testing.T) {
	s := newServer(t, oauthtest.AuthStyleAny, oauthtest.Config{})
	conf := oauthConfig(s, oauth2.AuthStyleInHeader)
	s.FailToken(1, oauthtest.Fault{GrantType: oauthtest.GrantRefreshToken, Error: "invalid_grant", Description: "revoked by user"})
	s.FailToken(1, oauthtest.Fault{GrantType: oauthtest.GrantClientCredentials, Status: http.StatusTooManyRequests, RetryAfter: "30"})
	cc := clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret, TokenURL: s.TokenURL(), AuthStyle: oauth2.AuthStyleInHeader}

	// Neither fault matches the authorization code grant.
	tok := connect(t, s, conf)

	_, err := cc.Token(clientCtx(t, s))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response.StatusCode != http.StatusTooManyRequests || re.Response.Header.Get("Retry-After") != "30" {
		t.Fatalf("client_credentials: %v, want 429 with Retry-After: 30", err)
	}
	if _, err := cc.Token(clientCtx(t, s)); err != nil {
		t.Fatalf("second client_credentials: %v", err)
	}

	refresh := func() error {
		_, err := conf.TokenSource(clientCtx(t, s), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		return err
	}
	err = refresh()
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || re.ErrorDescription != "revoked by user" || re.Response.StatusCode != 400 {
		t.Fatalf("refresh: %v, want injected invalid_grant", err)
	}
	if err := refresh(); err != nil {
		t.Fatalf("refresh after the one-shot fault: %v", err)
	}
	if got, want := s.GrantCalls(oauthtest.GrantRefreshToken), 2; got != want {
		t.Errorf("GrantCalls(refresh_token) = %d, want %d", got, want)
	}
}

func TestInvalidClientFault(t *testing.T) {
	s := newServer(t, oauthtest.AuthStyleAny, oauthtest.Config{})
	s.FailToken(1, oauthtest.Fault{Error: "invalid_client"})
	cc := clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret, TokenURL: s.TokenURL(), AuthStyle: oauth2.AuthStyleInHeader}
	_, err := cc.Token(clientCtx(t, s))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != http.StatusUnauthorized {
		t.Fatalf("got %v, want invalid_client 401", err)
	}
}

func TestHangUntilContextDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := oauthtest.NewUnstarted(t, oauthtest.Config{Clients: []oauthtest.Client{{ID: clientID, Secret: clientSecret}}})
		s.FailToken(1, oauthtest.Fault{Hang: true})
		ctx, cancel := context.WithTimeout(context.WithValue(t.Context(), oauth2.HTTPClient, s.Client()), 30*time.Second)
		defer cancel()
		start := time.Now()
		cc := clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret, TokenURL: s.TokenURL(), AuthStyle: oauth2.AuthStyleInHeader}
		_, err := cc.Token(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("hung token call: %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d != 30*time.Second {
			t.Errorf("gave up after %v, want 30s", d)
		}
		if _, err := cc.Token(clientCtx(t, s)); err != nil {
			t.Errorf("call after the one-shot hang: %v", err)
		}
	})
}

func TestHangUntilReleased(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := oauthtest.NewUnstarted(t, oauthtest.Config{Clients: []oauthtest.Client{{ID: clientID, Secret: clientSecret}}})
		release := make(chan struct{})
		s.FailToken(-1, oauthtest.Fault{Hang: true, Release: release})
		cc := clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret, TokenURL: s.TokenURL(), AuthStyle: oauth2.AuthStyleInHeader}
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i := range errs {
			wg.Go(func() { _, errs[i] = cc.Token(clientCtx(t, s)) })
		}
		synctest.Wait()
		if got := s.Calls(oauthtest.PathToken); got != 3 {
			t.Fatalf("Calls(token) while hanging = %d, want 3", got)
		}
		close(release)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("call %d after release: %v", i, err)
			}
		}
	})
}

func TestExpiryUnderSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := oauthtest.NewUnstarted(t, oauthtest.Config{
			AccessTokenTTL: time.Hour,
			Clients:        []oauthtest.Client{{ID: clientID, Secret: clientSecret}},
		})
		cc := clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret, TokenURL: s.TokenURL(), AuthStyle: oauth2.AuthStyleInHeader}
		tok, err := cc.Token(clientCtx(t, s))
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Now().Add(time.Hour); !tok.Expiry.Equal(want) {
			t.Errorf("Expiry = %v, want %v (expires_in 3600)", tok.Expiry, want)
		}
		get := func() int {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.ResourceURL(), nil)
			tok.SetAuthHeader(req)
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		time.Sleep(time.Hour - time.Second)
		if !s.Active(tok.AccessToken) || get() != 200 {
			t.Fatal("token inactive before expiry")
		}
		time.Sleep(time.Second)
		if s.Active(tok.AccessToken) || get() != 401 {
			t.Fatal("token active at expiry")
		}
	})
}

// TestHangOverLoopback checks that a hang over a real socket ends when the
// client gives up, so the server's cleanup does not wait for it.
func TestHangOverLoopback(t *testing.T) {
	s := newServer(t, oauthtest.AuthStyleAny, oauthtest.Config{})
	ctx, cancel := context.WithCancel(clientCtx(t, s))
	defer cancel()
	s.FailToken(1, oauthtest.Fault{Hang: true, Hanging: cancel})
	cc := clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret, TokenURL: s.TokenURL(), AuthStyle: oauth2.AuthStyleInHeader}
	if _, err := cc.Token(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if _, err := cc.Token(clientCtx(t, s)); err != nil {
		t.Fatalf("call after the hang: %v", err)
	}
}

// TestHangUntilClientTimeout checks that an *http.Client Timeout ends an
// in-memory hang, as it would over a socket.
func TestHangUntilClientTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := oauthtest.NewUnstarted(t, oauthtest.Config{})
		s.FailRevoke(1, oauthtest.Fault{Hang: true})
		hc := &http.Client{Transport: s.Transport(), Timeout: 10 * time.Second}
		start := time.Now()
		_, err := hc.PostForm(s.RevokeURL(), url.Values{"token": {"x"}})
		if err == nil || time.Since(start) != 10*time.Second {
			t.Fatalf("got %v after %v, want a timeout after 10s", err, time.Since(start))
		}
		if got := s.Revocations(); len(got) != 1 || got[0].Status != 0 {
			t.Errorf("Revocations = %+v, want one with Status 0 (no answer)", got)
		}
	})
}
