package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/connkit/connkit"
	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/examples/hostapp/internal/democloud"
	"github.com/connkit/connkit/oauth"
	"github.com/connkit/connkit/store"
	tpl "github.com/connkit/connkit/template"
)

// routes builds the app's handler.
func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("POST /instances", a.deploy)
	mux.HandleFunc("GET /instances/{id}", a.instance)
	mux.HandleFunc("POST /instances/{id}/connections/{variable}/values", a.saveValues)
	mux.HandleFunc("POST /instances/{id}/connections/{variable}/connect", a.connect)
	mux.HandleFunc("POST /instances/{id}/connections/{variable}/disconnect", a.disconnect)
	mux.HandleFunc("GET /instances/{id}/connections/{variable}/log", a.connectionLog)
	mux.HandleFunc("POST /instances/{id}/steps/{step}/run", a.runStep)
	mux.HandleFunc("GET /templates", a.templates)
	mux.HandleFunc("POST /templates", a.createTemplate)
	mux.HandleFunc("POST /templates/{id}", a.updateTemplate)
	mux.HandleFunc("POST /integrations/{id}/versions", a.newVersion)
	mux.HandleFunc("POST /integrations/{id}/versions/{version}/publish", a.publishVersion)
	mux.HandleFunc("GET /settings", a.settings)
	mux.HandleFunc("GET "+SuccessPath, a.redirectPage(false))
	mux.HandleFunc("GET "+FailurePath, a.redirectPage(true))
	mux.HandleFunc("GET /static/app.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(appCSS)
	})
	// connkit's OAuth 2.0 callback, the demo provider and the demo API.
	mux.Handle("GET "+CallbackPath, a.host.CallbackHandler())
	mux.Handle(ProviderPath+"/", http.StripPrefix(ProviderPath, a.provider.Handler()))
	mux.Handle(APIPath+"/", http.StripPrefix(APIPath, democloud.API(a.provider)))

	// Forms may only be posted from this origin (Sec-Fetch-Site / Origin
	// checks); requests without those headers, such as connkit's own
	// calls to the demo provider, pass.
	csrf := http.NewCrossOriginProtection()
	return securityHeaders(csrf.Handler(mux))
}

// securityHeaders sets defaults for every answer; handlers with their own
// needs (the demo provider's pages, connkit's callback pages) replace them.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// notify leaves a one-shot notice for an instance's next page view.
func (a *App) notify(instance, kind, text string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.notices[instance] = notice{Kind: kind, Text: text}
}

func (a *App) takeNotice(instance string) *notice {
	a.mu.Lock()
	defer a.mu.Unlock()
	n, ok := a.notices[instance]
	if !ok {
		return nil
	}
	delete(a.notices, instance)
	return &n
}

