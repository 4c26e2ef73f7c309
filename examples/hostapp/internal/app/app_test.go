package app_test

import (
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/connkit/connkit/examples/hostapp/internal/app"
	"github.com/connkit/connkit/examples/hostapp/internal/democloud"
	"github.com/connkit/connkit/oauth"
	tpl "github.com/connkit/connkit/template"
)

// The whole lifecycle over HTTP, as a browser would go through it: fill the
// form, CONNECT, log in and approve at the demo provider, land on the
// custom success page (yellow), run the step (green), read the log,
// DISCONNECT (tokens revoked), and the step then fails cleanly.
func TestConnectionLifecycle(t *testing.T) {
	r := start(t, newConfig(t))
	b := newBrowser(t)

	b.get(r.base + instancePath)
	b.want(http.StatusOK, `id="field-demo-cloud-connection-workspace"`, `id="connect-demo-cloud-connection"`)
	// The customer form never shows hidden fields or fields the template
	// fills.
	b.lacks(`name="clientId"`, `name="clientSecret"`, `name="authorizeUrl"`, `name="tokenUrl"`, `name="revokeUrl"`,
		`name="scopes"`, `name="apiBaseUrl"`)
	if got := statusColor(b, oauthSlug); got != "grey" {
		t.Errorf("status before anything = %s, want grey", got)
	}

	connect(t, b, r.base, "demo", "approve")
	b.want(http.StatusOK, `id="connected-page"`)
	if !strings.HasPrefix(b.URL.String(), r.base+app.SuccessPath+"?") {
		t.Fatalf("landed on %s, want the custom success page", b.URL)
	}
	q := b.URL.Query()
	for k, want := range map[string]string{
		"instanceId": app.SeedInstanceID, "instanceName": app.SeedInstanceName, "integrationId": app.IntegrationID,
		"integrationName": app.IntegrationName, "requiredConfigVariableKey": app.OAuthVariable,
	} {
		if q.Get(k) != want {
			t.Errorf("success redirect %s = %q, want %q", k, q.Get(k), want)
		}
		b.want(http.StatusOK, `id="param-`+k+`">`+template(want)+`<`)
	}
	if q.Get("id") == "" || q.Get("requiredConfigVariableId") == "" {
		t.Errorf("success redirect lacks the connection id: %v", q)
	}
	if got := statusColor(b, oauthSlug); got != "yellow" {
		t.Errorf("status on the success page = %s, want yellow", got)
	}
	b.get(r.base + instancePath)
	if got := statusColor(b, oauthSlug); got != "yellow" {
		t.Errorf("status after CONNECT = %s, want yellow", got)
	}
	b.want(http.StatusOK, `id="disconnect-demo-cloud-connection"`, `data-event="`+oauth.EventConnected+`"`)

	b.post(r.base+instancePath+"/steps/"+democloud.ActionListProjects+"/run", nil)
	b.want(http.StatusOK, `id="result-list-projects"`, "Succeeded", "Apollo", "Mercury", `&#34;user&#34;:&#34;demo&#34;`)
	if got := statusColor(b, oauthSlug); got != "green" {
		t.Errorf("status after a successful step = %s, want green", got)
	}

	b.get(r.base + oauthPath + "/log")
	b.want(http.StatusOK, `data-event="`+oauth.EventConnectStarted+`"`, `data-event="`+oauth.EventConnected+`"`, `data-event="used"`,
		`data-event="`+tpl.EventValuesSet+`"`)

	b.post(r.base+oauthPath+"/disconnect", nil)
	b.want(http.StatusOK, "Disconnected Demo Cloud Connection: tokens deleted and revoked at the provider (refresh_token, access_token)")
	b.lacks(`id="disconnect-demo-cloud-connection"`)
	if got := statusColor(b, oauthSlug); got != "grey" {
		t.Errorf("status after DISCONNECT = %s, want grey", got)
	}
	b.want(http.StatusOK, `data-color="grey">Not connected<`)

	b.post(r.base+instancePath+"/steps/"+democloud.ActionListProjects+"/run", nil)
	b.want(http.StatusOK, `class="result fail" id="result-list-projects"`, "is not connected", "CONNECT it first")

	// Nothing secret ever reached a page or the log.
	for _, secret := range []string{"demo-client-secret", "dc1."} {
		if strings.Contains(r.logs.String(), secret) {
			t.Errorf("the app's log contains %q", secret)
		}
	}
}

