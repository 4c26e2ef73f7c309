package template

import (
	"context"
	"fmt"

	"github.com/connkit/connkit/connection"
)

// View is what one audience sees of a connection config variable or of one
// connection: plain data a host renders as a form or encodes as JSON. A View
// never holds a secret value (a secret field only says whether it is set) and
// never a field the variable's template fills.
type View struct {
	// Audience is who the view is for.
	Audience Audience `json:"audience"`
	// Ref and Instance identify the connection; nil in the builder view.
	Ref      *connection.Ref      `json:"ref,omitempty"`
	Instance *connection.Instance `json:"instance,omitempty"`
	// Variable is the connection config variable's key.
	Variable string `json:"variable"`
	// Type and TypeLabel name the connection type; Description says what it
	// is for.
	Type        string `json:"type"`
	TypeLabel   string `json:"typeLabel"`
	Description string `json:"description,omitempty"`
	// Level is the variable's level.
	Level connection.Level `json:"level"`
	// Template is the id of the template the variable references; builder
	// view only.
	Template string `json:"template,omitempty"`
	// OAuth2 reports whether the type uses OAuth 2.0 (the form then offers
	// CONNECT and DISCONNECT).
	OAuth2 bool `json:"oauth2,omitempty"`
	// ConnectionID, Health and Connected describe the stored connection;
	// empty in the builder view and before any value is stored. Connected
	// reports whether an OAuth 2.0 token set is stored.
	ConnectionID string            `json:"connectionId,omitempty"`
	Health       connection.Health `json:"health,omitzero"`
	Connected    bool              `json:"connected,omitempty"`
	// Fields are the fields the audience sees, in the type's order.
	Fields []FieldView `json:"fields"`
}

// Field returns the field with the given key.
func (v *View) Field(key string) (FieldView, bool) {
	for _, f := range v.Fields {
		if f.Key == key {
			return f, true
		}
	}
	return FieldView{}, false
}

// FieldView is one field of a [View].
type FieldView struct {
	// Key is the field's key, the name to set its value under.
	Key string `json:"key"`
	// Label is the field's label as the type shows it (after any renaming).
	Label string `json:"label"`
	// Kind says which form control fits the field.
	Kind connection.Kind `json:"kind"`
	// Required fields must have a value for the connection to validate.
	Required bool `json:"required,omitempty"`
	// Secret fields never show a value, only whether one is set; the
	// control should be write-only.
	Secret bool `json:"secret,omitempty"`
	// Placeholder, Example and Comments help people fill the field in.
	Placeholder string `json:"placeholder,omitempty"`
	Example     string `json:"example,omitempty"`
	Comments    string `json:"comments,omitempty"`
	// Choices are the allowed values of a choice field.
	Choices []string `json:"choices,omitempty"`
	// Visibility is the field's visibility; builder and host views only.
	Visibility connection.Visibility `json:"visibility,omitempty"`
	// Value is the current value of a non-secret field: in the builder view
	// its default, otherwise its effective value. Always empty for secrets.
	Value string `json:"value,omitempty"`
	// Set reports whether the field has a value (in the builder view: a
	// default); the only thing a view says about a secret.
	Set bool `json:"set"`
	// Source is where the current value comes from.
	Source connection.Source `json:"source,omitempty"`
}

func fieldView(f connection.Field) FieldView {
	return FieldView{
		Key: f.Key, Label: f.DisplayLabel(), Kind: f.Kind, Required: f.Required, Secret: f.IsSecret(),
		Placeholder: f.Placeholder, Example: f.Example, Comments: f.Comments,
		Choices: append([]string(nil), f.Choices...),
	}
}

// withValue fills Value (non-secret only), Set and Source.
func (fv *FieldView) withValue(s string, from connection.Source) {
	fv.Set = s != ""
	if fv.Set {
		fv.Source = from
	}
	if fv.Set && !fv.Secret {
		fv.Value = s
	}
}

// BuilderView returns what the integration builder sees of variable v: every
// field of its type except those its template fills, with each field's
// visibility and current default (variable default, else type default).
// Secret defaults are write-only: only whether one is set is shown. v is
// declared and validated first (*[connection.ValidationError]); a template it
// references must exist and fit it.
func (m *Manager) BuilderView(ctx context.Context, v connection.Variable) (*View, error) {
	c := v.Clone()
	if ps := declareVariable(&c); len(ps) > 0 {
		return nil, &connection.ValidationError{Subject: fmt.Sprintf("variable %q", v.Key), Problems: ps}
	}
	tpl, err := m.loadTemplate(ctx, &c)
	if err != nil {
		return nil, err
	}
	view := baseView(AudienceBuilder, &c)
	view.Template = c.Template
	for _, f := range c.Type.Fields {
		if tpl.Has(f.Key) {
			continue
		}
		fv := fieldView(f)
		fv.Visibility = c.VisibilityOf(f.Key)
		if d := c.Defaults.String(f.Key); d != "" {
			fv.withValue(d, connection.SourceVariableDefault)
		} else {
			fv.withValue(f.Default, connection.SourceTypeDefault)
		}
		view.Fields = append(view.Fields, fv)
	}
	return view, nil
}

// CustomerView returns what the customer sees of the connection at ref: only
// Customer fields (never Embedded, Hidden or template-filled ones), with
// labels, kind, required, placeholder, example and comments, and the current
// value of non-secret fields. Secrets only say whether they are set.
func (m *Manager) CustomerView(ctx context.Context, ref connection.Ref) (*View, error) {
	return m.connectionView(ctx, ref, AudienceCustomer)
}

// HostView returns what the host application sees of the connection at ref:
// Customer and Embedded fields (never Hidden or template-filled ones) with
// their visibility and the current value of non-secret fields. Secrets only
// say whether they are set.
func (m *Manager) HostView(ctx context.Context, ref connection.Ref) (*View, error) {
	return m.connectionView(ctx, ref, AudienceHost)
}

func (m *Manager) connectionView(ctx context.Context, ref connection.Ref, audience Audience) (*View, error) {
	res, rec, err := m.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	v := &res.Variable
	view := baseView(audience, v)
	view.Ref = &res.Ref
	view.Instance = &res.Instance
	view.ConnectionID = res.ConnectionID
	view.Health = res.Health
	view.Connected = rec != nil && rec.Token != nil
	for _, f := range v.Type.Fields {
		vis := v.VisibilityOf(f.Key)
		if res.Sources[f.Key] == connection.SourceTemplate || !visibleTo(audience, vis) {
			continue
		}
		fv := fieldView(f)
		if audience == AudienceHost {
			fv.Visibility = vis
		}
		fv.withValue(res.Values.String(f.Key), res.Sources[f.Key])
		view.Fields = append(view.Fields, fv)
	}
	return view, nil
}

// visibleTo reports whether a field of the given visibility is shown to (and
// settable by) the audience in a connection view.
func visibleTo(audience Audience, vis connection.Visibility) bool {
	switch vis {
	case connection.Customer:
		return true
	case connection.Embedded:
		return audience == AudienceHost
	}
	return false
}

func baseView(audience Audience, v *connection.Variable) *View {
	return &View{
		Audience: audience, Variable: v.Key,
		Type: v.Type.Key, TypeLabel: v.Type.DisplayLabel(), Description: v.Type.Description,
		Level: v.Level, OAuth2: v.Type.IsOAuth2(),
		Fields: []FieldView{},
	}
}
