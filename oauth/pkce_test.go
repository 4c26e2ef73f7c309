package oauth_test

import (
	"context"
	"net/url"
	"testing"
	"testing/synctest"

	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/template"
)

// TestPKCENotDowngradedByMetadata: metadata announcing only plain does not
// turn a CONNECT's S256 challenge into the verifier itself.
func TestPKCENotDowngradedByMetadata(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const issuer = "https://issuer.example"
		fx := newFlowFx(t, flowFxOptions{flow: func(c *oauth.FlowConfig) {
			c.Issuer = func(*template.Resolution) string { return issuer }
			c.Metadata = map[string]*oauth.Metadata{issuer: {Issuer: issuer,
				TokenEndpoint: "https://issuer.example/token", CodeChallengeMethodsSupported: []string{"plain"}}}
		}})
		authURL, err := fx.flow.Start(context.Background(), fx.ref)
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(authURL)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
			t.Errorf("challenge method %q, challenge %q", q.Get("code_challenge_method"), q.Get("code_challenge"))
		}
	})
}
