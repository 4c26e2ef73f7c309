package oauth

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/keyring"
)

// TestPinsSealedWithTokenSet: the URLs a set is bound to travel inside the
// sealed envelope (not in the store's plaintext), survive SealToken and
// OpenToken, and tell sets apart; an envelope written before pinning opens
// as an unpinned set.
func TestPinsSealedWithTokenSet(t *testing.T) {
	k, err := keyring.GenerateKey(1)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.New(k)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tok := Token{AccessToken: connection.NewSecret("at"), RefreshToken: connection.NewSecret("rt"), TokenType: "Bearer",
		Expiry: now.Add(time.Hour), ObtainedAt: now,
		pins: endpointPins{tokenURL: "https://idp.example/token", revokeURL: "https://idp.example/revoke"}}
	st, err := SealToken(kr, "c1", tok)
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenToken(kr, "c1", st)
	if err != nil {
		t.Fatal(err)
	}
	if got.pins != tok.pins || !sameSet(&got, &tok) {
		t.Errorf("pins after a round trip = %+v, want %+v", got.pins, tok.pins)
	}
	other := tok
	other.pins.revokeURL = ""
	if sameSet(&other, &tok) {
		t.Error("sets bound to different URLs count as one set")
	}

	// An envelope sealed before pinning: no "tu" or "ru" members.
	old, err := json.Marshal(map[string]any{"v": 1, "at": "at", "rt": "rt", "tt": "Bearer", "exp": now.Add(time.Hour), "iat": now})
	if err != nil {
		t.Fatal(err)
	}
	env, err := kr.Seal(old, store.AssociatedData("connection", "c1", tokenField))
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := OpenToken(kr, "c1", &store.Token{Sealed: env})
	if err != nil {
		t.Fatal(err)
	}
	if legacy.pins.recorded() || legacy.RefreshToken.Reveal() != "rt" {
		t.Errorf("a set sealed before pinning opens with pins %+v", legacy.pins)
	}
}

// TestPinnedEndpoint: the recorded URLs are used while the current ones
// agree on the field about to receive credentials; the other field is
// taken from the pins unchecked; unrecorded pins leave the endpoint alone.
func TestPinnedEndpoint(t *testing.T) {
	ref := connection.Ref{InstanceID: "i", Variable: "v"}
	cur := &Endpoint{tokenURL: "https://idp.example/token", revokeURL: "https://new.example/revoke", pin: true}
	p := endpointPins{tokenURL: "https://idp.example/token", revokeURL: "https://idp.example/revoke"}

	ep, err := cur.pinned(ref, p, connection.FieldTokenURL)
	if err != nil {
		t.Fatalf("pinned(token URL unchanged) = %v", err)
	}
	if ep.pins() != p {
		t.Errorf("pinned endpoint binds new sets to %+v, want the recorded %+v", ep.pins(), p)
	}
	if _, err := cur.pinned(ref, p, connection.FieldRevokeURL); err == nil {
		t.Error("pinned(revoke URL changed) succeeded")
	}
	if ep, err := cur.pinned(ref, endpointPins{}, connection.FieldRevokeURL); err != nil || ep != cur {
		t.Errorf("pinned(unrecorded) = %p, %v; want the endpoint itself", ep, err)
	}
}
