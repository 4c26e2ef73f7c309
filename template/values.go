package template

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

// Audience is who looks at or sets a connection's values.
type Audience string

// The audiences.
const (
	// AudienceBuilder is whoever designs the integration (an organization
	// member, or a customer in an embedded designer). The builder sets
	// defaults and visibilities in the variable itself, not through an
	// instance, so [Manager.SetValues] refuses this audience.
	AudienceBuilder Audience = "builder"
	// AudienceCustomer is the customer who deployed the instance. The
	// customer sets Customer fields only.
	AudienceCustomer Audience = "customer"
	// AudienceHost is the host application acting programmatically. The
	// host sets Customer and Embedded fields.
	AudienceHost Audience = "host"
)

// The reasons a field is refused by [Manager.SetValues], as found in the
// Reason of a [connection.FieldError]. Compare a problem's Reason with these
// constants to tell the cases apart; a value failing its field's kind or
// rule has the reason the connection package gives instead.
const (
	ReasonUnknown      = "unknown: the connection type has no such field"
	ReasonHidden       = "hidden: only a default or a template sets it"
	ReasonEmbeddedOnly = "embedded-only: only the host application sets it"
	ReasonFromTemplate = "from template: the connection template fills it"
)

// healthIncomplete is the Health.Reason of a non-OAuth connection whose
// values do not validate yet.
const healthIncomplete = "values incomplete or invalid"

// EventValuesSet is the Event of the connection log entry SetValues writes.
const EventValuesSet = "values_set"

// SetValues sets instance values of the connection at ref on behalf of an
// audience, all or nothing:
//
//   - AudienceCustomer may set Customer fields; AudienceHost Customer and
//     Embedded fields; nobody sets Hidden fields, fields the variable's
//     template fills, or fields the type does not have. Other audiences
//     are [ErrAudience].
//   - Each non-empty value must satisfy its field's kind and rule. An empty
//     value removes the instance's value, so lower layers show through.
//   - Every refused field is reported at once in a
//     *[connection.ValidationError] naming its key and why (see
//     [ReasonHidden], [ReasonEmbeddedOnly], [ReasonFromTemplate],
//     [ReasonUnknown]); a refused request writes nothing.
//
// Accepted values are written to the connection's record (created with a
// new stable id when absent) with compare-and-swap, retrying after a
// concurrent write. Secret values are sealed bound to the connection id and
// field; each value records its source (SourceCustomer or SourceHost). For a
// type without OAuth 2.0, the connection's health becomes
// [connection.StatusConfigured] (yellow) when the resolved values validate
// (it keeps its Since when already configured), and the zero status with a
// reason when they do not; an OAuth 2.0 connection's health is left to the
// OAuth flow. A log entry with [EventValuesSet] naming the fields (never
// their values) is appended.
func (m *Manager) SetValues(ctx context.Context, ref connection.Ref, audience Audience, values connection.Values) error {
	var from connection.Source
	switch audience {
	case AudienceCustomer:
		from = connection.SourceCustomer
	case AudienceHost:
		from = connection.SourceHost
	default:
		return fmt.Errorf("%w: %q", ErrAudience, audience)
	}
	t, err := m.lookup(ctx, ref)
	if err != nil {
		return err
	}
	tpl, err := m.loadTemplate(ctx, t.v)
	if err != nil {
		return err
	}
	if err := checkSettable(t.v, tpl, audience, values); err != nil {
		return err
	}
	if values.Len() == 0 {
		return nil
	}
	for attempt := 0; ; attempt++ {
		rec, err := m.st.GetConnection(ctx, ref)
		switch {
		case errors.Is(err, store.ErrNotFound):
			rec = &store.Connection{ID: store.NewID(), Ref: ref}
		case err != nil:
			return fmt.Errorf("template: connection %s: %w", ref, err)
		}
		if err := m.apply(t, tpl, rec, values, from); err != nil {
			return err
		}
		_, err = m.st.PutConnection(ctx, rec)
		if errors.Is(err, store.ErrConflict) && attempt+1 < m.attempts {
			m.log.DebugContext(ctx, "template: connection write lost a race; retrying",
				slog.String("connection", ref.String()), slog.Int("attempt", attempt+1))
			continue
		}
		if err != nil {
			return fmt.Errorf("template: write connection %s: %w", ref, err)
		}
		m.appendLog(ctx, rec.ID, audience, values.Keys())
		return nil
	}
}

