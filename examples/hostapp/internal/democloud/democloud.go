// Package democloud is the demo host application's own component and API:
// "Demo Cloud", a fictional service reached either with OAuth 2.0 (through
// the demo authorization server, package demoauth) or with an API key.
//
// The component is written like any other (see examples/components): it
// declares two connection types and two steps that call the Demo Cloud API
// with the *http.Client of their connection. [API] is the Demo Cloud API
// itself, served by the host application on loopback.
package democloud

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/examples/hostapp/demoauth"
)

// Keys of the component, its types, fields and actions.
const (
	ComponentKey = "democloud"
	TypeOAuth    = "democloud-oauth"
	TypeAPIKey   = "democloud-apikey"

	FieldWorkspace = "workspace"
	FieldAPIBase   = "apiBaseUrl"
	FieldAPIKey    = "apiKey"

	ActionListProjects = "list-projects"
	ActionCheckKey     = "check-key"

	// Scope is the OAuth 2.0 scope the steps need.
	Scope = "projects:read"
	// DemoAPIKey is the API key the demo API accepts.
	DemoAPIKey = "demo-api-key-1234"
)

// Options locate the demo provider and API.
type Options struct {
	// ProviderURL is where the demo authorization server is mounted, such
	// as http://127.0.0.1:8080/demo/oauth.
	ProviderURL string
	// APIURL is where [API] is mounted, such as
	// http://127.0.0.1:8080/demo/api.
	APIURL string
}

// Component returns the Demo Cloud component.
func Component(opts Options) component.Component {
	return component.Component{
		Key:   ComponentKey,
		Label: "Demo Cloud",
		Connections: []connection.Type{
			{
				Key:         TypeOAuth,
				Label:       "Demo Cloud",
				Description: "Sign in to Demo Cloud (the built-in demo provider) and approve access to your projects.",
				Fields: []connection.Field{
					{Key: FieldWorkspace, Label: "Workspace", Required: true, Rule: "alphanum,max=32",
						Placeholder: "acme", Comments: "The workspace whose projects the integration reads: letters and digits."},
					{Key: FieldAPIBase, Label: "API base URL", Kind: connection.KindURL, Required: true, Default: opts.APIURL},
				},
				OAuth2: &connection.OAuth2{
					AuthorizeURL: opts.ProviderURL + demoauth.PathAuthorize,
					TokenURL:     opts.ProviderURL + demoauth.PathToken,
					RevokeURL:    opts.ProviderURL + demoauth.PathRevoke,
					Scopes:       []string{Scope},
				},
			},
			{
				Key:         TypeAPIKey,
				Label:       "Demo Cloud API key",
				Description: "An API key of Demo Cloud.",
				Fields: []connection.Field{
					{Key: FieldAPIKey, Label: "API key", Kind: connection.KindPassword, Required: true,
						Comments: "The demo API accepts " + DemoAPIKey + "."},
					{Key: FieldAPIBase, Label: "API base URL", Kind: connection.KindURL, Required: true, Default: opts.APIURL},
				},
				Auth: connection.Auth{Method: connection.AuthHeader, Field: FieldAPIKey, Header: "X-Demo-Key"},
			},
		},
		Actions: []component.Action{
			{
				Key:     ActionListProjects,
				Label:   "List projects",
				Inputs:  []component.Input{{Key: "connection", Label: "Demo Cloud", Connection: TypeOAuth}},
				Perform: listProjects,
			},
			{
				Key:     ActionCheckKey,
				Label:   "Check API key",
				Inputs:  []component.Input{{Key: "connection", Label: "Demo Cloud API key", Connection: TypeAPIKey}},
				Perform: checkKey,
			},
		},
	}
}

// Project is one project of a workspace.
type Project struct {
	// ID is the project's id.
	ID string `json:"id"`
	// Name is the project's name.
	Name string `json:"name"`
}

// Projects is the answer of GET /projects.
type Projects struct {
	// Workspace is the workspace the projects belong to.
	Workspace string `json:"workspace"`
	// User is the user the access token was issued to.
	User string `json:"user"`
	// Projects are the workspace's projects.
	Projects []Project `json:"projects"`
}

func listProjects(ctx context.Context, sc *component.Context) (any, error) {
	conn, err := sc.Connection("connection")
	if err != nil {
		return nil, err
	}
	ws, err := conn.Field(FieldWorkspace)
	if err != nil {
		return nil, err
	}
	base, err := conn.Field(FieldAPIBase)
	if err != nil {
		return nil, err
	}
	var out Projects
	if err := get(ctx, conn.HTTPClient(), base+"/projects?workspace="+url.QueryEscape(ws), &out); err != nil {
		return nil, err
	}
	return out, nil
}

// KeyInfo is the answer of GET /whoami.
type KeyInfo struct {
	// Key is the start of the API key that was sent, shortened so that
	// the answer never holds the key.
	Key string `json:"key"`
	// Account is the account the key belongs to.
	Account string `json:"account"`
}

func checkKey(ctx context.Context, sc *component.Context) (any, error) {
	conn, err := sc.Connection("connection")
	if err != nil {
		return nil, err
	}
	base, err := conn.Field(FieldAPIBase)
	if err != nil {
		return nil, err
	}
	var out KeyInfo
	if err := get(ctx, conn.HTTPClient(), base+"/whoami", &out); err != nil {
		return nil, err
	}
	return out, nil
}

func get(ctx context.Context, client *http.Client, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("democloud: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("democloud: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("democloud: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("democloud: Demo Cloud answered HTTP %d: %s", resp.StatusCode, e.Error)
		}
		return fmt.Errorf("democloud: Demo Cloud answered HTTP %d", resp.StatusCode)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("democloud: answer is not the expected JSON: %w", err)
	}
	return nil
}

// Introspector checks access tokens; *demoauth.Server implements it.
type Introspector interface {
	Introspect(accessToken string) (demoauth.Grant, bool)
}

// API returns the Demo Cloud API: GET /projects?workspace=W for a bearer
// token with the projects:read scope, and GET /whoami for the X-Demo-Key
// [DemoAPIKey]. Mount it with http.StripPrefix under Options.APIURL.
func API(tokens Introspector) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /projects", func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		g, valid := tokens.Introspect(tok)
		switch {
		case !ok || !valid:
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			apiError(w, http.StatusUnauthorized, "invalid or expired access token")
			return
		case !slices.Contains(g.Scopes, Scope):
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+Scope+`"`)
			apiError(w, http.StatusForbidden, "the token lacks the "+Scope+" scope")
			return
		}
		ws := r.URL.Query().Get("workspace")
		if ws == "" {
			apiError(w, http.StatusBadRequest, "workspace is required")
			return
		}
		writeJSON(w, Projects{Workspace: ws, User: g.User, Projects: []Project{
			{ID: ws + "-1", Name: "Apollo"}, {ID: ws + "-2", Name: "Gemini"}, {ID: ws + "-3", Name: "Mercury"},
		}})
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Demo-Key") != DemoAPIKey {
			apiError(w, http.StatusUnauthorized, "unknown API key")
			return
		}
		writeJSON(w, KeyInfo{Key: DemoAPIKey[:9] + "…", Account: "Demo Cloud account 42"})
	})
	return mux
}

func apiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