// template escapes s as html/template does in text.
func template(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func TestDenyGoesToFailurePage(t *testing.T) {
	r := start(t, newConfig(t))
	b := newBrowser(t)
	connect(t, b, r.base, "", "deny")
	b.want(http.StatusOK, `id="failed-page"`, `id="param-error">access_denied<`)
	if !strings.HasPrefix(b.URL.String(), r.base+app.FailurePath+"?") {
		t.Fatalf("landed on %s, want the custom failure page", b.URL)
	}
	if got := statusColor(b, oauthSlug); got != "red" {
		t.Errorf("status after a denied CONNECT = %s, want red", got)
	}
}

func TestWrongPasswordStaysAtProvider(t *testing.T) {
	r := start(t, newConfig(t))
	b := newBrowser(t)
	connect(t, b, r.base, "guess", "approve")
	b.want(http.StatusUnauthorized, "Wrong user name or password")
}

func TestFormErrorsShownInPlace(t *testing.T) {
	r := start(t, newConfig(t))
	b := newBrowser(t)
	b.post(r.base+oauthPath+"/values", url.Values{"workspace": {"not valid!"}})
	b.want(http.StatusUnprocessableEntity, `id="form-error-demo-cloud-connection"`, `class="field-error"`, `value="not valid!"`)
	// CONNECT with an empty required field does not leave the page.
	b.post(r.base+oauthPath+"/connect", url.Values{"workspace": {""}})
	b.want(http.StatusUnprocessableEntity, "CONNECT could not start", "is required")
}

// A non-OAuth connection: yellow once its key is saved, green after a
// step, red after a wrong key. The key is never shown back.
func TestAPIKeyConnection(t *testing.T) {
	r := start(t, newConfig(t))
	b := newBrowser(t)
	b.post(r.base+apiKeyPath+"/values", url.Values{"apiKey": {democloud.DemoAPIKey}})
	b.want(http.StatusOK, "Saved Demo Cloud API key Connection", "(set; type to replace)")
	b.lacks(`value="` + democloud.DemoAPIKey) // the help text names the demo key; no input holds it
	if got := statusColor(b, apiKeySlug); got != "yellow" {
		t.Errorf("status after saving the key = %s, want yellow", got)
	}
	b.post(r.base+instancePath+"/steps/"+democloud.ActionCheckKey+"/run", nil)
	b.want(http.StatusOK, `class="result ok" id="result-check-key"`)
	if got := statusColor(b, apiKeySlug); got != "green" {
		t.Errorf("status after the step = %s, want green", got)
	}
	b.post(r.base+apiKeyPath+"/values", url.Values{"apiKey": {"wrong-key-000"}})
	b.post(r.base+instancePath+"/steps/"+democloud.ActionCheckKey+"/run", nil)
	b.want(http.StatusOK, `class="result fail" id="result-check-key"`, "HTTP 401")
	if got := statusColor(b, apiKeySlug); got != "red" {
		t.Errorf("status after a refused key = %s, want red", got)
	}
	b.want(http.StatusOK, "answered HTTP 401")
	b.lacks("wrong-key-000")
}

// Templates: the seeded one is locked by the published version 1; a new
// one is editable until a version referencing it is published; only
// published versions deploy; an instance of the new version shows only
// the fields its template leaves open.
func TestTemplatesLockAfterPublish(t *testing.T) {
	r := start(t, newConfig(t))
	b := newBrowser(t)
	b.get(r.base + "/templates")
	b.want(http.StatusOK, "Demo Cloud app credentials", "locked: pinned by demo-sync v1")
	seeded := b.find(`<section class="card" id="tpl-([A-Za-z0-9]+)">`)

	b.post(r.base+"/templates/"+seeded, url.Values{"name": {"renamed"}, "f.clientId": {"x"}, "f.clientSecret": {"y"}})
	b.want(http.StatusUnprocessableEntity, "it is locked because a published integration version references it")

	// A template that fills only the client id: the customer will have to
	// give the secret.
	b.post(r.base+"/templates", url.Values{"component": {democloud.ComponentKey}, "type": {democloud.TypeOAuth},
		"name": {"Bring your own secret"}, "f.clientId": {"connkit-demo"}})
	b.want(http.StatusOK, `Created template &#34;Bring your own secret&#34;`)
	created := regexp.MustCompile(`<section class="card" id="tpl-([A-Za-z0-9]+)">\s*<header><h2>Bring your own secret`).FindStringSubmatch(b.Body)
	if created == nil {
		t.Fatalf("new template not listed:\n%s", b.Body)
	}
	id := created[1]

	b.post(r.base+"/integrations/"+app.IntegrationID+"/versions", url.Values{"template": {id}})
	b.want(http.StatusOK, "Created draft version 2")
	b.post(r.base+"/templates/"+id, url.Values{"name": {"Bring your own secret"}, "f.clientId": {"connkit-demo"}, "f.scopes": {democloud.Scope}})
	b.want(http.StatusOK, "Updated template")

	b.post(r.base+"/instances", url.Values{"name": {"Globex"}, "version": {"2"}})
	b.want(http.StatusUnprocessableEntity, "Version 2 is not published")

	b.post(r.base+"/integrations/"+app.IntegrationID+"/versions/2/publish", nil)
	b.want(http.StatusOK, "Published version 2")
	b.post(r.base+"/templates/"+id, url.Values{"name": {"Bring your own secret"}, "f.clientId": {"other"}})
	b.want(http.StatusUnprocessableEntity, "it is locked")
	b.get(r.base + "/templates")
	b.want(http.StatusOK, `id="locked-`+id+`">locked: pinned by demo-sync v2`)

	b.post(r.base+"/instances", url.Values{"name": {"Globex"}, "version": {"2"}})
	b.want(http.StatusOK, "Globex", "Demo Sync</b> v2", `name="clientSecret"`, `name="workspace"`)
	b.lacks(`name="clientId"`, `name="scopes"`)
	// The seeded instance keeps version 1, whose template fills both.
	b.get(r.base + instancePath)
	b.lacks(`name="clientId"`, `name="clientSecret"`)
}

// Everything is in the database: a restart with the same file and key
// keeps versions, instances and the connection, whose tokens (sealed in
// the store, signed by the demo provider) still work.
func TestRestartKeepsEverything(t *testing.T) {
	c := newConfig(t)
	r := start(t, c)
	b := newBrowser(t)
	connect(t, b, r.base, "demo", "approve")
	b.post(r.base+"/integrations/"+app.IntegrationID+"/versions", url.Values{"template": {b.get(r.base + "/").find(`<option value="([A-Za-z0-9]+)">Demo Cloud app credentials`)}})
	b.want(http.StatusOK, "Created draft version 2")
	r.stop()

	r = start(t, c)
	b.get(r.base + "/")
	b.want(http.StatusOK, `id="version-1"`, `id="version-2"`)
	b.post(r.base+instancePath+"/steps/"+democloud.ActionListProjects+"/run", nil)
	b.want(http.StatusOK, `class="result ok" id="result-list-projects"`, "Apollo")
	if got := statusColor(b, oauthSlug); got != "green" {
		t.Errorf("status after a restart and a step = %s, want green", got)
	}
}

// Forms only work from the app's own pages.
func TestCrossOriginPostRefused(t *testing.T) {
	r := start(t, newConfig(t))
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, r.base+oauthPath+"/disconnect", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST answered %d, want 403", resp.StatusCode)
	}
}

