// Package componenttest runs an example component the way a host
// application would, for the components' tests: a connkit.Host over an
// in-memory store, an integration with one step bound to the component's
// action, one deployed instance, and, for OAuth 2.0 types, a fake
// authorization server (internal/oauthtest) and a loopback server for the
// OAuth 2.0 callback. A component's test adds a fake of the third-party API.
package componenttest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/connkit/connkit"
	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/oauthtest"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/keyring"
	"github.com/connkit/connkit/store/memory"
	"github.com/connkit/connkit/template"
)

// Names the harness uses.
const (
	// IntegrationID is the id of the harness's integration.
	IntegrationID = "int-1"
	// InstanceID is the id of its one instance.
	InstanceID = "inst-1"
	// Step is the name of its one step.
	Step = "step"
	// CallbackPath is where the callback server mounts the host's
	// callback handler.
	CallbackPath = "/oauth/callback"
	// ConnectPath is where the customer's browser posts to start CONNECT.
	ConnectPath = "/connect"
)

// Config says what to run.
type Config struct {
	// Component is the component under test.
	Component component.Component
	// Action is the key of the action to run as the step.
	Action string
	// Auth, when set, starts a fake authorization server with this
	// configuration. Clients without redirect URIs get the harness's
	// callback URL.
	Auth *oauthtest.Config
	// Variable, when set, adjusts the connection config variable the step
	// is bound to (defaults, visibility) once the harness's servers exist.
	Variable func(h *Harness, v *connection.Variable)
}

// Harness is a host application with one instance of a one-step
// integration.
type Harness struct {
	// Host is the connkit host.
	Host *connkit.Host
	// Store is the host's store, for assertions on stored records.
	Store store.Store
	// Auth is the fake authorization server, nil without Config.Auth.
	Auth *oauthtest.Server
	// CallbackURL is the host's OAuth 2.0 callback URL.
	CallbackURL string
	// Variable is the key of the connection config variable the step is
	// bound to.
	Variable string
	// Logs captures the host's slog records (text), to check for secrets.
	Logs *SyncBuffer

	appURL string // the host app serving the callback and connect routes
}

// New builds and starts a harness; everything stops when the test ends.
func New(t *testing.T, cfg Config) *Harness {
	t.Helper()
	h := &Harness{Logs: &SyncBuffer{}}
	app := httptest.NewUnstartedServer(nil)
	h.CallbackURL = "http://" + app.Listener.Addr().String() + CallbackPath
	if cfg.Auth != nil {
		ac := *cfg.Auth
		ac.Clients = append([]oauthtest.Client(nil), ac.Clients...)
		for i := range ac.Clients {
			if len(ac.Clients[i].RedirectURIs) == 0 {
				ac.Clients[i].RedirectURIs = []string{h.CallbackURL}
			}
		}
		h.Auth = oauthtest.New(t, ac)
	}
	key, err := keyring.GenerateKey(1)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.New(key)
	if err != nil {
		t.Fatal(err)
	}
	h.Store = memory.New(memory.Options{})
	h.Host, err = connkit.New(connkit.Config{
		Store:                h.Store,
		Sealer:               ring,
		CallbackURL:          h.CallbackURL,
		Logger:               slog.New(slog.NewTextHandler(h.Logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		AllowPrivateNetworks: true, // every fake is on loopback
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Host.Close(context.Background()) })
	mux := http.NewServeMux()
	mux.Handle(CallbackPath, h.Host.CallbackHandler())
	mux.HandleFunc("POST "+ConnectPath, func(w http.ResponseWriter, r *http.Request) {
		if err := h.Host.StartConnect(w, r, h.Ref()); err != nil && !errors.Is(err, oauth.ErrBadStartRequest) {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	app.Config.Handler = mux
	app.Start()
	t.Cleanup(app.Close)
	h.appURL = app.URL

	c, err := h.Host.Register(cfg.Component)
	if err != nil {
		t.Fatal(err)
	}
	b := component.NewBuilder(IntegrationID, "Example", 1)
	step, err := b.AddStep(Step, c, cfg.Action, component.StepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range step.Bindings {
		h.Variable = v
	}
	if cfg.Variable != nil {
		if err := b.Variable(h.Variable, func(v *connection.Variable) { cfg.Variable(h, v) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Host.RegisterIntegration(b); err != nil {
		t.Fatal(err)
	}
	if err := h.Host.Deploy(t.Context(), connection.Instance{ID: InstanceID, Name: "Customer", IntegrationID: IntegrationID,
		IntegrationName: "Example", IntegrationVersion: 1}); err != nil {
		t.Fatal(err)
	}
	return h
}

// Ref returns the address of the instance's connection.
func (h *Harness) Ref() connection.Ref {
	return connection.Ref{InstanceID: InstanceID, Variable: h.Variable}
}

// SetValues sets the connection's values as the customer would.
func (h *Harness) SetValues(t *testing.T, values map[string]string) {
	t.Helper()
	if err := h.Host.SetValues(t.Context(), h.Ref(), template.AudienceCustomer, connection.ValuesOf(values)); err != nil {
		t.Fatal(err)
	}
}

// Connect runs CONNECT the way a customer's browser does: it posts to the
// host's connect route (which binds the CONNECT to the browser with a
// cookie), plays the browser at the fake authorization server and follows
// its redirect to the callback with the cookie. It returns the authorize
// URL the host built and fails the test unless the callback shows its
// success page.
func (h *Harness) Connect(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()
	start, err := http.NewRequestWithContext(ctx, http.MethodPost, h.appURL+ConnectPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(start)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("connect answered %d, want 303", resp.StatusCode)
	}
	authURL := resp.Header.Get("Location")
	back, err := h.Auth.Authorize(ctx, authURL)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, back.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "Authorization completed successfully") {
		t.Fatalf("callback answered %d:\n%s", resp.StatusCode, page)
	}
	return authURL
}

// Run runs the step once, as one execution.
func (h *Harness) Run(t *testing.T, inputs map[string]any) (any, error) {
	t.Helper()
	return h.Host.RunStep(t.Context(), InstanceID, Step, connkit.RunOptions{Inputs: inputs})
}

// Health returns the connection's status.
func (h *Harness) Health(t *testing.T) connection.Health {
	t.Helper()
	got, err := h.Host.Health(t.Context(), h.Ref())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// Connection returns the connection's stored record.
func (h *Harness) Connection(t *testing.T) *store.Connection {
	t.Helper()
	c, err := h.Store.GetConnection(t.Context(), h.Ref())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// LogText returns the connection's log and the host's slog output as one
// string, for checks that no secret appears in either.
func (h *Harness) LogText(t *testing.T) string {
	t.Helper()
	entries, err := h.Host.Logs(t.Context(), h.Ref(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.Event + " " + e.Message)
		for k, v := range e.Attrs {
			b.WriteString(" " + k + "=" + v)
		}
		b.WriteByte('\n')
	}
	return b.String() + h.Logs.String()
}

// AssertNoSecret fails the test if any of secrets appears in text.
func AssertNoSecret(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s contains a secret value", what)
		}
	}
}

// SyncBuffer is a bytes buffer safe for concurrent writers.
type SyncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
