package oauth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/template"
)

// attackerHost is a server a customer controls.
const attackerHost = "attacker.example"

// attacker records every request that reaches attackerHost and answers
// like a token endpoint would, so that code without the origin check would
// carry on as if all went well.
type attacker struct {
	mu   sync.Mutex
	reqs []string // method, path, Authorization header and body
}

func (a *attacker) RoundTrip(req *http.Request) (*http.Response, error) {
	body := ""
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		body = string(b)
	}
	a.mu.Lock()
	a.reqs = append(a.reqs, req.Method+" "+req.URL.Path+" "+req.Header.Get("Authorization")+" "+body)
	a.mu.Unlock()
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(rec, `{"access_token":"stolen-at","refresh_token":"stolen-rt","token_type":"Bearer","expires_in":3600}`)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

func (a *attacker) requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.reqs...)
}

// newOriginFx is a flowFx whose HTTP client sends requests for attackerHost
// to att and every other request to the fake provider.
func newOriginFx(t *testing.T, att *attacker, opts flowFxOptions) *flowFx {
	t.Helper()
	var fx *flowFx
	route := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.URL.Host == attackerHost {
			return att.RoundTrip(req)
		}
		return fx.srv.Transport().RoundTrip(req)
	})
	inner := opts.flow
	opts.flow = func(c *oauth.FlowConfig) {
		c.HTTPClient = oauth.NewHTTPClient(oauth.HTTPClientConfig{Transport: route})
		if inner != nil {
			inner(c)
		}
	}
	fx = newFlowFx(t, opts)
	return fx
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// hostClient hides the client credentials as variable defaults: the host's
// OAuth client, shared by every customer. list are the fields the variable
// lists as Customer on top (a builder who left the door open).
func hostClient(list ...string) func(v *connection.Variable) {
	return func(v *connection.Variable) {
		v.Defaults = connection.ValuesOf(map[string]string{connection.FieldClientID: fxClientID, connection.FieldClientSecret: fxClientSecret})
		v.Visibility = map[string]connection.Visibility{connection.FieldClientID: connection.Hidden, connection.FieldClientSecret: connection.Hidden}
		for _, k := range list {
			v.Visibility[k] = connection.Customer
		}
	}
}

func (fx *flowFx) setCustomer(m map[string]string) error {
	return fx.mgr.SetValues(context.Background(), fx.ref, template.AudienceCustomer, connection.ValuesOf(m))
}

// TestCustomerCannotSetEndpointsByDefault: with no visibility listed, the
// customer's view has no endpoint field and SetValues refuses one.
func TestCustomerCannotSetEndpointsByDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		att := &attacker{}
		fx := newOriginFx(t, att, flowFxOptions{noValues: true, variable: hostClient()})
		for _, k := range []string{connection.FieldAuthorizeURL, connection.FieldTokenURL, connection.FieldRevokeURL} {
			err := fx.setCustomer(map[string]string{k: "https://" + attackerHost + "/x"})
			var ve *connection.ValidationError
			if !errors.As(err, &ve) || len(ve.Field(k)) != 1 || ve.Field(k)[0].Reason != template.ReasonHidden {
				t.Errorf("customer sets %s: %v, want refused as hidden", k, err)
			}
		}
		view, err := fx.mgr.CustomerView(context.Background(), fx.ref)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range view.Fields {
			if f.Key == connection.FieldAuthorizeURL || f.Key == connection.FieldTokenURL || f.Key == connection.FieldRevokeURL {
				t.Errorf("customer view shows %s", f.Key)
			}
		}
		fx.connect(fx.ref)
		if n := len(att.requests()); n != 0 {
			t.Errorf("attacker got %d requests", n)
		}
	})
}

