package component_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
)

// A step's authenticated client: the Conn puts the API key where the
// connection type says (here the X-API-Key header, with a prefix), and the
// first successful response marks the connection working for the
// execution. The step itself never touches the key.
func ExampleConn_HTTPClient() {
	typ := connection.MustDeclare(connection.Type{
		Key:    "acme",
		Label:  "Acme API key",
		Fields: []connection.Field{{Key: "apiKey", Label: "API Key", Kind: connection.KindPassword, Required: true}},
		Auth:   connection.Auth{Method: connection.AuthHeader, Field: "apiKey", Header: "X-API-Key", Prefix: "Key "},
	})
	const key = "ak_live_0123456789"

	// A stand-in for Acme's API: it says what it received, and whether
	// the key was the right one, without echoing the key.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("server saw: %s %s, key accepted: %v\n", r.Method, r.URL.Path, r.Header.Get("X-API-Key") == "Key "+key)
		_, _ = io.WriteString(w, `[{"id":1,"name":"Apollo"}]`)
	}))
	defer api.Close()

	exec := component.NewExecution(func(_ context.Context, id string, _ connection.Ref, s connection.Status, _ string) {
		fmt.Printf("health of %s: %s\n", id, s)
	})
	conn := component.NewConn(component.ConnConfig{
		Ref:    connection.Ref{InstanceID: "inst-1", Variable: "Acme Connection"},
		ID:     "conn-1",
		Type:   typ,
		Values: connection.ValuesOf(map[string]string{"apiKey": key}),
		// A host passes its one shared, SSRF-guarded transport here. The
		// guard refuses loopback, where this example's server listens, so
		// the example uses the test server's own transport.
		Transport: api.Client().Transport,
		Execution: exec,
	})

	// What a step does:
	resp, err := conn.HTTPClient().Get(api.URL + "/v1/projects")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println("status:", resp.Status)
	fmt.Println("body:", string(body))
	// Output:
	// server saw: GET /v1/projects, key accepted: true
	// health of conn-1: working
	// status: 200 OK
	// body: [{"id":1,"name":"Apollo"}]
}

// A code component reads the values of a connection config variable by
// its key; a variable the step is not bound to, or a field without a
// value, is an error naming both.
func ExampleContext_ConfigVar() {
	typ := connection.MustDeclare(connection.Type{
		Key: "acme",
		Fields: []connection.Field{
			{Key: "host", Label: "Host", Kind: connection.KindURL, Required: true},
			{Key: "apiKey", Label: "API Key", Kind: connection.KindPassword, Required: true},
			{Key: "region", Label: "Region"},
		},
	})
	conn := component.NewConn(component.ConnConfig{
		Ref:    connection.Ref{InstanceID: "inst-1", Variable: "Acme Connection"},
		ID:     "conn-1",
		Type:   typ,
		Values: connection.ValuesOf(map[string]string{"host": "https://eu.acme.example", "apiKey": "ak_live_0123456789"}),
	})
	sc := component.NewContext(component.ContextConfig{
		Connections: map[string]*component.Conn{"Acme Connection": conn},
	})

	host, err := sc.ConfigVar("Acme Connection").Field("host")
	fmt.Println(host, err)

	_, err = sc.ConfigVar("Acme Connection").Field("region")
	fmt.Println(err)
	fmt.Println("no value:", errors.Is(err, component.ErrNoValue))

	_, err = sc.ConfigVar("Billing Connection").Field("host")
	fmt.Println(err)
	fmt.Println("not bound:", errors.Is(err, component.ErrNoConnection))
	// Output:
	// https://eu.acme.example <nil>
	// component: connection "Acme Connection": field "region" has no value: component: field has no value
	// no value: true
	// component: no config variable "Billing Connection" (field "host"): component: no such connection
	// not bound: true
}

// A step that finds its connection at fault although the API call
// succeeded (an API answering 200 with "invalid credentials" in the body)
// says so with ConnectionError: the runner then marks the connection red
// with the error as its reason, instead of treating it as a bug of the
// step.
func ExampleConnectionError() {
	conn := component.NewConn(component.ConnConfig{
		Ref: connection.Ref{InstanceID: "inst-1", Variable: "Acme Connection"},
		ID:  "conn-1",
		Type: connection.MustDeclare(connection.Type{
			Key:    "acme",
			Fields: []connection.Field{{Key: "apiKey", Kind: connection.KindPassword, Required: true}},
		}),
	})
	err := component.ConnectionError(conn, errors.New("the API says: account suspended"))
	fmt.Println(err)

	var ce *component.ConnError
	if errors.As(err, &ce) {
		fmt.Println("connection at fault:", ce.ConnectionID, ce.Variable)
	}
	// Output:
	// component: connection "Acme Connection": the API says: account suspended
	// connection at fault: conn-1 Acme Connection
}
