package template

import (
	"context"
	"errors"
	"fmt"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

// Resolve computes the effective values of the connection at ref. The
// instance must exist ([ErrNotFound]) and its integration version be
// registered ([ErrUnknownIntegration]); the variable must exist in that
// version ([ErrUnknownVariable], which also matches [ErrNotFound]) and the
// ref must match its level ([ErrLevel]). A template the variable references
// must exist and fit the variable (*[connection.ValidationError] otherwise).
// A connection with no stored record yet resolves from the layers below the
// instance. Resolve does not validate the result: call
// [Resolution.Validate].
func (m *Manager) Resolve(ctx context.Context, ref connection.Ref) (*Resolution, error) {
	res, _, err := m.resolve(ctx, ref)
	return res, err
}

// resolve is Resolve that also returns the stored record (nil when none).
func (m *Manager) resolve(ctx context.Context, ref connection.Ref) (*Resolution, *store.Connection, error) {
	t, err := m.lookup(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	tpl, err := m.loadTemplate(ctx, t.v)
	if err != nil {
		return nil, nil, err
	}
	rec, err := m.st.GetConnection(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		rec, err = nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("template: connection %s: %w", ref, err)
	}
	res, err := m.resolution(t, tpl, rec)
	if err != nil {
		return nil, nil, err
	}
	return res, rec, nil
}

// resolution builds the Resolution of t from an opened template and a stored
// record (nil when none).
func (m *Manager) resolution(t *target, tpl connection.Values, rec *store.Connection) (*Resolution, error) {
	var inst connection.Values
	var src map[string]connection.Source
	res := &Resolution{Ref: t.ref, Instance: t.inst, Variable: t.v.Clone(), Template: t.v.Template}
	if rec != nil {
		var err error
		if inst, err = m.openRecord(rec); err != nil {
			return nil, err
		}
		src = rec.Sources
		res.ConnectionID, res.Revision, res.Health = rec.ID, rec.Revision, rec.Health
		res.Metadata, res.Token = rec.Metadata, rec.Token
	}
	res.Values, res.Sources = effective(t.v, tpl, inst, src)
	return res, nil
}

// loadTemplate reads and opens the template v references, checked against
// v. It returns empty Values when v references none.
func (m *Manager) loadTemplate(ctx context.Context, v *connection.Variable) (connection.Values, error) {
	var out connection.Values
	if v.Template == "" {
		return out, nil
	}
	rec, err := m.st.GetTemplate(ctx, v.Template)
	if err != nil {
		return out, fmt.Errorf("template: variable %q references template %q: %w", v.Key, v.Template, err)
	}
	if ps := templateProblems(v, rec); len(ps) > 0 {
		return out, &connection.ValidationError{
			Subject: fmt.Sprintf("variable %q with template %q", v.Key, v.Template), Problems: ps}
	}
	for k, s := range rec.Values {
		out.Set(k, s)
	}
	for k, env := range rec.Secrets {
		s, err := m.open(env, "template", rec.ID, k)
		if err != nil {
			return connection.Values{}, err
		}
		out.SetSecret(k, s)
	}
	return out, nil
}

// openRecord returns a stored connection's instance values, secrets opened.
func (m *Manager) openRecord(rec *store.Connection) (connection.Values, error) {
	var out connection.Values
	for k, s := range rec.Values {
		out.Set(k, s)
	}
	for k, env := range rec.Secrets {
		s, err := m.open(env, "connection", rec.ID, k)
		if err != nil {
			return connection.Values{}, err
		}
		out.SetSecret(k, s)
	}
	return out, nil
}

// effective applies the precedence rule to one variable's layers:
//
//	type default < template < variable default < instance value
//
// A layer provides a field when it holds a non-empty value. Fields the
// template fills are locked to the template's value; instance values of
// Hidden fields are ignored; keys the type does not have are dropped. src
// gives each instance value's source; a missing or unknown one counts as
// SourceHost.
func effective(v *connection.Variable, tpl, inst connection.Values, src map[string]connection.Source) (connection.Values, map[string]connection.Source) {
	var out connection.Values
	sources := make(map[string]connection.Source, len(v.Type.Fields))
	set := func(key string, s connection.Secret, from connection.Source) {
		out.SetSecret(key, s)
		sources[key] = from
	}
	for _, f := range v.Type.Fields {
		k := f.Key
		switch {
		case tpl.String(k) != "":
			set(k, tpl.Secret(k), connection.SourceTemplate)
		case inst.String(k) != "" && v.VisibilityOf(k) != connection.Hidden:
			from := src[k]
			if from != connection.SourceCustomer && from != connection.SourceHost {
				from = connection.SourceHost
			}
			set(k, inst.Secret(k), from)
		case v.Defaults.String(k) != "":
			set(k, v.Defaults.Secret(k), connection.SourceVariableDefault)
		case f.Default != "":
			set(k, connection.NewSecret(f.Default), connection.SourceTypeDefault)
		}
	}
	return out, sources
}