// TestCustomerEndpointWithHostSecretRefusedAtStart: even when a builder
// lists the token (or authorize) URL as Customer, a customer-set endpoint is
// refused while the client secret is the host's; nothing reaches the
// customer's server and the refusal is in the connection's log.
func TestCustomerEndpointWithHostSecretRefusedAtStart(t *testing.T) {
	for _, field := range []string{connection.FieldTokenURL, connection.FieldAuthorizeURL, connection.FieldRevokeURL} {
		t.Run(field, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				att := &attacker{}
				fx := newOriginFx(t, att, flowFxOptions{noValues: true, variable: hostClient(field)})
				if err := fx.setCustomer(map[string]string{field: "https://" + attackerHost + "/x"}); err != nil {
					t.Fatalf("customer sets the listed %s: %v", field, err)
				}
				authURL, err := fx.flow.Start(context.Background(), fx.ref)
				if !errors.Is(err, oauth.ErrMisconfigured) {
					t.Fatalf("Start = %q, %v; want ErrMisconfigured", authURL, err)
				}
				if strings.Contains(err.Error(), attackerHost) || strings.Contains(err.Error(), fxClientSecret) {
					t.Errorf("error names a value: %v", err)
				}
				if reqs := att.requests(); len(reqs) != 0 {
					t.Errorf("attacker got %q", reqs)
				}
				if e := fx.lastEvent(fx.conn(fx.ref).ID, oauth.EventConnectFailed); e.Attrs["stage"] != "start" {
					t.Errorf("connect_failed entry = %+v", e)
				}
			})
		})
	}
}

// TestCustomerEndpointWithHostSecretRefusedLater: a customer who sets the
// token or revoke URL after a working CONNECT gets neither the refresh token
// nor the client secret: the refresh is refused (and the connection turns
// red), and DISCONNECT deletes the tokens but does not revoke them there.
func TestCustomerEndpointWithHostSecretRefusedLater(t *testing.T) {
	t.Run("refresh", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			att := &attacker{}
			fx := newOriginFx(t, att, flowFxOptions{noValues: true, variable: hostClient(connection.FieldTokenURL)})
			fx.connect(fx.ref)
			rt := fx.token(fx.ref).RefreshToken.Reveal()
			if err := fx.setCustomer(map[string]string{connection.FieldTokenURL: "https://" + attackerHost + "/token"}); err != nil {
				t.Fatal(err)
			}
			tk, err := oauth.NewTokens(oauth.TokensConfig{Store: fx.store, Sealer: fx.seal, Resolver: fx.mgr, HTTPClient: fx.flow.HTTPClient()})
			if err != nil {
				t.Fatal(err)
			}
			defer closeTokens(t, tk)
			time.Sleep(2 * time.Hour)
			tok, err := tk.Source(fx.ref).Token(context.Background())
			if !errors.Is(err, oauth.ErrMisconfigured) {
				t.Errorf("Token after expiry = %v, %v; want ErrMisconfigured", tok.AccessToken.IsZero(), err)
			}
			if reqs := att.requests(); len(reqs) != 0 {
				t.Errorf("attacker got %d requests (refresh token sent: %v)", len(reqs), strings.Contains(strings.Join(reqs, "\n"), rt))
			}
			synctest.Wait()
			if c := fx.conn(fx.ref); c.Health.Status != connection.StatusError {
				t.Errorf("health = %+v, want red", c.Health)
			}
		})
	})
	t.Run("revoke", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			att := &attacker{}
			fx := newOriginFx(t, att, flowFxOptions{noValues: true, variable: hostClient(connection.FieldRevokeURL)})
			fx.connect(fx.ref)
			if err := fx.setCustomer(map[string]string{connection.FieldRevokeURL: "https://" + attackerHost + "/revoke"}); err != nil {
				t.Fatal(err)
			}
			res, err := fx.flow.Disconnect(context.Background(), fx.ref)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Deleted || len(res.Revoked) != 0 || !errors.Is(res.RevokeErr, oauth.ErrMisconfigured) {
				t.Errorf("Disconnect = %+v", res)
			}
			if diff := cmp.Diff([]string{oauth.HintRefreshToken, oauth.HintAccessToken}, res.NotRevoked); diff != "" {
				t.Errorf("NotRevoked (-want +got):\n%s", diff)
			}
			if reqs := att.requests(); len(reqs) != 0 {
				t.Errorf("attacker got %q", reqs)
			}
			if fx.conn(fx.ref).Token != nil {
				t.Error("tokens not deleted locally")
			}
		})
	})
	t.Run("client credentials", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			att := &attacker{}
			fx := newOriginFx(t, att, flowFxOptions{noValues: true, variable: hostClient(connection.FieldTokenURL),
				oauth2: func(o *connection.OAuth2) { o.Grant = connection.GrantClientCredentials }})
			if err := fx.setCustomer(map[string]string{connection.FieldTokenURL: "https://" + attackerHost + "/token"}); err != nil {
				t.Fatal(err)
			}
			if err := fx.flow.ConnectClientCredentials(context.Background(), fx.ref); !errors.Is(err, oauth.ErrMisconfigured) {
				t.Errorf("ConnectClientCredentials = %v", err)
			}
			tk, err := oauth.NewTokens(oauth.TokensConfig{Store: fx.store, Sealer: fx.seal, Resolver: fx.mgr, HTTPClient: fx.flow.HTTPClient()})
			if err != nil {
				t.Fatal(err)
			}
			defer closeTokens(t, tk)
			if _, err := tk.Source(fx.ref).Token(context.Background()); !errors.Is(err, oauth.ErrMisconfigured) {
				t.Errorf("Tokens client credentials = %v", err)
			}
			if reqs := att.requests(); len(reqs) != 0 {
				t.Errorf("attacker got %q", reqs)
			}
		})
	})
}

