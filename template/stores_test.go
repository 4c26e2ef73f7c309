package template_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/keyring"
	"github.com/connkit/connkit/store/memory"
	"github.com/connkit/connkit/store/sqlstore"
	"github.com/connkit/connkit/template"
)

// postgresEnv names the environment variable with the DSN of a PostgreSQL
// database the tests may create schemas in (the same one store/sqlstore's
// tests read).
const postgresEnv = "CONNKIT_TEST_POSTGRES_DSN"

// backend opens a new, empty store for one test.
type backend struct {
	name string
	open func(t testing.TB) store.Store
}

// backends are the stores every store-using test runs against: memory and
// SQLite always, PostgreSQL when CONNKIT_TEST_POSTGRES_DSN is set (and
// under CI=true it must be).
var backends = []backend{
	{"memory", func(t testing.TB) store.Store { return memory.New(memory.Options{}) }},
	{"sqlite", func(t testing.TB) store.Store {
		return openSQL(t, sqlstore.SQLite, filepath.Join(t.TempDir(), "connkit.db"))
	}},
	{"postgres", func(t testing.TB) store.Store {
		dsn := os.Getenv(postgresEnv)
		if dsn == "" {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI=true but %s is unset: the PostgreSQL tests must run in CI", postgresEnv)
			}
			t.Skipf("set %s to run against PostgreSQL", postgresEnv)
		}
		return openSQL(t, sqlstore.PostgreSQL, freshSchema(t, dsn))
	}},
}

// testAll runs test once per backend, each with a new, empty store.
func testAll(t *testing.T, test func(t *testing.T, e *env)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			test(t, newEnv(t, b.open(t)))
		})
	}
}

// env is a Manager over one store, with the keyring that seals for it.
type env struct {
	ctx    context.Context
	st     store.Store
	ring   *keyring.Keyring
	m      *template.Manager
	ids    int
	prefix string
}

func newEnv(t testing.TB, st store.Store) *env {
	t.Helper()
	k, err := keyring.GenerateKey(1)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return &env{ctx: t.Context(), st: st, ring: ring, m: template.New(st, ring, template.Options{}), prefix: store.NewID()[:8]}
}

// id returns a new id unique within the env's store, so that subtests can
// share one store. Not safe for concurrent use.
func (e *env) id(kind string) string {
	e.ids++
	return kind + "-" + e.prefix + "-" + strconv.Itoa(e.ids)
}

// register registers in or fails the test.
func (e *env) register(t *testing.T, in template.Integration) {
	t.Helper()
	if err := e.m.Register(in); err != nil {
		t.Fatalf("Register(%s v%d): %v", in.ID, in.Version, err)
	}
}

// deploy deploys a new instance of a registered integration version.
func (e *env) deploy(t *testing.T, integrationID string, version int) connection.Instance {
	t.Helper()
	in := connection.Instance{ID: e.id("inst"), Name: "Customer " + strconv.Itoa(e.ids),
		IntegrationID: integrationID, IntegrationName: "Acme Sync", IntegrationVersion: version}
	if err := e.m.Deploy(e.ctx, in); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	return in
}

// createTemplate creates a template or fails the test.
func (e *env) createTemplate(t *testing.T, spec template.TemplateSpec) *template.Template {
	t.Helper()
	tpl, err := e.m.CreateTemplate(e.ctx, spec)
	if err != nil {
		t.Fatalf("CreateTemplate: %v", err)
	}
	return tpl
}

// oauthTemplate creates a template of oauthType filling the client id with
// clientID and the client secret with the sentinel.
func (e *env) oauthTemplate(t *testing.T, clientID string) *template.Template {
	t.Helper()
	var vals connection.Values
	vals.Set(connection.FieldClientID, clientID)
	vals.Set(connection.FieldClientSecret, sentinel)
	return e.createTemplate(t, template.TemplateSpec{Name: "Acme app " + clientID, Component: "acme",
		Type: oauthType, Values: vals})
}

// fixture is a registered acmeIntegration with a template and an instance.
type fixture struct {
	in    template.Integration
	tpl   *template.Template
	inst  connection.Instance
	api   connection.Ref // the instance-level API-key connection
	oauth connection.Ref // the user-level OAuth connection of user "u1"
}

func (e *env) fixture(t *testing.T) fixture {
	t.Helper()
	tpl := e.oauthTemplate(t, "client-"+e.id("c"))
	in := acmeIntegration(e.id("integration"), 1, tpl.ID)
	e.register(t, in)
	inst := e.deploy(t, in.ID, in.Version)
	return fixture{in: in, tpl: tpl, inst: inst,
		api:   connection.Ref{InstanceID: inst.ID, Variable: "Acme API"},
		oauth: connection.Ref{InstanceID: inst.ID, Variable: "Acme OAuth", User: "u1"},
	}
}

// set sets values on behalf of an audience or fails the test.
func (e *env) set(t *testing.T, ref connection.Ref, a template.Audience, kv ...string) {
	t.Helper()
	if err := e.m.SetValues(e.ctx, ref, a, values(kv...)); err != nil {
		t.Fatalf("SetValues(%s, %s): %v", ref, a, err)
	}
}

// values builds Values from key, value pairs.
func values(kv ...string) connection.Values {
	var v connection.Values
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// resolve resolves ref or fails the test.
func (e *env) resolve(t *testing.T, ref connection.Ref) *template.Resolution {
	t.Helper()
	res, err := e.m.Resolve(e.ctx, ref)
	if err != nil {
		t.Fatalf("Resolve(%s): %v", ref, err)
	}
	return res
}

func openSQL(t testing.TB, d sqlstore.Dialect, dsn string) store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, d, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatalf("sqlstore.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// freshSchema creates a PostgreSQL schema, dropped when the test ends, and
// returns base with search_path set to it.
func freshSchema(t testing.TB, base string) string {
	t.Helper()
	schema := "connkit_template_test_" + store.NewID()
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatalf("parse %s: %v", postgresEnv, err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return base + " search_path=" + schema
}
