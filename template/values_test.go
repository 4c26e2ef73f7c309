package template_test

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/template"
)

// TestSetValuesAudienceRules: who may set which field, every refused field
// reported with its reason, and a refused request writes nothing.
func TestSetValuesAudienceRules(t *testing.T) {
	cases := []struct {
		name     string
		oauth    bool // the OAuth variable (template fills clientId and clientSecret)
		audience template.Audience
		values   []string
		refused  map[string]string // key -> reason; empty means accepted
	}{
		{"customer sets customer fields", false, template.AudienceCustomer,
			[]string{"host", "eu.acme.test", "account", "A-1", "apiKey", sentinel}, nil},
		{"customer sets an embedded field", false, template.AudienceCustomer,
			[]string{"tenant", "t1"}, map[string]string{"tenant": template.ReasonEmbeddedOnly}},
		{"customer sets an embedded secret", false, template.AudienceCustomer,
			[]string{"signing", sentinel}, map[string]string{"signing": template.ReasonEmbeddedOnly}},
		{"host sets customer and embedded fields", false, template.AudienceHost,
			[]string{"tenant", "t1", "signing", sentinel, "account", "A-2"}, nil},
		{"customer sets a hidden field", false, template.AudienceCustomer,
			[]string{"internal", "true"}, map[string]string{"internal": template.ReasonHidden}},
		{"host sets a hidden field", false, template.AudienceHost,
			[]string{"internal", "true"}, map[string]string{"internal": template.ReasonHidden}},
		{"customer sets a template field", true, template.AudienceCustomer,
			[]string{connection.FieldClientID, "mine"}, map[string]string{connection.FieldClientID: template.ReasonFromTemplate}},
		{"host sets a template secret", true, template.AudienceHost,
			[]string{connection.FieldClientSecret, sentinel}, map[string]string{connection.FieldClientSecret: template.ReasonFromTemplate}},
		{"customer sets an unknown field", false, template.AudienceCustomer,
			[]string{"nope", "x"}, map[string]string{"nope": template.ReasonUnknown}},
		{"customer sets a value failing its rule", false, template.AudienceCustomer,
			[]string{"host", "not a host name!"}, map[string]string{"host": "*rule*"}},
		{"host sets an embedded OAuth field", true, template.AudienceHost,
			[]string{connection.FieldScopes, "read"}, nil},
		{"customer sets an embedded OAuth field", true, template.AudienceCustomer,
			[]string{connection.FieldScopes, "read"}, map[string]string{connection.FieldScopes: template.ReasonEmbeddedOnly}},
		{"mixed good and bad", false, template.AudienceCustomer,
			[]string{"account", "good", "tenant", "t", "internal", "true", "nope", "x", "host", "bad host!", "apiKey", sentinel},
			map[string]string{"tenant": template.ReasonEmbeddedOnly, "internal": template.ReasonHidden,
				"nope": template.ReasonUnknown, "host": "*rule*"}},
		{"mixed for the host", true, template.AudienceHost,
			[]string{connection.FieldScopes, "read", connection.FieldClientID, "x", "bogus", "y"},
			map[string]string{connection.FieldClientID: template.ReasonFromTemplate, "bogus": template.ReasonUnknown}},
	}
	testAll(t, func(t *testing.T, e *env) {
		for _, tc := range cases {
			for _, existing := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/existing=%v", tc.name, existing), func(t *testing.T) {
					fx := e.fixture(t)
					ref := fx.api
					if tc.oauth {
						ref = fx.oauth
					}
					if existing && tc.oauth {
						e.set(t, ref, template.AudienceCustomer, connection.FieldAuthorizeURL, "https://a.acme.test/x")
					} else if existing {
						e.set(t, ref, template.AudienceCustomer, "region", "us")
					}
					before := e.record(t, ref)
					err := e.m.SetValues(e.ctx, ref, tc.audience, values(tc.values...))
					after := e.record(t, ref)
					if len(tc.refused) > 0 {
						checkRefused(t, err, tc.refused)
						if diff := cmp.Diff(before, after); diff != "" {
							t.Errorf("a refused request changed the record (-before +after):\n%s", diff)
						}
						return
					}
					if err != nil {
						t.Fatalf("SetValues: %v", err)
					}
					checkWritten(t, e, after, tc.audience, tc.values)
				})
			}
		}
		t.Run("builder may not set values", func(t *testing.T) {
			fx := e.fixture(t)
			for _, a := range []template.Audience{template.AudienceBuilder, "", "admin"} {
				if err := e.m.SetValues(e.ctx, fx.api, a, values("account", "x")); !errors.Is(err, template.ErrAudience) {
					t.Errorf("SetValues as %q = %v, want ErrAudience", a, err)
				}
			}
		})
	})
}