func seeOther(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// Home -----------------------------------------------------------------------

type versionView struct {
	version
	TemplateName string
	Instances    int
}

type instanceRow struct {
	connection.Instance
	Badges []badge
}

type homePage struct {
	layout
	IntegrationID, IntegrationName, OAuthVariable string
	Steps                                         []step
	Versions                                      []versionView
	Instances                                     []instanceRow
	Templates                                     []*tpl.Template
	Published                                     []int
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	a.renderHome(w, r, http.StatusOK, nil)
}

func (a *App) renderHome(w http.ResponseWriter, r *http.Request, status int, n *notice) {
	ctx := r.Context()
	p := &homePage{layout: layout{Title: "Integrations", Nav: "home", Notice: n},
		IntegrationID: IntegrationID, IntegrationName: IntegrationName, OAuthVariable: OAuthVariable, Steps: steps}
	vs, err := a.catalog.versions(ctx, IntegrationID)
	if err != nil {
		a.fail(w, r, http.StatusInternalServerError, "The integration versions could not be read.", err)
		return
	}
	insts, err := a.store.ListInstances(ctx)
	if err != nil {
		a.fail(w, r, http.StatusInternalServerError, "The instances could not be read.", err)
		return
	}
	tpls, err := a.host.Templates().ListTemplates(ctx, democloud.ComponentKey)
	if err != nil {
		a.fail(w, r, http.StatusInternalServerError, "The templates could not be read.", err)
		return
	}
	names := map[string]string{}
	for _, t := range tpls {
		names[t.ID] = t.Name
		if t.Type == democloud.TypeOAuth {
			p.Templates = append(p.Templates, t)
		}
	}
	for _, v := range vs {
		vv := versionView{version: v, TemplateName: names[v.Template]}
		for _, in := range insts {
			if in.IntegrationID == IntegrationID && in.IntegrationVersion == v.Version {
				vv.Instances++
			}
		}
		p.Versions = append(p.Versions, vv)
		if v.Published {
			p.Published = append(p.Published, v.Version)
		}
	}
	for _, in := range insts {
		row := instanceRow{Instance: in}
		def, _ := a.host.Templates().Integration(in.IntegrationID, in.IntegrationVersion)
		conns, err := a.store.ListConnections(ctx, in.ID)
		if err == nil {
			for _, c := range conns {
				v, _ := def.Variable(c.Ref.Variable)
				row.Badges = append(row.Badges, badge{Health: c.Health, Slug: in.ID + "-" + slug(c.Ref.Variable),
					Variable: c.Ref.Variable, OAuth2: v.Type.IsOAuth2()})
			}
		}
		p.Instances = append(p.Instances, row)
	}
	a.render(w, r, status, "home", p)
}

// deploy creates an instance of a published version.
func (a *App) deploy(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	v, err := strconv.Atoi(r.PostFormValue("version"))
	if name == "" || err != nil {
		a.renderHome(w, r, http.StatusUnprocessableEntity, &notice{"error", "Give the instance a name and a version."})
		return
	}
	ctx := r.Context()
	vs, err := a.catalog.versions(ctx, IntegrationID)
	if err != nil {
		a.fail(w, r, http.StatusInternalServerError, "The integration versions could not be read.", err)
		return
	}
	if !slices.ContainsFunc(vs, func(x version) bool { return x.Version == v && x.Published }) {
		a.renderHome(w, r, http.StatusUnprocessableEntity, &notice{"error", fmt.Sprintf("Version %d is not published; only published versions can be deployed.", v)})
		return
	}
	id := slug(name)
	if id == "" {
		id = "instance"
	}
	if _, err := a.store.GetInstance(ctx, id); err == nil {
		id += "-" + strings.ToLower(store.NewID()[:6])
	}
	in := connection.Instance{ID: id, Name: name, IntegrationID: IntegrationID, IntegrationName: IntegrationName, IntegrationVersion: v}
	if err := a.host.Deploy(ctx, in); err != nil {
		a.fail(w, r, http.StatusInternalServerError, "The instance could not be deployed.", err)
		return
	}
	a.notify(id, "ok", fmt.Sprintf("Deployed %s on %s v%d.", name, IntegrationName, v))
	seeOther(w, r, "/instances/"+id)
}

// Instance -------------------------------------------------------------------

// connView is one connection of the instance page.
type connView struct {
	Variable  string
	Slug      string
	View      *tpl.View
	Badge     badge
	Log       []store.LogEntry
	Errors    map[string]string // field key -> problem, after a refused form
	FormError string
	Typed     map[string]string // non-secret values just typed, after a refused form
}

// runResult is the outcome of the last run of a step.
type runResult struct {
	Seq    int
	At     time.Time
	OK     bool
	Output string
	Error  string
	Hint   string
}

type stepView struct {
	step
	Last *runResult
}

type instancePage struct {
	layout
	Instance    connection.Instance
	Connections []*connView
	Steps       []stepView
}

// formState carries a refused form back into the page.
type formState struct {
	variable string
	errors   map[string]string
	message  string
	typed    map[string]string
}

func (a *App) instance(w http.ResponseWriter, r *http.Request) {
	a.renderInstance(w, r, http.StatusOK, r.PathValue("id"), nil)
}

func (a *App) renderInstance(w http.ResponseWriter, r *http.Request, status int, id string, form *formState) {
	ctx := r.Context()
	in, err := a.store.GetInstance(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, http.StatusNotFound, "There is no instance "+strconv.Quote(id)+".", nil)
		return
	}
	if err != nil {
		a.fail(w, r, http.StatusInternalServerError, "The instance could not be read.", err)
		return
	}
	def, ok := a.host.Templates().Integration(in.IntegrationID, in.IntegrationVersion)
	if !ok {
		a.fail(w, r, http.StatusInternalServerError, "The instance's integration version is not registered.", nil)
		return
	}
	p := &instancePage{layout: layout{Title: in.Name, Nav: "home", Notice: a.takeNotice(id)}, Instance: in}
	for _, v := range def.Variables {
		ref := connection.Ref{InstanceID: id, Variable: v.Key}
		view, err := a.host.Templates().CustomerView(ctx, ref)
		if err != nil {
			a.fail(w, r, http.StatusInternalServerError, "The connection "+strconv.Quote(v.Key)+" could not be resolved.", err)
			return
		}
		c := &connView{Variable: v.Key, Slug: slug(v.Key), View: view}
		c.Badge = badge{Health: view.Health, Slug: c.Slug, Variable: v.Key, OAuth2: view.OAuth2}
		if c.Log, err = a.host.Logs(ctx, ref, 0, 5); err != nil && !errors.Is(err, store.ErrNotFound) {
			a.log.WarnContext(ctx, "read connection log", "ref", ref.String(), "error", err)
		}
		if form != nil && form.variable == v.Key {
			c.Errors, c.FormError, c.Typed = form.errors, form.message, form.typed
		}
		p.Connections = append(p.Connections, c)
	}
	a.mu.Lock()
	for _, s := range steps {
		sv := stepView{step: s}
		if last, ok := a.runs[id][s.Name]; ok {
			sv.Last = &last
		}
		p.Steps = append(p.Steps, sv)
	}
	a.mu.Unlock()
	a.render(w, r, status, "instance", p)
}

