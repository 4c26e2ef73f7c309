package app

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
	tpl "github.com/connkit/connkit/template"
)

// Connection templates -------------------------------------------------------

type tplField struct {
	Key, Label, Value string
	Secret, Set       bool
}

type tplView struct {
	*tpl.Template
	TypeLabel string
	PinnedBy  string
	Fields    []tplField
}

type typeForm struct {
	Component, Type, TypeLabel string
	Fields                     []connection.Field
}

type templatesPage struct {
	layout
	Templates []tplView
	Types     []typeForm
}

func (a *App) templates(w http.ResponseWriter, r *http.Request) {
	a.renderTemplates(w, r, http.StatusOK, nil)
}

func (a *App) renderTemplates(w http.ResponseWriter, r *http.Request, status int, n *notice) {
	list, err := a.host.Templates().ListTemplates(r.Context(), "")
	if err != nil {
		a.fail(w, r, http.StatusInternalServerError, "The templates could not be read.", err)
		return
	}
	p := &templatesPage{layout: layout{Title: "Connection templates", Nav: "templates", Notice: n}}
	for _, t := range list {
		v := tplView{Template: t, TypeLabel: t.Type}
		if typ, ok := a.connectionType(t.Component, t.Type); ok {
			v.TypeLabel = typ.DisplayLabel()
			for _, f := range typ.Fields {
				_, set := t.Values[f.Key]
				secretSet := false
				for _, s := range t.Secrets {
					secretSet = secretSet || s == f.Key
				}
				v.Fields = append(v.Fields, tplField{Key: f.Key, Label: f.DisplayLabel(), Value: t.Values[f.Key],
					Secret: f.IsSecret(), Set: set || secretSet})
			}
		}
		var pins []string
		for _, pin := range t.PinnedBy {
			pins = append(pins, fmt.Sprintf("%s v%d", pin.IntegrationID, pin.Version))
		}
		v.PinnedBy = strings.Join(pins, ", ")
		p.Templates = append(p.Templates, v)
	}
	for _, typ := range a.component.Connections {
		p.Types = append(p.Types, typeForm{Component: a.component.Key, Type: typ.Key, TypeLabel: typ.DisplayLabel(), Fields: typ.Fields})
	}
	a.render(w, r, status, "templates", p)
}

func (a *App) connectionType(componentKey, typeKey string) (connection.Type, bool) {
	c, ok := a.host.Component(componentKey)
	if !ok {
		return connection.Type{}, false
	}
	return c.ConnectionType(typeKey)
}

// templateValues reads the f.<key> inputs of a template form: non-empty
// ones only (a template fills a field or leaves it to the instance). For
// an update, an empty secret input keeps the stored secret.
func templateValues(r *http.Request, typ connection.Type) connection.Values {
	var v connection.Values
	for _, f := range typ.Fields {
		if s := strings.TrimSpace(r.PostFormValue("f." + f.Key)); s != "" {
			v.Set(f.Key, s)
		}
	}
	return v
}

func (a *App) createTemplate(w http.ResponseWriter, r *http.Request) {
	typ, ok := a.connectionType(r.PostFormValue("component"), r.PostFormValue("type"))
	if !ok {
		a.renderTemplates(w, r, http.StatusUnprocessableEntity, &notice{"error", "Unknown component or connection type."})
		return
	}
	t, err := a.host.Templates().CreateTemplate(r.Context(), tpl.TemplateSpec{
		Name: strings.TrimSpace(r.PostFormValue("name")), Component: r.PostFormValue("component"), Type: typ,
		Values: templateValues(r, typ),
	})
	if err != nil {
		a.templateError(w, r, "Template not created", err)
		return
	}
	a.renderTemplates(w, r, http.StatusOK, &notice{"ok", "Created template " + strconv.Quote(t.Name) +
		". Reference it from a new integration version on the Integrations page."})
}

