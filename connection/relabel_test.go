package connection_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/connkit/connkit/connection"
)

func TestRelabel(t *testing.T) {
	ty, err := connection.Declare(oauthType())
	if err != nil {
		t.Fatal(err)
	}
	ty.Fields = append([]connection.Field{
		{Key: "subdomain", Label: "Subdomain", Kind: connection.KindString, Required: true, Rule: "hostname_rfc1123"},
		{Key: "tier", Label: "Tier", Kind: connection.KindChoice, Choices: []string{"free", "pro"}},
	}, ty.Fields...)
	ty, err = connection.Declare(ty)
	if err != nil {
		t.Fatal(err)
	}
	before := ty.Clone()

	labels := map[string]string{connection.FieldClientID: "App ID", connection.FieldClientSecret: "App Secret", "subdomain": "Workspace"}
	renamed, err := ty.Relabel(labels)
	if err != nil {
		t.Fatal(err)
	}

	if diff := cmp.Diff(before, ty); diff != "" {
		t.Errorf("Relabel modified the original (-before +after):\n%s", diff)
	}

	// Only labels change: the types are equal with labels ignored, and every
	// label is the new one or the old one.
	ignoreLabels := cmpopts.IgnoreFields(connection.Field{}, "Label")
	if diff := cmp.Diff(ty, renamed, ignoreLabels); diff != "" {
		t.Errorf("Relabel changed more than labels (-original +renamed):\n%s", diff)
	}
	for i, f := range renamed.Fields {
		want := ty.Fields[i].Label
		if l, ok := labels[f.Key]; ok {
			want = l
		}
		if f.Label != want {
			t.Errorf("field %q label = %q, want %q", f.Key, f.Label, want)
		}
	}

	// The renamed type shares no slices or maps with the original.
	renamed.Fields[0].Choices = append(renamed.Fields[0].Choices, "x")
	renamed.Fields[1].Choices[0] = "changed"
	renamed.OAuth2.Scopes[0] = "changed"
	if diff := cmp.Diff(before, ty); diff != "" {
		t.Errorf("changing the renamed type changed the original (-before +after):\n%s", diff)
	}
	renamed, _ = ty.Relabel(labels)

	// Behaviour is the same: validation gives the same problems, with the
	// new labels.
	bad := connection.ValuesOf(map[string]string{"subdomain": "not a host!", "tier": "gold", "tokenUrl": "ftp://x"})
	errOrig, errRenamed := ty.ValidateValues(bad), renamed.ValidateValues(bad)
	var vo, vr *connection.ValidationError
	if !errors.As(errOrig, &vo) || !errors.As(errRenamed, &vr) {
		t.Fatalf("ValidateValues = %v / %v, want *ValidationError", errOrig, errRenamed)
	}
	if diff := cmp.Diff(vo.Problems, vr.Problems, cmpopts.IgnoreFields(connection.FieldError{}, "Label")); diff != "" {
		t.Errorf("validation differs after Relabel (-original +renamed):\n%s", diff)
	}
	if got := vr.Field(connection.FieldClientID); len(got) != 1 || got[0].Label != "App ID" {
		t.Errorf("problem for the renamed client id = %+v, want label App ID", got)
	}
	if got := vr.Field("tier"); len(got) != 1 || got[0].Label != "Tier" {
		t.Errorf("problem for the unrenamed field = %+v, want label Tier", got)
	}
	good := connection.ValuesOf(map[string]string{
		"subdomain": "acme", connection.FieldClientID: "id",
		connection.FieldAuthorizeURL: "https://a.example/authorize", connection.FieldTokenURL: "https://a.example/token",
	})
	if err := renamed.ValidateValues(good); err != nil {
		t.Errorf("renamed type rejects valid values: %v", err)
	}
	if err := renamed.Validate(); err != nil {
		t.Errorf("renamed type does not validate: %v", err)
	}
}

func TestRelabelErrors(t *testing.T) {
	ty := connection.MustDeclare(apiKeyType())
	before := ty.Clone()
	got, err := ty.Relabel(map[string]string{"password": "Password", "host": "Server", "username": "  "})
	if diff := cmp.Diff([]string{"password", "username"}, problemKeys(t, err)); diff != "" {
		t.Errorf("problem keys (-want +got):\n%s", diff)
	}
	if got.Key != "" || got.Fields != nil {
		t.Errorf("Relabel returned %+v with its error, want the zero Type", got)
	}
	if diff := cmp.Diff(before, ty); diff != "" {
		t.Errorf("a failed Relabel modified the original (-before +after):\n%s", diff)
	}
	same, err := ty.Relabel(nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ty, same); diff != "" {
		t.Errorf("Relabel(nil) changed the type:\n%s", diff)
	}
}