// target resolves the instance and variable of a connection route.
func (a *App) target(w http.ResponseWriter, r *http.Request) (connection.Ref, *tpl.View, bool) {
	ref := connection.Ref{InstanceID: r.PathValue("id"), Variable: r.PathValue("variable")}
	view, err := a.host.Templates().CustomerView(r.Context(), ref)
	switch {
	case errors.Is(err, store.ErrNotFound):
		a.fail(w, r, http.StatusNotFound, "There is no such instance or connection.", nil)
		return ref, nil, false
	case err != nil:
		a.fail(w, r, http.StatusInternalServerError, "The connection could not be resolved.", err)
		return ref, nil, false
	}
	return ref, view, true
}

// submitted returns the values of a customer form that differ from what is
// stored: every changed non-secret field, and every secret typed in (an
// empty secret input means "keep"). typed is every non-secret value as sent.
func submitted(r *http.Request, view *tpl.View) (changed connection.Values, typed map[string]string) {
	typed = map[string]string{}
	for _, f := range view.Fields {
		v, sent := r.PostForm[f.Key]
		if !sent {
			continue
		}
		val := strings.TrimSpace(v[0])
		if f.Secret {
			if val != "" {
				changed.Set(f.Key, val)
			}
			continue
		}
		typed[f.Key] = val
		if val != f.Value {
			changed.Set(f.Key, val)
		}
	}
	return changed, typed
}

// save applies a submitted customer form; on refusal it renders the page
// with the problems and returns false.
func (a *App) save(w http.ResponseWriter, r *http.Request, ref connection.Ref, view *tpl.View) (int, bool) {
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, http.StatusBadRequest, "The form could not be read.", err)
		return 0, false
	}
	changed, typed := submitted(r, view)
	if changed.Len() == 0 {
		return 0, true
	}
	if err := a.host.SetValues(r.Context(), ref, tpl.AudienceCustomer, changed); err != nil {
		byField, msg := problems(err)
		if byField == nil {
			a.fail(w, r, http.StatusInternalServerError, "The values could not be saved.", err)
			return 0, false
		}
		a.renderInstance(w, r, http.StatusUnprocessableEntity, ref.InstanceID,
			&formState{variable: ref.Variable, errors: byField, message: "Not saved: " + msg, typed: typed})
		return 0, false
	}
	return changed.Len(), true
}

func (a *App) saveValues(w http.ResponseWriter, r *http.Request) {
	ref, view, ok := a.target(w, r)
	if !ok {
		return
	}
	n, ok := a.save(w, r, ref, view)
	if !ok {
		return
	}
	if n == 0 {
		a.notify(ref.InstanceID, "ok", "Nothing changed.")
	} else {
		a.notify(ref.InstanceID, "ok", fmt.Sprintf("Saved %s (%d field(s)).", ref.Variable, n))
	}
	seeOther(w, r, "/instances/"+ref.InstanceID+"#conn-"+slug(ref.Variable))
}

// connect saves the form and starts CONNECT: the browser goes to the
// provider's authorize URL, bound to this browser.
func (a *App) connect(w http.ResponseWriter, r *http.Request) {
	ref, view, ok := a.target(w, r)
	if !ok {
		return
	}
	if _, ok := a.save(w, r, ref, view); !ok {
		return
	}
	// StartConnect answers with the redirect to the provider and binds the
	// CONNECT to this browser with a cookie.
	err := a.host.StartConnect(w, r, ref)
	if errors.Is(err, oauth.ErrBadStartRequest) {
		return // answered already (wrong method or host)
	}
	if err != nil {
		byField, msg := problems(err)
		if byField == nil && !errors.Is(err, oauth.ErrMisconfigured) {
			a.fail(w, r, http.StatusInternalServerError, "CONNECT could not start.", err)
			return
		}
		if byField != nil {
			msg = "Fill in the form first: " + msg
		}
		a.renderInstance(w, r, http.StatusUnprocessableEntity, ref.InstanceID,
			&formState{variable: ref.Variable, errors: byField, message: "CONNECT could not start. " + msg})
	}
}