// TestCustomerOwnClient: a customer who brings their own client id and
// secret may point the endpoints of that client anywhere (only their own
// secret goes there), but not in the clear; a customer who brings only a
// client id still cannot choose where the host's secret goes.
func TestCustomerOwnClient(t *testing.T) {
	listed := func(v *connection.Variable) {
		v.Visibility = map[string]connection.Visibility{connection.FieldTokenURL: connection.Customer, connection.FieldAuthorizeURL: connection.Customer}
	}
	synctest.Test(t, func(t *testing.T) {
		att := &attacker{}
		fx := newOriginFx(t, att, flowFxOptions{noValues: true, variable: listed})
		own := map[string]string{
			connection.FieldClientID:     "customer-client",
			connection.FieldClientSecret: "customer-secret",
			connection.FieldTokenURL:     "https://" + attackerHost + "/token",
			connection.FieldAuthorizeURL: "https://" + attackerHost + "/authorize",
		}
		if err := fx.setCustomer(own); err != nil {
			t.Fatal(err)
		}
		authURL, err := fx.flow.Start(context.Background(), fx.ref)
		if err != nil {
			t.Fatalf("Start with the customer's own client: %v", err)
		}
		if !strings.HasPrefix(authURL, "https://"+attackerHost+"/authorize?") {
			t.Errorf("authorize URL %q", authURL)
		}

		// Not in the clear, even their own secret.
		if err := fx.setCustomer(map[string]string{connection.FieldTokenURL: "http://" + attackerHost + "/token"}); err != nil {
			t.Fatal(err)
		}
		if _, err := fx.flow.Start(context.Background(), fx.ref); !errors.Is(err, oauth.ErrMisconfigured) {
			t.Errorf("Start with an http token URL = %v", err)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		// The customer's client id, the host's secret as a variable default.
		att := &attacker{}
		fx := newOriginFx(t, att, flowFxOptions{noValues: true, variable: func(v *connection.Variable) {
			listed(v)
			v.Defaults = connection.ValuesOf(map[string]string{connection.FieldClientSecret: fxClientSecret})
		}})
		if err := fx.setCustomer(map[string]string{connection.FieldClientID: "customer-client",
			connection.FieldTokenURL: "https://" + attackerHost + "/token"}); err != nil {
			t.Fatal(err)
		}
		if _, err := fx.flow.Start(context.Background(), fx.ref); !errors.Is(err, oauth.ErrMisconfigured) {
			t.Errorf("Start with the host's secret and a customer token URL = %v", err)
		}
		if reqs := att.requests(); len(reqs) != 0 {
			t.Errorf("attacker got %q", reqs)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		// A secret the host set on the instance (SourceHost) is the host's too.
		att := &attacker{}
		fx := newOriginFx(t, att, flowFxOptions{noValues: true, variable: listed})
		fx.setValues(fx.ref, map[string]string{connection.FieldClientID: fxClientID, connection.FieldClientSecret: fxClientSecret})
		if err := fx.setCustomer(map[string]string{connection.FieldTokenURL: "https://" + attackerHost + "/token"}); err != nil {
			t.Fatal(err)
		}
		if _, err := fx.flow.Start(context.Background(), fx.ref); !errors.Is(err, oauth.ErrMisconfigured) {
			t.Errorf("Start with a host-set secret and a customer token URL = %v", err)
		}
	})
}

// TestBuilderEndpointWithTemplateSecret (review2 N5): an integration
// builder (who may be a customer in an embedded designer) references a
// host-made template that fills the client id and secret, and sets the
// token URL as a variable default: CONNECT is refused before anything is
// sent, and nothing reaches the builder's server. The same template with
// the type's own URLs, or with the token URL in the template itself,
// connects.
func TestBuilderEndpointWithTemplateSecret(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		att := &attacker{}
		fx := newOriginFx(t, att, flowFxOptions{noValues: true})
		client := map[string]string{connection.FieldClientID: fxClientID, connection.FieldClientSecret: fxClientSecret}
		hostTemplate := func(extra map[string]string) string {
			vals := connection.ValuesOf(client)
			for k, v := range extra {
				vals.Set(k, v)
			}
			tpl, err := fx.mgr.CreateTemplate(ctx, template.TemplateSpec{Name: "host client", Component: "acme", Type: fx.typ, Values: vals})
			if err != nil {
				t.Fatal(err)
			}
			return tpl.ID
		}
		// deploy registers version n of the integration with v and deploys
		// an instance of it, returning the connection's ref.
		deploy := func(n int, v connection.Variable) connection.Ref {
			v.Key, v.Type = fxVariable, fx.typ
			if err := fx.mgr.Register(template.Integration{ID: fxIntegration, Name: fxIntegName, Version: n, Variables: []connection.Variable{v}}); err != nil {
				t.Fatal(err)
			}
			inst := connection.Instance{ID: "inst-v" + string(rune('0'+n)), Name: "v", IntegrationID: fxIntegration, IntegrationName: fxIntegName, IntegrationVersion: n}
			if err := fx.mgr.Deploy(ctx, inst); err != nil {
				t.Fatal(err)
			}
			return connection.Ref{InstanceID: inst.ID, Variable: fxVariable}
		}

		// The builder's variable default points the host's client at the
		// builder.
		ref := deploy(2, connection.Variable{Template: hostTemplate(nil),
			Defaults: connection.ValuesOf(map[string]string{connection.FieldTokenURL: "https://" + attackerHost + "/token"})})
		authURL, err := fx.flow.Start(ctx, ref)
		if !errors.Is(err, oauth.ErrMisconfigured) {
			t.Fatalf("Start with a template's secret and a variable default token URL = %q, %v; want ErrMisconfigured", authURL, err)
		}
		if msg := err.Error(); !strings.Contains(msg, "variable default") || !strings.Contains(msg, "template") ||
			strings.Contains(msg, attackerHost) || strings.Contains(msg, fxClientSecret) {
			t.Errorf("error %q: want both layers named and no value", msg)
		}
		if reqs := att.requests(); len(reqs) != 0 {
			t.Errorf("the builder's server got %q", reqs)
		}

		// The template's client with the type's URLs, or with a token URL
		// the template sets itself, connects.
		for n, tpl := range map[int]string{
			3: hostTemplate(nil),
			4: hostTemplate(map[string]string{connection.FieldTokenURL: fx.srv.TokenURL()}),
		} {
			ref := deploy(n, connection.Variable{Template: tpl})
			fx.connect(ref)
			if tok := fx.token(ref); tok.AccessToken.IsZero() {
				t.Errorf("version %d: no token after CONNECT", n)
			}
		}
		if reqs := att.requests(); len(reqs) != 0 {
			t.Errorf("the builder's server got %q", reqs)
		}
	})
}
