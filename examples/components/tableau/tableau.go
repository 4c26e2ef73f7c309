// Package tableau is an example component for the Tableau REST API: a
// connection type holding a server URL, a site and a personal access token,
// and a step that lists the site's projects.
//
// Tableau does not take the personal access token on every request: a
// client first signs in with it (POST /api/<version>/auth/signin) and
// receives a session token, which it then sends as X-Tableau-Auth. The
// connection type therefore declares no auth method, and the step does the
// exchange itself through the connection's *http.Client, which still
// retries, redacts and reports the connection's health (a refused sign-in
// turns it red). The step signs out when done, so no session outlives it.
package tableau

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
)

// Field keys of the connection type.
const (
	FieldServerURL  = "serverUrl"
	FieldSite       = "site"
	FieldTokenName  = "tokenName"
	FieldToken      = "token"
	FieldAPIVersion = "apiVersion"
)

// DefaultAPIVersion is the REST API version the type defaults to.
const DefaultAPIVersion = "3.24"

// Type returns the Tableau connection type.
func Type() connection.Type {
	return connection.Type{
		Key:         "tableau-pat",
		Label:       "Tableau",
		Description: "A Tableau personal access token, exchanged for a session at every run.",
		Fields: []connection.Field{
			{Key: FieldServerURL, Label: "Server URL", Kind: connection.KindURL, Required: true,
				Placeholder: "https://10ax.online.tableau.com"},
			{Key: FieldSite, Label: "Site ID",
				Comments: "The site's content URL, as in /#/site/<site-id>/. Leave empty for the Default site."},
			{Key: FieldTokenName, Label: "Personal Access Token Name", Required: true},
			{Key: FieldToken, Label: "Personal Access Token", Kind: connection.KindPassword, Required: true},
			{Key: FieldAPIVersion, Label: "REST API Version", Required: true, Default: DefaultAPIVersion, Rule: "numeric"},
		},
		Auth: connection.Auth{Method: connection.AuthNone}, // the step signs in
	}
}

// Component returns the Tableau component.
func Component() component.Component {
	return component.Component{
		Key:         "tableau",
		Label:       "Tableau",
		Connections: []connection.Type{Type()},
		Actions: []component.Action{{
			Key:     "list-projects",
			Label:   "List projects",
			Inputs:  []component.Input{{Key: "connection", Label: "Tableau connection", Connection: "tableau-pat"}},
			Perform: ListProjects,
		}},
	}
}

// Project is one Tableau project.
type Project struct {
	// ID is the project's LUID.
	ID string `json:"id"`
	// Name is the project's name.
	Name string `json:"name"`
	// Description is the project's description, if it has one.
	Description string `json:"description,omitempty"`
}

// Session is a signed-in Tableau REST API session.
type Session struct {
	client *http.Client
	base   string // <server>/api/<version>
	token  connection.Secret
	// SiteID is the signed-in site's LUID.
	SiteID string
	// UserID is the signed-in user's LUID.
	UserID string
}

type signInRequest struct {
	Credentials struct {
		Name   string `json:"personalAccessTokenName"`
		Secret string `json:"personalAccessTokenSecret"`
		Site   struct {
			ContentURL string `json:"contentUrl"`
		} `json:"site"`
	} `json:"credentials"`
}

