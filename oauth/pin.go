package oauth

import (
	"fmt"

	"github.com/connkit/connkit/connection"
)

// Endpoint pinning. A token set is bound to the token URL it was obtained at
// and to the revocation URL the connection had when it was obtained: a
// refresh token is good only at the server that issued it, and the client
// secret that goes with every refresh, renewal and revocation must go where
// it went at CONNECT, and nowhere else.
//
// The callback (and [Flow.ConnectClientCredentials]) records both URLs in
// the token set, which is sealed: the store holds them inside the token
// envelope, where they can be neither read nor changed without the key, are
// replaced with the token set by a new CONNECT, deleted with it by
// DISCONNECT and kept by store.Rewrap. They are never connection metadata.
// A refresh carries them over to the new set.
//
// Refresh, client credentials renewal and revocation then use the recorded
// URL, and only while the connection's current configuration still resolves
// to that same URL: when a template, a variable default, a type default or
// an instance value (or discovered metadata) now gives another URL (or none
// where there was one), they refuse with an [*EndpointChangedError]
// (matching [ErrMisconfigured]), write it to the connection's log and send
// nothing: using the recorded URL would ignore a deliberate change, using
// the current one would send the refresh token and the client secret where
// no CONNECT sent them. A new CONNECT records the new URLs.
//
// A token set stored before URLs were recorded (or one a host obtained
// itself, through an Endpoint built with [NewEndpoint], or built by hand,
// and stored with [SealToken]) has none: it is refreshed and revoked at the
// current URLs, as before pinning, and the first refresh by a
// [TokenSource] records the URLs it used (trust on first use).

// endpointPins are the URLs a token set is bound to. The zero value means
// "not recorded": a set obtained before pinning existed.
type endpointPins struct {
	tokenURL  string
	revokeURL string
}

// recorded reports whether the pins were recorded: every pinned set has a
// token URL (an Endpoint cannot be built without one); the revoke URL may
// be empty (the connection had none).
func (p endpointPins) recorded() bool { return p.tokenURL != "" }

// pins returns the URLs e would bind a token set it obtains to.
func (e *Endpoint) pins() endpointPins {
	return endpointPins{tokenURL: e.tokenURL, revokeURL: e.revokeURL}
}

// pinned returns a copy of e that uses the URLs recorded in p, for a token
// set bound to p. field (connection.FieldTokenURL or FieldRevokeURL) names
// the URL the caller is about to send credentials to: when e (built from
// the connection's current values) resolves it to another URL than the
// recorded one, pinned fails with an *EndpointChangedError. The other URL
// is taken from p unchecked, so that a set obtained through the copy keeps
// the pins of the set it replaces. Unrecorded pins leave e as it is.
func (e *Endpoint) pinned(ref connection.Ref, p endpointPins, field string) (*Endpoint, error) {
	if !p.recorded() {
		return e, nil
	}
	current, connected := e.tokenURL, p.tokenURL
	if field == connection.FieldRevokeURL {
		current, connected = e.revokeURL, p.revokeURL
	}
	if current != connected {
		return nil, &EndpointChangedError{Ref: ref, Field: field, Connected: connected, Current: current}
	}
	c := *e
	c.tokenURL, c.revokeURL = p.tokenURL, p.revokeURL
	return &c, nil
}

// EndpointChangedError reports that a connection's token or revocation URL
// now resolves to another URL than the one recorded when the connection was
// connected (see [Flow.ServeHTTP]), so connkit refused to send the refresh
// token, the client secret or a token to either: only a new CONNECT, which
// records the new URL, helps. It matches [ErrMisconfigured].
//
// Its message names the connection and the field, not the URLs (which may
// hold tenant data); the fields hold them for the host, and the connection's
// log names both hosts.
type EndpointChangedError struct {
	// Ref is the connection.
	Ref connection.Ref
	// Field is connection.FieldTokenURL or connection.FieldRevokeURL.
	Field string
	// Connected is the URL recorded at CONNECT ("" for a revocation URL:
	// the connection had none).
	Connected string
	// Current is the URL the connection's values resolve to now ("" when
	// they give none).
	Current string
}

// Error says which URL changed and that the connection must be reconnected.
func (e *EndpointChangedError) Error() string {
	return fmt.Sprintf("oauth: connection %s: the connection's %s changed since CONNECT: reconnect", e.Ref, fieldName(e.Field))
}

// Is matches ErrMisconfigured.
func (e *EndpointChangedError) Is(target error) bool { return target == ErrMisconfigured }

// attrs are the log attributes of the change: the field and both hosts (no
// path or query, which may carry tenant data).
func (e *EndpointChangedError) attrs(a map[string]string) map[string]string {
	a["endpoint"] = e.Field
	a["connected_host"] = hostOf(e.Connected)
	a["current_host"] = hostOf(e.Current)
	return a
}

func fieldName(key string) string {
	for _, f := range endpointFields {
		if f.key == key {
			return f.name
		}
	}
	return key
}