func (a *App) updateTemplate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cur, err := a.host.Templates().GetTemplate(ctx, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, http.StatusNotFound, "There is no such template.", nil)
		return
	}
	if err != nil {
		a.fail(w, r, http.StatusInternalServerError, "The template could not be read.", err)
		return
	}
	typ, ok := a.connectionType(cur.Component, cur.Type)
	if !ok {
		a.fail(w, r, http.StatusInternalServerError, "The template's connection type is not registered.", nil)
		return
	}
	if len(cur.Secrets) > 0 {
		// Secrets are never shown, so an update must say them again.
		for _, k := range cur.Secrets {
			if strings.TrimSpace(r.PostFormValue("f."+k)) == "" {
				a.renderTemplates(w, r, http.StatusUnprocessableEntity, &notice{"error",
					"Template not updated: type its secret fields again (they are never shown)."})
				return
			}
		}
	}
	_, err = a.host.Templates().UpdateTemplate(ctx, cur.ID, tpl.TemplateSpec{
		Name: strings.TrimSpace(r.PostFormValue("name")), Component: cur.Component, Type: typ, Values: templateValues(r, typ),
	})
	if err != nil {
		a.templateError(w, r, "Template not updated", err)
		return
	}
	a.renderTemplates(w, r, http.StatusOK, &notice{"ok", "Updated template " + strconv.Quote(cur.Name) + "."})
}

func (a *App) templateError(w http.ResponseWriter, r *http.Request, what string, err error) {
	msg := what + ": " + err.Error()
	switch {
	case errors.Is(err, tpl.ErrTemplateLocked):
		msg = what + ": it is locked because a published integration version references it. Create a new template instead."
	case errors.Is(err, connection.ErrInvalid):
	default:
		a.fail(w, r, http.StatusInternalServerError, what+".", err)
		return
	}
	a.renderTemplates(w, r, http.StatusUnprocessableEntity, &notice{"error", msg})
}

// Integration versions -------------------------------------------------------

func (a *App) newVersion(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.PathValue("id") != IntegrationID {
		a.fail(w, r, http.StatusNotFound, "There is no such integration.", nil)
		return
	}
	t, err := a.host.Templates().GetTemplate(ctx, r.PostFormValue("template"))
	if err != nil || t.Component != a.component.Key {
		a.renderHome(w, r, http.StatusUnprocessableEntity, &notice{"error", "Choose a Demo Cloud template for the new version."})
		return
	}
	n, err := a.catalog.add(ctx, IntegrationID, t.ID, time.Now())
	if err == nil {
		err = a.registerVersion(ctx, version{Integration: IntegrationID, Version: n, Template: t.ID})
	}
	if err != nil {
		a.fail(w, r, http.StatusInternalServerError, "The version could not be created.", err)
		return
	}
	a.renderHome(w, r, http.StatusOK, &notice{"ok", fmt.Sprintf("Created draft version %d referencing template %q. Publish it to deploy it; publishing locks the template.", n, t.Name)})
}

func (a *App) publishVersion(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("version"))
	if r.PathValue("id") != IntegrationID || err != nil {
		a.fail(w, r, http.StatusNotFound, "There is no such integration version.", nil)
		return
	}
	if err := a.publish(r.Context(), n); err != nil {
		if errors.Is(err, tpl.ErrUnknownIntegration) || errors.Is(err, store.ErrNotFound) || errors.Is(err, connection.ErrInvalid) {
			a.renderHome(w, r, http.StatusUnprocessableEntity, &notice{"error", "Not published: " + err.Error()})
			return
		}
		a.fail(w, r, http.StatusInternalServerError, "The version could not be published.", err)
		return
	}
	a.renderHome(w, r, http.StatusOK, &notice{"ok", fmt.Sprintf("Published version %d; its template is now locked.", n)})
}

// Settings -------------------------------------------------------------------

type settingsPage struct {
	layout
	Egress                           string
	Direct                           bool
	Addresses                        []string
	CallbackURL, ProviderURL, APIURL string
	Store, KeySource                 string
	KeyID                            uint32
}

func (a *App) settings(w http.ResponseWriter, r *http.Request) {
	eg := a.host.Egress()
	p := &settingsPage{layout: layout{Title: "Settings", Nav: "settings"},
		Egress: eg.String(), Direct: eg.Proxy == nil && !eg.LocalAddr.IsValid(),
		CallbackURL: a.opts.BaseURL + CallbackPath, ProviderURL: a.opts.BaseURL + ProviderPath, APIURL: a.opts.BaseURL + APIPath,
		Store: a.storeDesc, KeySource: a.opts.KeySource, KeyID: a.opts.Key.ID()}
	if p.KeySource == "" {
		p.KeySource = "the host's configuration"
	}
	if p.Direct {
		p.Addresses = localAddresses()
	}
	a.render(w, r, http.StatusOK, "settings", p)
}

// localAddresses lists this machine's non-loopback unicast addresses: where
// direct outbound connections leave from (before any NAT).
func localAddresses() []string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() || ipn.IP.IsMulticast() {
			continue
		}
		out = append(out, ipn.IP.String())
	}
	return out
}
