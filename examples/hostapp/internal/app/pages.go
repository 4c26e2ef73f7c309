package app

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/connkit/connkit/connection"
	tpl "github.com/connkit/connkit/template"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/app.css
var appCSS []byte

var funcs = template.FuncMap{
	"color": statusColor,
	"clock": func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") },
	"path":  url.PathEscape,
	"attrs": func(m map[string]string) string {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			parts = append(parts, k+"="+m[k])
		}
		return strings.Join(parts, " ")
	},
	"fieldInput": fieldInput,
}

// pages holds one template set per page, each with the base layout.
var pages = func() map[string]*template.Template {
	m := map[string]*template.Template{}
	for _, name := range []string{"home", "instance", "log", "templates", "settings", "redirect", "error"} {
		m[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/base.html", "templates/"+name+".html"))
	}
	return m
}()

// layout is what every page has.
type layout struct {
	Title  string
	Nav    string
	Notice *notice
}

// notice is a one-line message at the top of a page.
type notice struct {
	Kind string // "ok" or "error"
	Text string
}

func (l *layout) base() *layout { return l }

type page interface{ base() *layout }

// render writes a page. Rendering into a buffer first means a template
// error becomes a 500, not half a page.
func (a *App) render(w http.ResponseWriter, r *http.Request, status int, name string, data page) {
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "base", data); err != nil {
		a.log.ErrorContext(r.Context(), "render page", "page", name, "error", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type errorPage struct {
	layout
	Text string
}

// fail renders an error page; err is logged, msg shown.
func (a *App) fail(w http.ResponseWriter, r *http.Request, status int, msg string, err error) {
	if err != nil {
		level := slog.LevelWarn
		if status >= 500 {
			level = slog.LevelError
		}
		a.log.Log(r.Context(), level, "request failed", "path", r.URL.Path, "status", status, "error", err)
	}
	a.render(w, r, status, "error", &errorPage{layout: layout{Title: http.StatusText(status)}, Text: msg})
}

// statusColor is the badge color of a status; grey for none.
func statusColor(s connection.Status) string {
	if c := s.Color(); c != "" {
		return c
	}
	return "grey"
}

// badge is what the "badge" template shows.
type badge struct {
	connection.Health
	Slug     string
	Variable string
	// OAuth2 says the connection is connected with OAuth 2.0, so that the
	// zero status reads "Not connected".
	OAuth2 bool
}

// Label names the status for people.
func (b badge) Label() string {
	switch b.Status {
	case connection.StatusConfigured:
		return "Configured"
	case connection.StatusWorking:
		return "Working"
	case connection.StatusError:
		return "Error"
	}
	if b.OAuth2 {
		return "Not connected"
	}
	return "Not configured"
}

// slug makes a DOM id out of a variable key.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// input is one form control of the "input" template.
type input struct {
	ID, Name, Kind, Value, Placeholder string
	Secret, Set                        bool
	Choices                            []string
}

// fieldInput builds the control of a customer-view field; values the
// customer just typed (kept after a refused submission) win over stored
// ones. Secret values are never put in a page.
func fieldInput(c *connView, f tpl.FieldView) input {
	in := input{ID: "field-" + c.Slug + "-" + f.Key, Name: f.Key, Kind: string(f.Kind), Value: f.Value,
		Placeholder: f.Placeholder, Secret: f.Secret, Set: f.Set, Choices: f.Choices}
	if v, ok := c.Typed[f.Key]; ok && !f.Secret {
		in.Value = v
	}
	return in
}

// problems turns a validation error into messages per field key, and
// returns the whole error text for anything else.
func problems(err error) (map[string]string, string) {
	var ve *connection.ValidationError
	if !errors.As(err, &ve) {
		return nil, err.Error()
	}
	out := map[string]string{}
	for _, p := range ve.Problems {
		if out[p.Key] != "" {
			out[p.Key] += "; "
		}
		out[p.Key] += p.Reason
	}
	return out, fmt.Sprintf("%d field(s) need attention.", len(ve.Problems))
}
