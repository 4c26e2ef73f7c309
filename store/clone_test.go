package store_test

import (
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

var cloneTime = time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)

// fullRecords returns one record of each cloneable type with every field set
// (TestCloneFixturesAreFull keeps it that way as fields are added).
func fullRecords() (*store.Connection, *store.Template, *store.PendingAuth, store.LogEntry) {
	c := &store.Connection{
		ID:        "conn-1",
		Ref:       connection.Ref{InstanceID: "inst", Variable: "crm", User: "u1"},
		Values:    map[string]string{"host": "api.example.com", "empty": ""},
		Secrets:   map[string][]byte{"password": []byte("sealed-pw"), "apiKey": []byte("sealed-key"), "none": {}},
		Sources:   map[string]connection.Source{"host": connection.SourceCustomer},
		Token:     &store.Token{Sealed: []byte("sealed-token"), Expiry: cloneTime, Refreshable: true, ObtainedAt: cloneTime},
		Metadata:  map[string]string{"instance_url": "https://eu.example.com"},
		Health:    connection.Health{Status: connection.StatusWorking, Reason: "ok", Since: cloneTime},
		Revision:  3,
		UpdatedAt: cloneTime,
	}
	tp := &store.Template{
		ID: "tpl-1", Name: "CRM app", Component: "crm", Type: "oauth",
		Values:   map[string]string{"scopes": "read"},
		Secrets:  map[string][]byte{"clientSecret": []byte("sealed-cs"), "other": []byte("sealed-o")},
		Revision: 2, CreatedAt: cloneTime, UpdatedAt: cloneTime,
	}
	p := &store.PendingAuth{
		StateHash: "abc", ConnectionID: "conn-1",
		Ref:      connection.Ref{InstanceID: "inst", Variable: "crm", User: "u1"},
		Verifier: []byte("sealed-verifier"), RedirectURI: "https://host/cb", TokenURL: "https://login/token",
		Issuer: "https://login", Data: map[string]string{"user": "u1"},
		CreatedAt: cloneTime, TTL: time.Minute, ExpiresAt: cloneTime.Add(time.Minute),
	}
	e := store.LogEntry{
		ConnectionID: "conn-1", Seq: 7, Time: cloneTime, Level: slog.LevelWarn,
		Event: "refreshed", Message: "refreshed", Attrs: map[string]string{"status": "200"},
	}
	return c, tp, p, e
}

// TestCloneFixturesAreFull: every field of the fixtures is set, so that the
// clone tests below cover a field as soon as it is added to a record.
func TestCloneFixturesAreFull(t *testing.T) {
	c, tp, p, e := fullRecords()
	for _, v := range []any{c, c.Token, tp, p, &e} {
		rv := reflect.ValueOf(v).Elem()
		for i := range rv.NumField() {
			if rv.Field(i).IsZero() {
				t.Errorf("%s.%s is not set in the clone fixture", rv.Type().Name(), rv.Type().Field(i).Name)
			}
		}
	}
}

// TestClone: each Clone equals its original and shares no memory with it:
// changing every map, slice and pointer of the copy leaves the original as it
// was.
func TestClone(t *testing.T) {
	c, tp, p, e := fullRecords()
	cases := []struct {
		name  string
		orig  any
		clone func() any
	}{
		{"Connection", c, func() any { return c.Clone() }},
		{"Connection without token", withoutToken(c), func() any { return withoutToken(c).Clone() }},
		{"Template", tp, func() any { return tp.Clone() }},
		{"PendingAuth", p, func() any { return p.Clone() }},
		{"LogEntry", &e, func() any { cp := e.Clone(); return &cp }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, tc.orig)
			cp := tc.clone()
			if d := cmp.Diff(tc.orig, cp); d != "" {
				t.Fatalf("Clone differs from the original (-orig +clone):\n%s", d)
			}
			scribbleAll(reflect.ValueOf(cp))
			if d := cmp.Diff(before, tc.orig); d != "" {
				t.Errorf("changing the clone changed the original (-before +after):\n%s", d)
			}
		})
	}
}

// withoutToken returns a copy of c without a token (sharing c's maps; it is
// only read).
func withoutToken(c *store.Connection) *store.Connection {
	out := *c
	out.Token = nil
	return &out
}

// snapshot returns an independent copy of v made by a means other than
// Clone: a reflection walk.
func snapshot(t *testing.T, v any) any {
	t.Helper()
	return deepCopy(reflect.ValueOf(v)).Interface()
}