type signInResponse struct {
	Credentials struct {
		Token string `json:"token"`
		Site  struct {
			ID string `json:"id"`
		} `json:"site"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"credentials"`
}

// SignIn exchanges the connection's personal access token for a session.
// Close the session when done.
func SignIn(ctx context.Context, conn *component.Conn) (*Session, error) {
	server, err := conn.Field(FieldServerURL)
	if err != nil {
		return nil, err
	}
	name, err := conn.Field(FieldTokenName)
	if err != nil {
		return nil, err
	}
	pat, err := conn.Secret(FieldToken)
	if err != nil {
		return nil, err
	}
	version, err := conn.Field(FieldAPIVersion)
	if err != nil {
		return nil, err
	}
	site, _ := conn.Values().Lookup(FieldSite)

	var in signInRequest
	in.Credentials.Name = name
	in.Credentials.Secret = pat.Reveal()
	in.Credentials.Site.ContentURL = site
	body, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("tableau: sign in: %w", err)
	}
	s := &Session{client: conn.HTTPClient(), base: strings.TrimSuffix(server, "/") + "/api/" + version}
	var out signInResponse
	if err := s.do(ctx, http.MethodPost, "/auth/signin", body, &out); err != nil {
		return nil, fmt.Errorf("tableau: sign in: %w", err)
	}
	if out.Credentials.Token == "" || out.Credentials.Site.ID == "" {
		return nil, errors.New("tableau: sign in: the answer has no session token or site id")
	}
	s.token = connection.NewSecret(out.Credentials.Token)
	s.SiteID = out.Credentials.Site.ID
	s.UserID = out.Credentials.User.ID
	return s, nil
}

// Close signs the session out. The session cannot be used afterwards.
func (s *Session) Close(ctx context.Context) error {
	if s.token.IsZero() {
		return nil
	}
	err := s.do(ctx, http.MethodPost, "/auth/signout", nil, nil)
	s.token = connection.Secret{}
	if err != nil {
		return fmt.Errorf("tableau: sign out: %w", err)
	}
	return nil
}

type projectsResponse struct {
	Pagination struct {
		PageNumber     string `json:"pageNumber"`
		PageSize       string `json:"pageSize"`
		TotalAvailable string `json:"totalAvailable"`
	} `json:"pagination"`
	Projects struct {
		Project []Project `json:"project"`
	} `json:"projects"`
}

// Projects lists the site's projects, following pages.
func (s *Session) Projects(ctx context.Context) ([]Project, error) {
	out := []Project{}
	for page := 1; ; page++ {
		var resp projectsResponse
		path := fmt.Sprintf("/sites/%s/projects?pageSize=100&pageNumber=%d", url.PathEscape(s.SiteID), page)
		if err := s.do(ctx, http.MethodGet, path, nil, &resp); err != nil {
			return nil, fmt.Errorf("tableau: list projects: %w", err)
		}
		out = append(out, resp.Projects.Project...)
		var total int
		_, _ = fmt.Sscan(resp.Pagination.TotalAvailable, &total)
		if len(resp.Projects.Project) == 0 || len(out) >= total || page >= 1000 {
			return out, nil
		}
	}
}

// tableauError is the body of a Tableau error response.
type tableauError struct {
	Error struct {
		Code    string `json:"code"`
		Summary string `json:"summary"`
		Detail  string `json:"detail"`
	} `json:"error"`
}

// do sends one request and decodes a JSON answer into out (nil: discard).
func (s *Session) do(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if !s.token.IsZero() {
		req.Header.Set("X-Tableau-Auth", s.token.Reveal())
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e tableauError
		if json.Unmarshal(data, &e) == nil && e.Error.Code != "" {
			return fmt.Errorf("HTTP %d: error %s: %s", resp.StatusCode, e.Error.Code, e.Error.Summary)
		}
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("answer is not the expected JSON: %w", err)
	}
	return nil
}

// ListProjects is the list-projects action: sign in, list the site's
// projects ([]Project), sign out.
func ListProjects(ctx context.Context, sc *component.Context) (any, error) {
	conn, err := sc.Connection("connection")
	if err != nil {
		return nil, err
	}
	s, err := SignIn(ctx, conn)
	if err != nil {
		return nil, err
	}
	projects, err := s.Projects(ctx)
	if cerr := s.Close(context.WithoutCancel(ctx)); cerr != nil && err == nil {
		sc.Logger().Warn("tableau: sign out failed", "error", cerr)
	}
	if err != nil {
		return nil, err
	}
	return projects, nil
}