func TestPagesAndHeaders(t *testing.T) {
	r := start(t, newConfig(t))
	b := newBrowser(t)
	for path, want := range map[string]string{
		"/":                    "Integrations &amp; instances",
		"/templates":           "Connection templates",
		"/settings":            `id="egress-config">direct<`,
		instancePath:           "Acme Corp",
		"/instances/nope":      "There is no instance",
		oauthPath + "/log":     "Connection log",
		app.SuccessPath + "?x": "Connected",
	} {
		b.get(r.base + path)
		if !strings.Contains(b.Body, want) {
			t.Errorf("%s lacks %q", path, want)
		}
		if strings.Contains(strings.ToLower(b.Body), "<script") {
			t.Errorf("%s has a script", path)
		}
	}
	b.get(r.base + "/settings")
	b.want(http.StatusOK, r.base+app.CallbackPath, "SQLite")
	resp, err := http.Get(r.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "form-action 'self'") {
		t.Errorf("CSP = %q", csp)
	}
}

// The app runs on PostgreSQL too, in its own schema.
func TestPostgreSQL(t *testing.T) {
	dsn := os.Getenv("CONNKIT_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but CONNKIT_TEST_POSTGRES_DSN is unset")
		}
		t.Skip("set CONNKIT_TEST_POSTGRES_DSN to run the host app on PostgreSQL")
	}
	c := newConfig(t)
	// The app gets the DSN with its password both in the userinfo and as
	// a ?password= parameter (which pgx accepts): the test database's
	// password, or, on a server that trusts loopback (which ignores it), a
	// sentinel. The settings page must show neither.
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		t.Fatalf("CONNKIT_TEST_POSTGRES_DSN must be a URL with a user name (%v)", err)
	}
	password, ok := u.User.Password()
	if !ok {
		password = "pw-SENTINEL-7d1c"
	}
	u.User = url.UserPassword(u.User.Username(), password)
	q := u.Query()
	q.Set("password", password)
	u.RawQuery = q.Encode()
	c.postgresDSN = u.String()
	c.prefix = "hostapp_" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_")) + "_" + randomSuffix(t) + "_"
	t.Cleanup(func() { dropTables(t, dsn, c.prefix) })
	r := start(t, c)
	b := newBrowser(t)
	connect(t, b, r.base, "demo", "approve")
	b.want(http.StatusOK, `id="connected-page"`)
	b.post(r.base+instancePath+"/steps/"+democloud.ActionListProjects+"/run", nil)
	b.want(http.StatusOK, `class="result ok" id="result-list-projects"`)
	b.get(r.base + "/settings")
	b.want(http.StatusOK, "PostgreSQL", u.Host, "password=xxxxx")
	b.lacks(password)
	if strings.Contains(r.logs.String(), password) {
		t.Errorf("the app's log shows the DSN's password:\n%s", r.logs.String())
	}
}
