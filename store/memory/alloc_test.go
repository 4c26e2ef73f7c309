package memory_test

import (
	"testing"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/memory"
)

// oauthConnection returns a connection shaped as an OAuth 2.0 CONNECT leaves
// it: a few values with their sources, no secret field values (the client
// secret comes from a template), no metadata, and a token.
func oauthConnection(ref connection.Ref, secrets map[string][]byte, metadata map[string]string) *store.Connection {
	return &store.Connection{
		ID:       "conn-1",
		Ref:      ref,
		Values:   map[string]string{"subdomain": "acme", "scopes": "read write"},
		Secrets:  secrets,
		Sources:  map[string]connection.Source{"subdomain": connection.SourceCustomer, "scopes": connection.SourceHost},
		Metadata: metadata,
		Token:    &store.Token{Sealed: make([]byte, 180), Expiry: time.Now().Add(time.Hour), Refreshable: true},
		Health:   connection.Health{Status: connection.StatusConfigured},
	}
}

// TestGetConnectionAllocs pins what one read costs in allocations: one for
// the record with its token, one for all sealed bytes, two per non-empty map
// (Go's map header and group), none for an empty map (stored as nil).
func TestGetConnectionAllocs(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name     string
		secrets  map[string][]byte
		metadata map[string]string
		want     float64
	}{
		{"two maps empty", map[string][]byte{}, map[string]string{}, 1 + 1 + 2*2},
		{"two maps nil", nil, nil, 1 + 1 + 2*2},
		{"every map set", map[string][]byte{"password": make([]byte, 40)}, map[string]string{"instance_url": "https://eu.example.com"}, 1 + 1 + 4*2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := memory.New(memory.Options{})
			ref := connection.Ref{InstanceID: "inst", Variable: "crm"}
			if err := s.PutInstance(ctx, connection.Instance{ID: "inst"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.PutConnection(ctx, oauthConnection(ref, tc.secrets, tc.metadata)); err != nil {
				t.Fatal(err)
			}
			got := testing.AllocsPerRun(200, func() {
				if _, err := s.GetConnection(ctx, ref); err != nil {
					t.Fatal(err)
				}
			})
			if got != tc.want {
				t.Errorf("GetConnection allocates %v times per call, want %v", got, tc.want)
			}
		})
	}
}

// BenchmarkGetConnectionOAuth reads the connection of oauthConnection, with
// its secrets and metadata empty as an OAuth CONNECT leaves them.
func BenchmarkGetConnectionOAuth(b *testing.B) {
	ctx := b.Context()
	s := memory.New(memory.Options{})
	ref := connection.Ref{InstanceID: "inst", Variable: "crm"}
	if err := s.PutInstance(ctx, connection.Instance{ID: "inst"}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.PutConnection(ctx, oauthConnection(ref, map[string][]byte{}, map[string]string{})); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.GetConnection(ctx, ref); err != nil {
			b.Fatal(err)
		}
	}
}
