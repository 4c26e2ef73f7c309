package tableau_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/examples/components/internal/componenttest"
	"github.com/connkit/connkit/examples/components/tableau"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	patName   = "ci-bot"
	patSecret = "pat-secret-7f3a9c2e1b5d4f6a8c0e2b4d6f8a0c2e"
	siteLUID  = "9a8b7c6d-0000-4000-8000-111122223333"
)

// fakeTableau is a Tableau server with one site ("marketing"), one personal
// access token and five projects served two to a page.
type fakeTableau struct {
	mu       sync.Mutex
	sessions map[string]bool // session token -> signed in
	signIns  int
	signOuts int
	srv      *httptest.Server
}

func newFakeTableau(t *testing.T) *fakeTableau {
	f := &fakeTableau{sessions: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/3.24/auth/signin", f.signIn)
	mux.HandleFunc("POST /api/3.24/auth/signout", f.signOut)
	mux.HandleFunc("GET /api/3.24/sites/{site}/projects", f.projects)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func tableauError(w http.ResponseWriter, status int, code, summary string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"summary":%q,"detail":"see the server log"}}`, code, summary)
}

func (f *fakeTableau) signIn(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Credentials struct {
			Name   string `json:"personalAccessTokenName"`
			Secret string `json:"personalAccessTokenSecret"`
			Site   struct {
				ContentURL string `json:"contentUrl"`
			} `json:"site"`
		} `json:"credentials"`
	}
	if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&in) != nil {
		tableauError(w, http.StatusBadRequest, "400000", "Bad Request")
		return
	}
	c := in.Credentials
	if c.Name != patName || c.Secret != patSecret || c.Site.ContentURL != "marketing" {
		tableauError(w, http.StatusUnauthorized, "401001", "Signin Error")
		return
	}
	f.mu.Lock()
	f.signIns++
	token := fmt.Sprintf("session-%d", f.signIns)
	f.sessions[token] = true
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"credentials":{"token":%q,"site":{"id":%q,"contentUrl":"marketing"},"user":{"id":"user-1"}}}`, token, siteLUID)
}

func (f *fakeTableau) session(r *http.Request) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sessions[r.Header.Get("X-Tableau-Auth")]
}

func (f *fakeTableau) signOut(w http.ResponseWriter, r *http.Request) {
	if !f.session(r) {
		tableauError(w, http.StatusUnauthorized, "401002", "Unauthorized Access")
		return
	}
	f.mu.Lock()
	delete(f.sessions, r.Header.Get("X-Tableau-Auth"))
	f.signOuts++
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeTableau) projects(w http.ResponseWriter, r *http.Request) {
	if !f.session(r) {
		tableauError(w, http.StatusUnauthorized, "401002", "Unauthorized Access")
		return
	}
	if r.PathValue("site") != siteLUID {
		tableauError(w, http.StatusForbidden, "403069", "Forbidden")
		return
	}
	all := []string{"Finance", "Marketing", "Sales", "Support", "Web"}
	page := 1
	fmt.Sscan(r.URL.Query().Get("pageNumber"), &page)
	const size = 2 // smaller than the client asks for, as a server may
	var items []string
	for i := (page - 1) * size; i < page*size && i < len(all); i++ {
		items = append(items, fmt.Sprintf(`{"id":"p%d","name":%q}`, i+1, all[i]))
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"pagination":{"pageNumber":"%d","pageSize":"%d","totalAvailable":"%d"},"projects":{"project":[%s]}}`,
		page, size, len(all), strings.Join(items, ","))
}

func newHarness(t *testing.T, f *fakeTableau, token string) *componenttest.Harness {
	h := componenttest.New(t, componenttest.Config{Component: tableau.Component(), Action: "list-projects"})
	h.SetValues(t, map[string]string{
		tableau.FieldServerURL: f.srv.URL,
		tableau.FieldSite:      "marketing",
		tableau.FieldTokenName: patName,
		tableau.FieldToken:     token,
	})
	return h
}

func TestListProjects(t *testing.T) {
	f := newFakeTableau(t)
	h := newHarness(t, f, patSecret)
	out, err := h.Run(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []tableau.Project{{ID: "p1", Name: "Finance"}, {ID: "p2", Name: "Marketing"}, {ID: "p3", Name: "Sales"},
		{ID: "p4", Name: "Support"}, {ID: "p5", Name: "Web"}}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("projects (-want +got):\n%s", diff)
	}
	f.mu.Lock()
	signIns, signOuts, open := f.signIns, f.signOuts, len(f.sessions)
	f.mu.Unlock()
	if signIns != 1 || signOuts != 1 || open != 0 {
		t.Errorf("sign-ins %d, sign-outs %d, open sessions %d; want 1, 1, 0", signIns, signOuts, open)
	}
	if got := h.Health(t).Status; got != connection.StatusWorking {
		t.Errorf("status = %q, want working (green)", got)
	}
	componenttest.AssertNoSecret(t, "logs", h.LogText(t), patSecret, "session-1")
}

func TestListProjectsBadToken(t *testing.T) {
	f := newFakeTableau(t)
	const wrong = "pat-secret-that-was-revoked-000000000000"
	h := newHarness(t, f, wrong)
	_, err := h.Run(t, nil)
	if err == nil || !strings.Contains(err.Error(), "401001") {
		t.Fatalf("err = %v, want Tableau's sign-in error 401001", err)
	}
	hl := h.Health(t)
	if hl.Status != connection.StatusError || !strings.Contains(hl.Reason, "401") {
		t.Errorf("health = %+v, want error (red) naming the 401", hl)
	}
	componenttest.AssertNoSecret(t, "step error", err.Error(), wrong)
	componenttest.AssertNoSecret(t, "logs", h.LogText(t), wrong)
}
