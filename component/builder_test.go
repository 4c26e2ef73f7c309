package component_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
)

func acmeComponent(t *testing.T) *component.Component {
	t.Helper()
	noop := func(context.Context, *component.Context) (any, error) { return nil, nil }
	c, err := component.Declare(component.Component{
		Key:         "acme",
		Connections: []connection.Type{{Key: "apiKey", Label: "Acme", Fields: []connection.Field{{Key: "key", Kind: connection.KindPassword}}}},
		Actions: []component.Action{
			{Key: "list", Inputs: []component.Input{{Key: "conn", Connection: "apiKey"}}, Perform: noop},
			{Key: "create", Inputs: []component.Input{{Key: "conn", Connection: "apiKey"}, {Key: "name"}}, Perform: noop},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBuilderSharesAndCreatesVariables(t *testing.T) {
	c := acmeComponent(t)
	b := component.NewBuilder("int-1", "Sync", 1)
	s1, err := b.AddStep("list things", c, "list", component.StepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := b.AddStep("create thing", c, "create", component.StepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s3, err := b.AddStep("copy to second account", c, "create", component.StepOptions{Bind: map[string]string{"conn": "Second Acme"}})
	if err != nil {
		t.Fatal(err)
	}
	got := []map[string]string{s1.Bindings, s2.Bindings, s3.Bindings}
	want := []map[string]string{{"conn": "Acme Connection"}, {"conn": "Acme Connection"}, {"conn": "Second Acme"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bindings (-want +got):\n%s", diff)
	}
	var keys []string
	for _, v := range b.Integration().Variables {
		keys = append(keys, v.Key)
	}
	if diff := cmp.Diff([]string{"Acme Connection", "Second Acme"}, keys); diff != "" {
		t.Errorf("variables (-want +got):\n%s", diff)
	}
	if _, err := b.AddStep("list things", c, "list", component.StepOptions{}); err == nil {
		t.Error("duplicate step name accepted")
	}
}

func TestDeclareReportsEveryProblem(t *testing.T) {
	_, err := component.Declare(component.Component{
		Key:         "acme",
		Connections: []connection.Type{{Key: "a"}, {Key: "a"}},
		Actions: []component.Action{
			{Key: "x", Inputs: []component.Input{{Key: "conn", Connection: "missing"}}},
			{Key: "x", Perform: func(context.Context, *component.Context) (any, error) { return nil, nil }},
		},
	})
	ve, ok := err.(*connection.ValidationError)
	if !ok {
		t.Fatalf("err = %v, want *connection.ValidationError", err)
	}
	var keys []string
	for _, p := range ve.Problems {
		keys = append(keys, p.Key)
	}
	want := []string{"connections[1]", "actions[x]", "actions[x].inputs[conn]", "actions[x]"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("problem keys (-want +got):\n%s\n%v", diff, err)
	}
}

func TestCodeComponentReadsValues(t *testing.T) {
	c := component.NewConn(component.ConnConfig{
		Ref:    connection.Ref{InstanceID: "i", Variable: "Acme Connection"},
		Type:   headerType,
		Values: connection.ValuesOf(map[string]string{"apiKey": "k-1"}),
	})
	sc := component.NewContext(component.ContextConfig{Connections: map[string]*component.Conn{"Acme Connection": c}})
	if v, err := sc.ConfigVar("Acme Connection").Field("apiKey"); err != nil || v != "k-1" {
		t.Fatalf("Field = %q, %v", v, err)
	}
	_, err := sc.ConfigVar("Acme Connection").Field("region")
	if err == nil || !containsAll(err.Error(), "Acme Connection", "region") {
		t.Errorf("missing field error %v should name the variable and the field", err)
	}
	_, err = sc.ConfigVar("Other").Field("apiKey")
	if err == nil || !containsAll(err.Error(), "Other", "apiKey") {
		t.Errorf("missing variable error %v should name the variable and the field", err)
	}
}
