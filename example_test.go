package connkit_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/connkit/connkit"
	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store/keyring"
	"github.com/connkit/connkit/store/memory"
	"github.com/connkit/connkit/template"
)

// A host wires connkit once, registers components and integrations, deploys
// a customer's instance, lets the customer fill in the connection, and runs
// steps that get ready-to-use authenticated clients.
func Example() {
	ctx := context.Background()

	// A third-party API that wants an API key in a header.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Token key-123" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, "hello from the API")
	}))
	defer api.Close()

	key, _ := keyring.GenerateKey(1) // in production: keyring.ParseKey from your secret store
	sealer, _ := keyring.New(key)
	host, err := connkit.New(connkit.Config{
		Store:                memory.New(memory.Options{}), // or store/sqlstore (SQLite, PostgreSQL)
		Sealer:               sealer,
		CallbackURL:          connkit.CallbackURL("example.com"),
		AllowPrivateNetworks: true, // only because this example's API is on loopback
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer host.Close(ctx)

	// A component author's component: one connection type, one step.
	acme, err := host.Register(component.Component{
		Key: "acme",
		Connections: []connection.Type{{
			Key:    "apiKey",
			Label:  "Acme",
			Fields: []connection.Field{{Key: "apiKey", Label: "API Key", Kind: connection.KindPassword, Required: true}},
			Auth:   connection.Auth{Method: connection.AuthHeader, Field: "apiKey", Header: "Authorization", Prefix: "Token "},
		}},
		Actions: []component.Action{{
			Key:    "hello",
			Inputs: []component.Input{{Key: "conn", Connection: "apiKey"}},
			Perform: func(ctx context.Context, sc *component.Context) (any, error) {
				conn, err := sc.Connection("conn")
				if err != nil {
					return nil, err
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api.URL, nil)
				resp, err := conn.HTTPClient().Do(req)
				if err != nil {
					return nil, err
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				return string(body), err
			},
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	// An integration using the step; the step's connection input is bound to
	// a connection config variable created for it.
	b := component.NewBuilder("int-1", "Acme Sync", 1)
	if _, err := b.AddStep("say hello", acme, "hello", component.StepOptions{}); err != nil {
		fmt.Println(err)
		return
	}
	if err := host.RegisterIntegration(b); err != nil {
		fmt.Println(err)
		return
	}

	// A customer deploys it and fills in the connection.
	inst := connection.Instance{ID: "inst-1", Name: "Customer One", IntegrationID: "int-1", IntegrationName: "Acme Sync", IntegrationVersion: 1}
	ref := connection.Ref{InstanceID: inst.ID, Variable: "Acme Connection"}
	if err := host.Deploy(ctx, inst); err != nil {
		fmt.Println(err)
		return
	}
	if err := host.SetValues(ctx, ref, template.AudienceCustomer, connection.ValuesOf(map[string]string{"apiKey": "key-123"})); err != nil {
		fmt.Println(err)
		return
	}
	before, _ := host.Health(ctx, ref)

	out, err := host.RunStep(ctx, inst.ID, "say hello", connkit.RunOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	after, _ := host.Health(ctx, ref)
	fmt.Println(out)
	fmt.Println(before.Status.Color(), "->", after.Status.Color())
	// Output:
	// hello from the API
	// yellow -> green
}
