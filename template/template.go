package template

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

// TemplateSpec describes a connection template to create or the new contents
// of one to update.
type TemplateSpec struct {
	// Name is the template's display name; required.
	Name string
	// Component is the component whose connection type the template is for;
	// required.
	Component string
	// Type is the connection type (as declared by the component). The
	// template stores its key; its fields validate Values.
	Type connection.Type
	// Values fill a subset of the type's fields. Each must be non-empty,
	// belong to the type and satisfy the field's kind and rule. Values of
	// secret fields are sealed before they reach the store.
	Values connection.Values
}

// Template is a view of a stored connection template. It never holds a
// secret value: secret fields the template fills are only listed in Secrets.
type Template struct {
	// ID is the template's id, which variables reference.
	ID string `json:"id"`
	// Name is the template's display name.
	Name string `json:"name"`
	// Component is the component whose connection type it is for.
	Component string `json:"component"`
	// Type is the key of the connection type the template is for.
	Type string `json:"type"`
	// Values are the non-secret values the template fills.
	Values map[string]string `json:"values,omitempty"`
	// Secrets are the keys of the secret fields the template fills, sorted.
	Secrets []string `json:"secrets,omitempty"`
	// PinnedBy lists the published integration versions that reference the
	// template; a pinned template is locked.
	PinnedBy []store.Version `json:"pinnedBy,omitempty"`
	// Revision is the stored record's revision.
	Revision int64 `json:"revision"`
	// CreatedAt and UpdatedAt are the store's stamps.
	CreatedAt time.Time `json:"createdAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// Fields returns the keys of every field the template fills, sorted.
func (t *Template) Fields() []string {
	keys := slices.Collect(maps.Keys(t.Values))
	keys = append(keys, t.Secrets...)
	slices.Sort(keys)
	return slices.Compact(keys)
}

// Locked reports whether a published integration version pins the template.
func (t *Template) Locked() bool { return len(t.PinnedBy) > 0 }

// CreateTemplate checks spec and stores a new template with a new id. Every
// problem (a missing name or component, an invalid type, a value for a field
// the type does not have, an empty value, a value failing its field's kind or
// rule) is reported at once in a *[connection.ValidationError].
func (m *Manager) CreateTemplate(ctx context.Context, spec TemplateSpec) (*Template, error) {
	id := store.NewID()
	rec, err := m.templateRecord(id, spec)
	if err != nil {
		return nil, err
	}
	if _, err := m.st.PutTemplate(ctx, rec); err != nil {
		return nil, fmt.Errorf("template: create template: %w", err)
	}
	return m.GetTemplate(ctx, id)
}

// UpdateTemplate replaces the name and values of template id with those of
// spec, checked as [Manager.CreateTemplate] checks them. spec's Component and
// Type key must be the template's own. A template pinned by a published
// integration version is [ErrTemplateLocked]: make a new template instead.
// An absent template is [ErrNotFound].
func (m *Manager) UpdateTemplate(ctx context.Context, id string, spec TemplateSpec) (*Template, error) {
	for attempt := 0; ; attempt++ {
		cur, err := m.st.GetTemplate(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("template: update template %q: %w", id, err)
		}
		var mismatch []connection.FieldError
		if spec.Component != cur.Component {
			mismatch = append(mismatch, connection.FieldError{Key: "component",
				Reason: fmt.Sprintf("a template's component cannot change (it is %q)", cur.Component)})
		}
		if spec.Type.Key != cur.Type {
			mismatch = append(mismatch, connection.FieldError{Key: "type",
				Reason: fmt.Sprintf("a template's type cannot change (it is %q)", cur.Type)})
		}
		if len(mismatch) > 0 {
			return nil, &connection.ValidationError{Subject: fmt.Sprintf("template %q", id), Problems: mismatch}
		}
		rec, err := m.templateRecord(id, spec)
		if err != nil {
			return nil, err
		}
		rec.Revision = cur.Revision
		rec.CreatedAt = cur.CreatedAt
		_, err = m.st.PutTemplate(ctx, rec)
		if errors.Is(err, store.ErrConflict) && attempt+1 < m.attempts {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("template: update template %q: %w", id, err)
		}
		return m.GetTemplate(ctx, id)
	}
}

// DeleteTemplate removes an unpinned template. A template pinned by a
// published integration version is [ErrTemplateLocked]; an absent one
// [ErrNotFound].
func (m *Manager) DeleteTemplate(ctx context.Context, id string) error {
	if err := m.st.DeleteTemplate(ctx, id); err != nil {
		return fmt.Errorf("template: delete template %q: %w", id, err)
	}
	return nil
}

// GetTemplate returns a view of a stored template, or [ErrNotFound].
func (m *Manager) GetTemplate(ctx context.Context, id string) (*Template, error) {
	rec, err := m.st.GetTemplate(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("template: template %q: %w", id, err)
	}
	pins, err := m.st.Pins(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("template: template %q: %w", id, err)
	}
	return templateView(rec, pins), nil
}

// ListTemplates returns views of the templates of one component ("" for
// all), ordered by id.
func (m *Manager) ListTemplates(ctx context.Context, component string) ([]*Template, error) {
	recs, err := m.st.ListTemplates(ctx, component)
	if err != nil {
		return nil, fmt.Errorf("template: list templates: %w", err)
	}
	out := make([]*Template, 0, len(recs))
	for _, rec := range recs {
		pins, err := m.st.Pins(ctx, rec.ID)
		if err != nil {
			return nil, fmt.Errorf("template: template %q: %w", rec.ID, err)
		}
		out = append(out, templateView(rec, pins))
	}
	return out, nil
}

func templateView(rec *store.Template, pins []store.Version) *Template {
	t := &Template{
		ID: rec.ID, Name: rec.Name, Component: rec.Component, Type: rec.Type,
		Values:    maps.Clone(rec.Values),
		Secrets:   slices.Sorted(maps.Keys(rec.Secrets)),
		PinnedBy:  slices.Clone(pins),
		Revision:  rec.Revision,
		CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt,
	}
	if len(t.Values) == 0 {
		t.Values = nil
	}
	return t
}

// templateRecord checks spec and builds the record of template id, secret
// values sealed.
func (m *Manager) templateRecord(id string, spec TemplateSpec) (*store.Template, error) {
	var problems []connection.FieldError
	add := func(key, label, reason string) {
		problems = append(problems, connection.FieldError{Key: key, Label: label, Reason: reason})
	}
	if spec.Name == "" {
		add("name", "", "template name is required")
	}
	if spec.Component == "" {
		add("component", "", "component is required")
	}
	typ, err := connection.Declare(spec.Type)
	if err != nil {
		problems = append(problems, prefixed("type.", problemsOf(err))...)
	}
	if len(problems) == 0 && spec.Values.Len() == 0 {
		add("values", "", "a template fills at least one field")
	}
	if err == nil {
		for _, k := range spec.Values.Keys() {
			f, ok := typ.Field(k)
			if !ok {
				add(k, "", "the type has no such field")
				continue
			}
			v := spec.Values.String(k)
			if v == "" {
				add(k, f.DisplayLabel(), "a template value must not be empty")
				continue
			}
			problems = append(problems, problemsOf(f.ValidateValue(v))...)
		}
	}
	if len(problems) > 0 {
		return nil, &connection.ValidationError{Subject: fmt.Sprintf("template %q", spec.Name), Problems: problems}
	}
	rec := &store.Template{ID: id, Name: spec.Name, Component: spec.Component, Type: typ.Key,
		Values: map[string]string{}, Secrets: map[string][]byte{}}
	for _, k := range spec.Values.Keys() {
		f, _ := typ.Field(k)
		if !f.IsSecret() {
			rec.Values[k] = spec.Values.String(k)
			continue
		}
		sealed, err := m.seal(spec.Values.String(k), "template", id, k)
		if err != nil {
			return nil, err
		}
		rec.Secrets[k] = sealed
	}
	return rec, nil
}

// Publish records that a registered integration version is published and
// pins the templates its variables reference, so they can no longer change.
// Before pinning it checks every referenced template: it must exist
// ([ErrNotFound] otherwise), be for the variable's type, fill only fields the
// type has, and no variable default may override a field it fills
// (*[connection.ValidationError] naming the field). Publishing the same
// version again is a no-op.
func (m *Manager) Publish(ctx context.Context, integrationID string, version int) error {
	r := m.registered(integrationID, version)
	if r == nil {
		return fmt.Errorf("%w: %q version %d", ErrUnknownIntegration, integrationID, version)
	}
	var ids []string
	var problems []connection.FieldError
	for i := range r.in.Variables {
		v := &r.in.Variables[i]
		if v.Template == "" {
			continue
		}
		rec, err := m.st.GetTemplate(ctx, v.Template)
		if err != nil {
			return fmt.Errorf("template: publish %q version %d: variable %q references template %q: %w",
				integrationID, version, v.Key, v.Template, err)
		}
		for _, p := range templateProblems(v, rec) {
			p.Key = fmt.Sprintf("variables[%d].%s", i, p.Key)
			problems = append(problems, p)
		}
		ids = append(ids, v.Template)
	}
	if len(problems) > 0 {
		return &connection.ValidationError{
			Subject: fmt.Sprintf("integration %q version %d", integrationID, version), Problems: problems}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if err := m.st.Publish(ctx, store.Version{IntegrationID: integrationID, Version: version}, ids); err != nil {
		return fmt.Errorf("template: publish %q version %d: %w", integrationID, version, err)
	}
	return nil
}

// templateProblems checks that rec fits variable v: same type, only fields
// the type has, and no variable default for a field it fills.
func templateProblems(v *connection.Variable, rec *store.Template) []connection.FieldError {
	var out []connection.FieldError
	if rec.Type != v.Type.Key {
		out = append(out, connection.FieldError{Key: "template",
			Reason: fmt.Sprintf("template %q is for type %q, the variable binds type %q", rec.ID, rec.Type, v.Type.Key)})
		return out
	}
	for _, k := range recordKeys(rec.Values, rec.Secrets) {
		f, ok := v.Type.Field(k)
		if !ok {
			out = append(out, connection.FieldError{Key: "template." + k,
				Reason: fmt.Sprintf("template %q fills a field the type does not have", rec.ID)})
			continue
		}
		if v.Defaults.String(k) != "" {
			out = append(out, connection.FieldError{Key: "defaults." + k, Label: f.DisplayLabel(),
				Reason: fmt.Sprintf("a variable default cannot override a field template %q fills", rec.ID)})
		}
	}
	return out
}

// recordKeys returns the sorted union of the keys of a record's plain and
// sealed values.
func recordKeys(values map[string]string, secrets map[string][]byte) []string {
	keys := slices.Collect(maps.Keys(values))
	keys = append(keys, slices.Collect(maps.Keys(secrets))...)
	slices.Sort(keys)
	return slices.Compact(keys)
}

// seal seals one secret value bound to (kind, owner, field).
func (m *Manager) seal(plaintext, kind, owner, field string) ([]byte, error) {
	if m.sealer == nil {
		return nil, fmt.Errorf("%w (%s %q field %q)", ErrNoSealer, kind, owner, field)
	}
	b, err := m.sealer.Seal([]byte(plaintext), store.AssociatedData(kind, owner, field))
	if err != nil {
		return nil, fmt.Errorf("template: seal %s %q field %q: %w", kind, owner, field, err)
	}
	return b, nil
}

// open opens one sealed value bound to (kind, owner, field).
func (m *Manager) open(envelope []byte, kind, owner, field string) (connection.Secret, error) {
	if m.sealer == nil {
		return connection.Secret{}, fmt.Errorf("%w (%s %q field %q)", ErrNoSealer, kind, owner, field)
	}
	b, err := m.sealer.Open(envelope, store.AssociatedData(kind, owner, field))
	if err != nil {
		return connection.Secret{}, fmt.Errorf("template: open %s %q field %q: %w", kind, owner, field, err)
	}
	return connection.NewSecret(string(b)), nil
}
