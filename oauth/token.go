package oauth

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"golang.org/x/oauth2"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

// Token is a connection's OAuth 2.0 token set. Its secrets never print.
//
// A Token obtained by a [Flow] or a [TokenSource] also carries, unexported,
// the token and revocation URLs it is bound to, and [SealToken] seals them
// with it (see [EndpointChangedError]). A Token built by hand, or obtained
// from an [Endpoint] built with [NewEndpoint], carries none.
type Token struct {
	// AccessToken authenticates API requests.
	AccessToken connection.Secret
	// RefreshToken obtains new access tokens; empty when the provider gave
	// none.
	RefreshToken connection.Secret
	// TokenType is the token type, usually "Bearer".
	TokenType string
	// Expiry is when the access token expires. It is never zero: a response
	// without expires_in gets the type's default lifetime.
	Expiry time.Time
	// Scopes are the granted scopes, when the provider said.
	Scopes []string
	// ObtainedAt is when the token set was received.
	ObtainedAt time.Time

	// pins are the URLs the set is bound to (zero: not recorded).
	pins endpointPins
}

// Valid reports whether the access token is present and not expired at now.
func (t *Token) Valid(now time.Time) bool {
	return t != nil && !t.AccessToken.IsZero() && now.Before(t.Expiry)
}

// OAuth2 returns the token as an *oauth2.Token for use with x/oauth2.
func (t *Token) OAuth2() *oauth2.Token {
	return &oauth2.Token{
		AccessToken:  t.AccessToken.Reveal(),
		RefreshToken: t.RefreshToken.Reveal(),
		TokenType:    t.TokenType,
		Expiry:       t.Expiry,
	}
}

// tokenFromOAuth2 converts a token endpoint response. A response without
// expires_in gets lifetime; one without refresh_token keeps oldRefresh.
func tokenFromOAuth2(ot *oauth2.Token, now time.Time, lifetime time.Duration, oldRefresh connection.Secret) Token {
	t := Token{
		AccessToken:  connection.NewSecret(ot.AccessToken),
		RefreshToken: connection.NewSecret(ot.RefreshToken),
		TokenType:    ot.TokenType,
		Expiry:       ot.Expiry,
		ObtainedAt:   now,
	}
	if t.RefreshToken.IsZero() {
		t.RefreshToken = oldRefresh
	}
	if t.TokenType == "" {
		t.TokenType = "Bearer"
	}
	if t.Expiry.IsZero() {
		t.Expiry = now.Add(lifetime)
	}
	if s, ok := ot.Extra("scope").(string); ok && s != "" {
		t.Scopes = splitScopes(s)
	}
	return t
}

// sealedToken is the wire form of Token inside the sealed envelope.
type sealedToken struct {
	Version      int       `json:"v"`
	AccessToken  string    `json:"at"`
	RefreshToken string    `json:"rt,omitempty"`
	TokenType    string    `json:"tt,omitempty"`
	Expiry       time.Time `json:"exp"`
	Scopes       []string  `json:"sc,omitempty"`
	ObtainedAt   time.Time `json:"iat,omitzero"`
	// TokenURL and RevokeURL are the pins (see pin.go); absent in sets
	// sealed before pinning, which readers of either age accept.
	TokenURL  string `json:"tu,omitempty"`
	RevokeURL string `json:"ru,omitempty"`
}

// tokenField is the associated-data field name of a connection's token set.
const tokenField = "token"

// SealToken seals t for the connection with the given id and returns the
// store record. The URLs t is bound to, if any, are sealed with it.
func SealToken(s store.Sealer, connectionID string, t Token) (*store.Token, error) {
	b, err := json.Marshal(sealedToken{
		Version:      1,
		AccessToken:  t.AccessToken.Reveal(),
		RefreshToken: t.RefreshToken.Reveal(),
		TokenType:    t.TokenType,
		Expiry:       t.Expiry.UTC(),
		Scopes:       t.Scopes,
		ObtainedAt:   t.ObtainedAt.UTC(),
		TokenURL:     t.pins.tokenURL,
		RevokeURL:    t.pins.revokeURL,
	})
	if err != nil {
		return nil, fmt.Errorf("oauth: encode token of connection %s: %w", connectionID, err)
	}
	env, err := s.Seal(b, store.AssociatedData("connection", connectionID, tokenField))
	clear(b)
	if err != nil {
		return nil, fmt.Errorf("oauth: seal token of connection %s: %w", connectionID, err)
	}
	return &store.Token{
		Sealed:      env,
		Expiry:      t.Expiry.UTC(),
		Refreshable: !t.RefreshToken.IsZero(),
		ObtainedAt:  t.ObtainedAt.UTC(),
	}, nil
}

// OpenToken opens a connection's sealed token set, with the URLs it is
// bound to.
func OpenToken(s store.Sealer, connectionID string, st *store.Token) (Token, error) {
	if st == nil {
		return Token{}, fmt.Errorf("oauth: connection %s: %w", connectionID, ErrNotConnected)
	}
	b, err := s.Open(st.Sealed, store.AssociatedData("connection", connectionID, tokenField))
	if err != nil {
		return Token{}, fmt.Errorf("oauth: open token of connection %s: %w", connectionID, err)
	}
	defer clear(b)
	var w sealedToken
	if err := json.Unmarshal(b, &w); err != nil || w.Version != 1 {
		return Token{}, fmt.Errorf("oauth: token of connection %s is malformed: %w", connectionID, store.ErrSealed)
	}
	return Token{
		AccessToken:  connection.NewSecret(w.AccessToken),
		RefreshToken: connection.NewSecret(w.RefreshToken),
		TokenType:    w.TokenType,
		Expiry:       w.Expiry,
		Scopes:       slices.Clip(w.Scopes),
		ObtainedAt:   w.ObtainedAt,
		pins:         endpointPins{tokenURL: w.TokenURL, revokeURL: w.RevokeURL},
	}, nil
}

// sameSet reports whether a and b are one token set: every member equal.
// A set sealed again (store.Rewrap under a new key) opens to the same
// members; a set the provider issued anew has a new access token, and one
// changed in place (its refresh token dropped after invalid_grant) differs
// in that member.
func sameSet(a, b *Token) bool {
	return a.AccessToken.Equal(b.AccessToken) &&
		a.RefreshToken.Equal(b.RefreshToken) &&
		a.TokenType == b.TokenType &&
		a.Expiry.Equal(b.Expiry) &&
		a.ObtainedAt.Equal(b.ObtainedAt) &&
		slices.Equal(a.Scopes, b.Scopes) &&
		a.pins == b.pins
}