func (a *App) disconnect(w http.ResponseWriter, r *http.Request) {
	ref, _, ok := a.target(w, r)
	if !ok {
		return
	}
	res, err := a.host.Disconnect(r.Context(), ref)
	if err != nil {
		a.fail(w, r, http.StatusInternalServerError, "DISCONNECT failed: the tokens could not be deleted.", err)
		return
	}
	text := "Disconnected " + ref.Variable + ": tokens deleted"
	switch {
	case !res.Deleted:
		text = ref.Variable + " held no tokens; nothing to disconnect"
	case len(res.Revoked) > 0 && res.RevokeErr == nil:
		text += " and revoked at the provider (" + strings.Join(res.Revoked, ", ") + ")."
	case res.RevokeErr != nil:
		text += "; revocation at the provider failed (" + strings.Join(res.NotRevoked, ", ") + "): see the log."
	default:
		text += "."
	}
	a.notify(ref.InstanceID, "ok", text)
	seeOther(w, r, "/instances/"+ref.InstanceID+"#conn-"+slug(ref.Variable))
}

type logPage struct {
	layout
	Instance     connection.Instance
	Variable     string
	ConnectionID string
	Badge        badge
	Entries      []store.LogEntry
	Older        int64
}

func (a *App) connectionLog(w http.ResponseWriter, r *http.Request) {
	ref, view, ok := a.target(w, r)
	if !ok {
		return
	}
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	const pageSize = 50
	entries, err := a.host.Logs(r.Context(), ref, before, pageSize)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, http.StatusInternalServerError, "The log could not be read.", err)
		return
	}
	p := &logPage{layout: layout{Title: "Log of " + ref.Variable, Nav: "home"}, Instance: *view.Instance,
		Variable: ref.Variable, ConnectionID: view.ConnectionID, Entries: entries,
		Badge: badge{Health: view.Health, Slug: slug(ref.Variable), Variable: ref.Variable, OAuth2: view.OAuth2}}
	if len(entries) == pageSize {
		p.Older = entries[len(entries)-1].Seq
	}
	a.render(w, r, http.StatusOK, "log", p)
}

// runStep runs a step as one execution and keeps its outcome for the
// instance page.
func (a *App) runStep(w http.ResponseWriter, r *http.Request) {
	id, name := r.PathValue("id"), r.PathValue("step")
	if !slices.ContainsFunc(steps, func(s step) bool { return s.Name == name }) {
		a.fail(w, r, http.StatusNotFound, "There is no step "+strconv.Quote(name)+".", nil)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	out, err := a.host.RunStep(ctx, id, name, connkit.RunOptions{})
	if errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, http.StatusNotFound, "There is no instance "+strconv.Quote(id)+".", nil)
		return
	}
	res := runResult{At: time.Now(), OK: err == nil}
	if err != nil {
		res.Error = err.Error()
		var ve *connection.ValidationError
		switch {
		case errors.Is(err, component.ErrNotConnected):
			res.Hint = "the connection is not connected: CONNECT it first"
		case errors.As(err, &ve):
			res.Hint = "the connection's form is incomplete"
		}
	} else {
		b, jerr := json.Marshal(out)
		if jerr != nil {
			b = []byte(fmt.Sprint(out))
		}
		res.Output = string(b)
	}
	a.mu.Lock()
	if a.runs[id] == nil {
		a.runs[id] = map[string]runResult{}
	}
	res.Seq = a.runs[id][name].Seq + 1
	a.runs[id][name] = res
	a.mu.Unlock()
	seeOther(w, r, "/instances/"+id+"#steps")
}

// Custom redirect pages ------------------------------------------------------

type param struct{ Name, Value string }

type redirectPage struct {
	layout
	Failed     bool
	Params     []param
	InstanceID string
	Badge      *badge
}

// redirectPage is the integration's custom OAuth 2.0 success or failure
// page: it shows the query parameters connkit's callback sent, and the
// connection's status.
func (a *App) redirectPage(failed bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p := &redirectPage{layout: layout{Title: "Connected", Nav: "home"}, Failed: failed}
		if failed {
			p.Title = "Connection failed"
		}
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range q {
				if !yield(k) {
					return
				}
			}
		}) {
			p.Params = append(p.Params, param{k, q.Get(k)})
		}
		ctx := r.Context()
		if id := q.Get(oauth.RedirectInstanceID); id != "" {
			if _, err := a.store.GetInstance(ctx, id); err == nil {
				p.InstanceID = id
			}
		}
		if id := q.Get(oauth.RedirectID); id != "" {
			if c, err := a.store.GetConnectionByID(ctx, id); err == nil && c.Ref.InstanceID == p.InstanceID {
				// Custom redirects follow OAuth 2.0 callbacks only.
				p.Badge = &badge{Health: c.Health, Slug: slug(c.Ref.Variable), Variable: c.Ref.Variable, OAuth2: true}
			}
		}
		a.render(w, r, http.StatusOK, "redirect", p)
	}
}
