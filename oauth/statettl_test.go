package oauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/connkit/connkit/oauth"
)

// replica is another Flow over fx's store, resolver and provider, as a host
// replica would run it, whose clock reads the bubble's time plus skew.
func (fx *flowFx) replica(t *testing.T, skew time.Duration) *oauth.Flow {
	t.Helper()
	f, err := oauth.NewFlow(oauth.FlowConfig{
		Store: fx.store, Sealer: fx.seal, Resolver: fx.mgr, RedirectURL: fxRedirectURL,
		HTTPClient:          oauth.NewHTTPClient(oauth.HTTPClientConfig{Transport: fx.srv.Transport()}),
		AllowUnboundConnect: true,
		Now:                 func() time.Time { return time.Now().Add(skew) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestStateLifetimeByStoreClock: a started CONNECT lives StateTTL (10
// minutes) by the store's clock, whatever the clocks of the replica that
// starts it and of the one that serves its callback read. Before, the
// starting replica's clock set the expiry (a slow one shortened the
// lifetime, a fast one lengthened it) and the callback replica checked it
// again by its own clock.
func TestStateLifetimeByStoreClock(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		startSkew, callbackSkew time.Duration
		wait                    time.Duration
		wantStatus              int
	}{
		{name: "starting replica 9 minutes slow, callback after 2 minutes", startSkew: -9 * time.Minute,
			wait: 2 * time.Minute, wantStatus: http.StatusOK},
		{name: "starting replica an hour fast, callback after 11 minutes", startSkew: time.Hour,
			wait: 11 * time.Minute, wantStatus: http.StatusBadRequest},
		{name: "callback replica 20 minutes fast, callback after 1 minute", callbackSkew: 20 * time.Minute,
			wait: time.Minute, wantStatus: http.StatusOK},
		{name: "right clocks, callback at the instant of expiry", wait: oauth.DefaultStateTTL, wantStatus: http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fx := newFlowFx(t, flowFxOptions{}) // the memory store reads the bubble's clock
				starter, finisher := fx.replica(t, tc.startSkew), fx.replica(t, tc.callbackSkew)
				authURL, err := starter.Start(context.Background(), fx.ref)
				if err != nil {
					t.Fatal(err)
				}
				loc, err := fx.srv.Authorize(context.Background(), authURL)
				if err != nil {
					t.Fatal(err)
				}
				time.Sleep(tc.wait)
				rec := httptest.NewRecorder()
				finisher.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, loc.String(), nil))
				if rec.Code != tc.wantStatus {
					t.Fatalf("callback = %d %s, want %d", rec.Code, rec.Body.String(), tc.wantStatus)
				}
				c := fx.conn(fx.ref)
				if connected := c.Token != nil; connected != (tc.wantStatus == http.StatusOK) {
					t.Errorf("connected = %v after a callback answered %d", connected, rec.Code)
				}
				if tc.wantStatus != http.StatusOK {
					if e := fx.lastEvent(c.ID, oauth.EventConnectFailed); e.Attrs["stage"] != "state" {
						t.Errorf("connect_failed entry = %v, want stage state", e.Attrs)
					}
				}
			})
		})
	}
}