// checkSettable reports every field of values the audience may not set or
// whose value fails its field's rule.
func checkSettable(v *connection.Variable, tpl connection.Values, audience Audience, values connection.Values) error {
	var problems []connection.FieldError
	for _, k := range values.Keys() {
		f, ok := v.Type.Field(k)
		if !ok {
			problems = append(problems, connection.FieldError{Key: k, Reason: ReasonUnknown})
			continue
		}
		reason := ""
		switch {
		case tpl.Has(k):
			reason = ReasonFromTemplate
		case v.VisibilityOf(k) == connection.Hidden:
			reason = ReasonHidden
		case v.VisibilityOf(k) == connection.Embedded && audience != AudienceHost:
			reason = ReasonEmbeddedOnly
		}
		if reason != "" {
			problems = append(problems, connection.FieldError{Key: k, Label: f.DisplayLabel(), Reason: reason})
			continue
		}
		problems = append(problems, problemsOf(f.ValidateValue(values.String(k)))...)
	}
	if len(problems) > 0 {
		return &connection.ValidationError{Subject: fmt.Sprintf("values of variable %q", v.Key), Problems: problems}
	}
	return nil
}

// apply writes values into rec (sealing secrets with rec.ID) and updates
// its health.
func (m *Manager) apply(t *target, tpl connection.Values, rec *store.Connection, values connection.Values, from connection.Source) error {
	rec.Ref = t.ref
	if rec.Values == nil {
		rec.Values = map[string]string{}
	}
	if rec.Secrets == nil {
		rec.Secrets = map[string][]byte{}
	}
	if rec.Sources == nil {
		rec.Sources = map[string]connection.Source{}
	}
	for _, k := range values.Keys() {
		f, _ := t.v.Type.Field(k)
		s := values.String(k)
		delete(rec.Values, k)
		delete(rec.Secrets, k)
		delete(rec.Sources, k)
		switch {
		case s == "":
			continue
		case f.IsSecret():
			sealed, err := m.seal(s, "connection", rec.ID, k)
			if err != nil {
				return err
			}
			rec.Secrets[k] = sealed
		default:
			rec.Values[k] = s
		}
		rec.Sources[k] = from
	}
	if t.v.Type.IsOAuth2() {
		return nil
	}
	inst, err := m.openRecord(rec)
	if err != nil {
		return err
	}
	vals, _ := effective(t.v, tpl, inst, rec.Sources)
	next := connection.Health{Status: connection.StatusConfigured}
	if t.v.Type.ValidateValues(vals) != nil {
		next = connection.Health{Reason: healthIncomplete}
	}
	if next.Status != rec.Health.Status || next.Reason != rec.Health.Reason {
		next.Since = m.now()
		rec.Health = next
	}
	return nil
}

// appendLog records that values were set; a failure is logged, not
// returned, since the values are already written.
func (m *Manager) appendLog(ctx context.Context, connID string, audience Audience, keys []string) {
	e := &store.LogEntry{
		ConnectionID: connID,
		Level:        slog.LevelInfo,
		Event:        EventValuesSet,
		Message:      "connection values set by the " + string(audience),
		Attrs:        map[string]string{"audience": string(audience), "fields": strings.Join(keys, ",")},
	}
	if _, err := m.st.AppendLog(ctx, e); err != nil {
		m.log.WarnContext(ctx, "template: append connection log", slog.String("connection", connID), slog.Any("error", err))
	}
}