func checkRefused(t *testing.T, err error, refused map[string]string) {
	t.Helper()
	var ve *connection.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, connection.ErrInvalid) {
		t.Fatalf("SetValues = %v, want a *ValidationError", err)
	}
	got := map[string]string{}
	for _, p := range ve.Problems {
		if _, dup := got[p.Key]; dup {
			t.Errorf("field %q reported twice", p.Key)
		}
		got[p.Key] = p.Reason
	}
	for k, reason := range refused {
		if reason == "*rule*" && got[k] != "" && got[k] != template.ReasonUnknown && got[k] != template.ReasonHidden &&
			got[k] != template.ReasonEmbeddedOnly && got[k] != template.ReasonFromTemplate {
			got[k] = reason // a rule failure; its wording is the connection package's
		}
	}
	if diff := cmp.Diff(refused, got); diff != "" {
		t.Errorf("refused fields (-want +got):\n%s", diff)
	}
	if bytes.Contains([]byte(err.Error()), []byte(sentinel)) {
		t.Errorf("error holds a secret value: %v", err)
	}
}

// checkWritten checks the stored record after an accepted request: each
// value with its source, secrets sealed and bound to the connection.
func checkWritten(t *testing.T, e *env, rec *store.Connection, a template.Audience, kv []string) {
	t.Helper()
	if rec == nil {
		t.Fatal("no record written")
	}
	by := connection.SourceCustomer
	if a == template.AudienceHost {
		by = connection.SourceHost
	}
	for i := 0; i < len(kv); i += 2 {
		k, v := kv[i], kv[i+1]
		if rec.Sources[k] != by {
			t.Errorf("source of %s = %q, want %q", k, rec.Sources[k], by)
		}
		if v != sentinel {
			if rec.Values[k] != v {
				t.Errorf("stored %s = %q, want %q", k, rec.Values[k], v)
			}
			continue
		}
		if _, plain := rec.Values[k]; plain {
			t.Errorf("secret %s stored in plain values", k)
		}
		env := rec.Secrets[k]
		if len(env) == 0 || bytes.Contains(env, []byte(sentinel)) {
			t.Fatalf("secret %s not sealed: %d bytes", k, len(env))
		}
		got, err := e.ring.Open(env, store.AssociatedData("connection", rec.ID, k))
		if err != nil || string(got) != sentinel {
			t.Errorf("sealed %s does not open to the value with its connection's associated data: %v", k, err)
		}
		if _, err := e.ring.Open(env, store.AssociatedData("connection", rec.ID, "other")); !errors.Is(err, store.ErrSealed) {
			t.Errorf("sealed %s opens for another field: %v", k, err)
		}
	}
}

// record returns the stored connection at ref, or nil.
func (e *env) record(t *testing.T, ref connection.Ref) *store.Connection {
	t.Helper()
	rec, err := e.st.GetConnection(e.ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatalf("GetConnection: %v", err)
	}
	return rec
}

// TestSetValuesEmptyClears: an empty value removes the instance's value, so
// the default shows through again.
func TestSetValuesEmptyClears(t *testing.T) {
	testAll(t, func(t *testing.T, e *env) {
		fx := e.fixture(t)
		e.set(t, fx.api, template.AudienceCustomer, "region", "us", "apiKey", sentinel)
		if res := e.resolve(t, fx.api); res.Values.String("region") != "us" || res.Sources["region"] != connection.SourceCustomer {
			t.Fatalf("region = %q from %q, want the customer's us", res.Values.String("region"), res.Sources["region"])
		}
		e.set(t, fx.api, template.AudienceCustomer, "region", "", "apiKey", "")
		res := e.resolve(t, fx.api)
		if res.Values.String("region") != "eu" || res.Sources["region"] != connection.SourceVariableDefault {
			t.Errorf("after clearing, region = %q from %q, want the variable default eu", res.Values.String("region"), res.Sources["region"])
		}
		if res.Values.Has("apiKey") {
			t.Errorf("cleared secret still resolves")
		}
		rec := e.record(t, fx.api)
		if _, ok := rec.Secrets["apiKey"]; ok || rec.Sources["region"] != "" {
			t.Errorf("cleared values still stored: secrets %v, sources %v", len(rec.Secrets), rec.Sources)
		}
	})
}