func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type().Elem())
		out.Elem().Set(deepCopy(v.Elem()))
		return out
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v) // unexported fields (time.Time's) are copied as they are
		for i := range v.NumField() {
			if out.Field(i).CanSet() {
				out.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(it.Key(), deepCopy(it.Value()))
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(out, v)
		return out
	}
	return v
}

// scribbleAll changes, in place, every byte of every slice, every map entry
// (and adds one), and every time and string reachable from v through
// pointers, maps and slices.
func scribbleAll(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			scribbleAll(v.Elem())
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(1, 0)))
			return
		}
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				scribbleAll(v.Field(i))
			}
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		for _, k := range v.MapKeys() {
			nv := reflect.New(v.Type().Elem()).Elem()
			nv.Set(v.MapIndex(k))
			scribbleAll(nv)
			v.SetMapIndex(k, nv)
		}
		k := reflect.New(v.Type().Key()).Elem()
		k.SetString("scribbled-key")
		v.SetMapIndex(k, reflect.New(v.Type().Elem()).Elem())
	case reflect.Slice:
		for i := range v.Len() {
			scribbleAll(v.Index(i))
		}
	case reflect.Uint8:
		v.SetUint(v.Uint() ^ 0xa5)
	case reflect.String:
		v.SetString(v.String() + "-scribbled")
	}
}

// TestCloneNilAndEmpty: Clone of nil is nil; nil maps and slices stay nil,
// empty ones stay empty (not nil).
func TestCloneNilAndEmpty(t *testing.T) {
	if (*store.Connection)(nil).Clone() != nil || (*store.Template)(nil).Clone() != nil ||
		(*store.PendingAuth)(nil).Clone() != nil {
		t.Fatal("Clone of a nil record is not nil")
	}
	c := (&store.Connection{ID: "c"}).Clone()
	if c.Values != nil || c.Secrets != nil || c.Sources != nil || c.Metadata != nil || c.Token != nil {
		t.Errorf("Clone of a connection without maps or token = %+v, want them nil", c)
	}
	c = (&store.Connection{
		Values: map[string]string{}, Secrets: map[string][]byte{"e": {}}, Sources: map[string]connection.Source{},
		Metadata: map[string]string{}, Token: &store.Token{Sealed: []byte{}},
	}).Clone()
	if c.Values == nil || c.Sources == nil || c.Metadata == nil || c.Secrets["e"] == nil || c.Token.Sealed == nil {
		t.Errorf("Clone made empty maps or slices nil: %+v (token %+v)", c, c.Token)
	}
	p := (&store.PendingAuth{Verifier: []byte{}}).Clone()
	if p.Verifier == nil || p.Data != nil {
		t.Errorf("PendingAuth.Clone: Verifier %v (want empty, not nil), Data %v (want nil)", p.Verifier, p.Data)
	}
	tp := (&store.Template{}).Clone()
	if tp.Values != nil || tp.Secrets != nil {
		t.Errorf("Template.Clone of a template without maps = %+v", tp)
	}
}

// TestCloneSealedCapacity: the sealed values of a clone share one
// allocation, yet appending to one never writes into another.
func TestCloneSealedCapacity(t *testing.T) {
	c, tp, _, _ := fullRecords()
	cc := c.Clone()
	for k := range cc.Secrets {
		cc.Secrets[k] = append(cc.Secrets[k], "XXXXXXXXXXXXXXXX"...)
	}
	cc.Token.Sealed = append(cc.Token.Sealed, "XXXXXXXXXXXXXXXX"...)
	want, _, _, _ := fullRecords()
	for k, v := range cc.Secrets {
		if string(v) != string(want.Secrets[k])+"XXXXXXXXXXXXXXXX" {
			t.Errorf("Secrets[%q] = %q after appending to every value: an append wrote into it", k, v)
		}
	}
	if string(cc.Token.Sealed) != string(want.Token.Sealed)+"XXXXXXXXXXXXXXXX" {
		t.Errorf("Token.Sealed = %q after appending to every value", cc.Token.Sealed)
	}
	ct := tp.Clone()
	for k := range ct.Secrets {
		ct.Secrets[k] = append(ct.Secrets[k], '!')
	}
	for k, v := range ct.Secrets {
		if string(v) != string(tp.Secrets[k])+"!" {
			t.Errorf("template Secrets[%q] = %q after appending to every value", k, v)
		}
	}
}