// TestSetValuesHealthAndLog: a non-OAuth connection turns configured (yellow)
// when its values validate and keeps the time it did so; an OAuth 2.0
// connection's health is left alone; each write is logged by field name.
func TestSetValuesHealthAndLog(t *testing.T) {
	testAll(t, func(t *testing.T, e *env) {
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		e.m = template.New(e.st, e.ring, template.Options{Now: func() time.Time { return now }})
		fx := e.fixture(t)

		e.set(t, fx.api, template.AudienceCustomer, "account", "A-1")
		if h := e.record(t, fx.api).Health; h.Status != "" || h.Reason == "" {
			t.Errorf("incomplete connection health = %+v, want no status with a reason", h)
		}
		e.set(t, fx.api, template.AudienceCustomer, "apiKey", sentinel)
		configuredAt := now
		if h := e.record(t, fx.api).Health; h.Status != connection.StatusConfigured || !h.Since.Equal(configuredAt) {
			t.Errorf("health = %+v, want configured since %v", h, configuredAt)
		}
		now = now.Add(time.Hour)
		e.set(t, fx.api, template.AudienceHost, "tenant", "t1")
		if h := e.record(t, fx.api).Health; h.Status != connection.StatusConfigured || !h.Since.Equal(configuredAt) {
			t.Errorf("health after another valid write = %+v, want configured since %v", h, configuredAt)
		}
		if got := e.resolve(t, fx.api).Health.Status.Color(); got != "yellow" {
			t.Errorf("resolved health color = %q, want yellow", got)
		}

		e.set(t, fx.oauth, template.AudienceCustomer, connection.FieldAuthorizeURL, "https://a.acme.test/authorize")
		if h := e.record(t, fx.oauth).Health; h != (connection.Health{}) {
			t.Errorf("OAuth connection health = %+v, want it untouched", h)
		}

		rec := e.record(t, fx.api)
		logs, err := e.st.ListLogs(e.ctx, rec.ID, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range logs {
			if l.Event != template.EventValuesSet {
				t.Errorf("log event %q, want %q", l.Event, template.EventValuesSet)
			}
			got = append(got, l.Attrs["audience"]+":"+l.Attrs["fields"])
			if bytes.Contains(fmt.Appendf(nil, "%+v", l), []byte(sentinel)) {
				t.Errorf("log entry holds a secret value")
			}
		}
		want := []string{"host:tenant", "customer:apiKey", "customer:account"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("log entries, newest first (-want +got):\n%s", diff)
		}
	})
}

// TestSetValuesConcurrent: writers racing on one new connection each set
// their own field; compare-and-swap with re-reads loses none of them and
// creates the connection once.
func TestSetValuesConcurrent(t *testing.T) {
	const writers = 8
	testAll(t, func(t *testing.T, e *env) {
		var fields []connection.Field
		for i := range writers {
			fields = append(fields, connection.Field{Key: "f" + strconv.Itoa(i), Secret: i%2 == 0})
		}
		typ := connection.MustDeclare(connection.Type{Key: "many", Fields: fields})
		in := template.Integration{ID: e.id("int"), Version: 1, Variables: []connection.Variable{{Key: "v", Type: typ}}}
		e.register(t, in)
		inst := e.deploy(t, in.ID, 1)
		ref := connection.Ref{InstanceID: inst.ID, Variable: "v"}
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for i := range writers {
			wg.Go(func() {
				errs[i] = e.m.SetValues(e.ctx, ref, template.AudienceCustomer, values("f"+strconv.Itoa(i), "v"+strconv.Itoa(i)))
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
		}
		res := e.resolve(t, ref)
		for i := range writers {
			if got := res.Values.String("f" + strconv.Itoa(i)); got != "v"+strconv.Itoa(i) {
				t.Errorf("f%d = %q, want v%d", i, got, i)
			}
		}
		if res.Revision != writers {
			t.Errorf("revision = %d, want %d (one per write)", res.Revision, writers)
		}
	})
}
