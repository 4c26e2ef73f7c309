package store

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/connkit/connkit/connection"
)

// The errors every implementation returns, matched with errors.Is. An
// implementation wraps them (fmt.Errorf("...: %w", ErrNotFound)) and keeps its
// backend's own error reachable with errors.As where one caused the failure.
var (
	// ErrNotFound: the record does not exist (or, for a pending
	// authorization, was already consumed or has expired).
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a compare-and-swap write lost (the stored revision is not
	// the one the writer read) or a record to create already exists. Re-read
	// and try again.
	ErrConflict = errors.New("store: revision conflict")
	// ErrLeaseHeld: another owner holds an unexpired lease.
	ErrLeaseHeld = errors.New("store: lease held by another owner")
	// ErrTemplateLocked: the template is referenced by a published
	// integration version, so it can no longer be changed or deleted.
	ErrTemplateLocked = errors.New("store: template is locked by a published integration version")
	// ErrFieldsChanged: a ResealTemplate call would add or remove secret
	// fields; re-sealing may only replace the sealed bytes of the fields the
	// template already has.
	ErrFieldsChanged = errors.New("store: reseal would add or remove secret fields")
	// ErrInvalid: a write was refused because its record lacks an
	// identifier the contract requires: a nil record, an empty
	// Connection.ID, a Connection.Ref without instance id or variable key
	// (the error then also matches connection.ErrBadRef), an empty
	// Instance.ID, Template.ID, Version.IntegrationID,
	// PendingAuth.StateHash or LogEntry.ConnectionID, or an empty lease key
	// or owner. Nothing was written. Every implementation checks these, so
	// a record accepted by one store is accepted by all.
	ErrInvalid = errors.New("store: invalid record")
)

// DefaultLogRetention is the number of log entries per connection that
// store/memory and store/sqlstore keep when their LogRetention option is zero;
// other implementations should keep at least as many by default.
//
// Every implementation's retention option reads the same way: a positive
// value keeps that many newest entries per connection, zero means the
// implementation's default, and a negative value keeps every entry (the
// host then bounds the logs itself).
const DefaultLogRetention = 1000

// Store is everything connkit keeps. A host may implement it over its own
// database; store/memory and store/sqlstore are ready-made implementations,
// and store/storetest is the conformance suite every implementation must pass.
//
// Contract for every method of every part:
//   - Safe for concurrent use by many goroutines and, for shared backends,
//     by many processes.
//   - Records passed in are copied; the store keeps no reference to the
//     caller's maps or slices. Records returned are the caller's to modify.
//   - A nil map and an empty one mean the same: a store may return either
//     where the other was written (so a caller nil-checks a returned map
//     before adding to it). A key with an empty value ("" or empty bytes)
//     stays present.
//   - Times are stored at least to the millisecond. Times a store stamps
//     (UpdatedAt, CreatedAt) are set by the store from its clock (an option
//     of each implementation); the values a caller passes in those fields
//     are ignored unless a field's documentation says otherwise. Every other
//     time is the caller's and is kept as given. Each record field below
//     says which it is.
//   - Something that expires (a pending authorization, a lease) has expired
//     once the store's clock reads its expiry time or later: at exactly
//     that instant it is gone. Every replica sharing a store must decide
//     this by one clock (see [Leases]).
//   - A write whose record lacks a required identifier (an empty ID, an
//     invalid Ref, ...) is refused with [ErrInvalid] and writes nothing.
//   - A listing method given a limit of zero or less returns nothing and no
//     error.
//   - Secret material reaches a store only sealed (see [Sealer]); a store
//     never needs a key.
//   - The context bounds the call; a cancelled context returns its error.
type Store interface {
	Connections
	Instances
	Templates
	Pending
	Logs
	Leases
}

// Connection is the stored record of one connection, addressed by its
// [connection.Ref] and by a stable opaque ID that survives DISCONNECT and a
// later CONNECT. Every field but Revision and UpdatedAt is the caller's and
// is kept as given.
type Connection struct {
	// ID is the stable opaque id, chosen by the creator (see NewID); never
	// empty ([ErrInvalid]).
	ID string
	// Ref is the (instance, variable[, user]) address; unique. Its instance
	// id and variable key are required ([ErrInvalid], also matching
	// connection.ErrBadRef); User is empty for instance-level variables.
	Ref connection.Ref
	// Values are the non-secret field values set on the instance.
	Values map[string]string
	// Secrets are sealed secret field values set on the instance, each
	// sealed with AssociatedData("connection", ID, fieldKey).
	Secrets map[string][]byte
	// Sources says who set each value in Values or Secrets
	// (connection.SourceCustomer or connection.SourceHost).
	Sources map[string]connection.Source
	// Token is the OAuth 2.0 token set, nil when not connected.
	Token *Token
	// Metadata holds non-secret data the provider returned, such as a token
	// response's instance_url or a callback's realmId.
	Metadata map[string]string
	// Health is the status shown to people. It is the caller's, Since
	// included (the caller's clock), and kept as given.
	Health connection.Health
	// Revision is the compare-and-swap revision: 0 for a connection not yet
	// stored, then 1, 2, ... as set by PutConnection.
	Revision int64
	// UpdatedAt is set by the store on every write; the value passed to
	// PutConnection is ignored.
	UpdatedAt time.Time
}

// Token is a connection's sealed OAuth 2.0 token set with the plaintext facts
// the refresher needs to schedule it.
type Token struct {
	// Sealed is the sealed token set (access and refresh token, type, scopes,
	// extra fields), sealed with AssociatedData("connection", ID, "token").
	Sealed []byte
	// Expiry is when the access token expires; never zero. Set by the
	// caller (the provider's expires_in added to the caller's clock) and
	// kept as given; ListRefreshable orders by it.
	Expiry time.Time
	// Refreshable reports whether the set holds a refresh token.
	Refreshable bool
	// ObtainedAt is when the provider issued the set, by the caller's
	// clock; kept as given.
	ObtainedAt time.Time
}

// Cursor is a position in the refresh listing: entries strictly after
// (Expiry, ID). The zero Cursor starts at the beginning. A caller builds the
// next page's Cursor from the last connection of the page it got; a store
// never returns one.
type Cursor struct {
	// Expiry is the Token.Expiry of the last connection already listed, as
	// the store returned it.
	Expiry time.Time
	// ID is that connection's ID: among connections with the same Expiry,
	// those with a greater ID come next.
	ID string
}

// Connections stores connection records.
type Connections interface {
	// GetConnection returns the connection at ref, or ErrNotFound.
	GetConnection(ctx context.Context, ref connection.Ref) (*Connection, error)
	// GetConnectionByID returns the connection with the given id, or
	// ErrNotFound.
	GetConnectionByID(ctx context.Context, id string) (*Connection, error)
	// PutConnection writes c if the stored revision equals c.Revision (0:
	// the connection must not exist yet, by ID or by Ref) and returns the
	// new revision, c.Revision+1. Otherwise it writes nothing and returns
	// ErrConflict. An empty c.ID or a c.Ref without instance id or
	// variable key is ErrInvalid (checked before the revision). The write
	// is atomic: a failed or cancelled write leaves the previous revision
	// readable. c is not modified.
	PutConnection(ctx context.Context, c *Connection) (int64, error)
	// DeleteConnection removes the connection with the given id if its
	// revision is rev; ErrConflict if not, ErrNotFound if absent. Its logs
	// are removed with it.
	DeleteConnection(ctx context.Context, id string, rev int64) error
	// ListConnections returns the connections of one instance, ordered by
	// variable key then user.
	ListConnections(ctx context.Context, instanceID string) ([]*Connection, error)
	// ScanConnections returns up to limit connections with ID greater than
	// afterID, ordered by ID: a full scan in pages (for key rotation). A
	// limit of zero or less returns no connections.
	ScanConnections(ctx context.Context, afterID string, limit int) ([]*Connection, error)
	// ListRefreshable returns up to limit connections whose token is
	// refreshable, ordered by (Token.Expiry, ID), strictly after the cursor.
	// A limit of zero or less returns no connections.
	ListRefreshable(ctx context.Context, after Cursor, limit int) ([]*Connection, error)
}

// Instances stores the identities of deployed instances.
type Instances interface {
	// PutInstance creates or replaces the instance with in.ID.
	PutInstance(ctx context.Context, in connection.Instance) error
	// GetInstance returns the instance, or ErrNotFound.
	GetInstance(ctx context.Context, id string) (connection.Instance, error)
	// ListInstances returns every instance ordered by ID.
	ListInstances(ctx context.Context) ([]connection.Instance, error)
	// DeleteInstance removes the instance and its connections (and their
	// logs); ErrNotFound if absent.
	DeleteInstance(ctx context.Context, id string) error
}

// Template is the stored record of a connection template. Every field but
// Revision, CreatedAt and UpdatedAt is the caller's and kept as given.
type Template struct {
	// ID is the template's id, chosen by the creator (see NewID); never
	// empty ([ErrInvalid]). It is what integration versions pin.
	ID string
	// Name is the template's name as shown to people.
	Name string
	// Component is the key of the component whose connection type the
	// template fills; ListTemplates selects by it.
	Component string
	// Type is the key of that connection type within the component.
	Type string
	// Values are the non-secret values the template fills.
	Values map[string]string
	// Secrets are sealed secret values, sealed with
	// AssociatedData("template", ID, fieldKey).
	Secrets map[string][]byte
	// Revision works as for Connection.
	Revision int64
	// CreatedAt is set by the store when the template is created and kept
	// by every later write. UpdatedAt is set by the store on every write
	// (PutTemplate and ResealTemplate). The values passed in are ignored.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Version names one published version of an integration. Both fields are
// the caller's; a store records a Version when it is published and never
// changes it.
type Version struct {
	// IntegrationID is the integration's id; never empty ([ErrInvalid]).
	IntegrationID string
	// Version is the integration's version number, as the host numbers
	// them.
	Version int
}

// Templates stores connection templates and which published integration
// versions pin them.
type Templates interface {
	// GetTemplate returns the template, or ErrNotFound.
	GetTemplate(ctx context.Context, id string) (*Template, error)
	// ListTemplates returns the templates of one component ("" for all),
	// ordered by ID.
	ListTemplates(ctx context.Context, component string) ([]*Template, error)
	// PutTemplate writes t with compare-and-swap on t.Revision, as
	// PutConnection does, and returns the new revision. A template pinned by
	// a published version cannot be changed: ErrTemplateLocked. The lock
	// check and the write are atomic with respect to Publish.
	PutTemplate(ctx context.Context, t *Template) (int64, error)
	// ResealTemplate replaces the sealed secret values of template id, and
	// nothing else, if its stored revision is rev, and returns the new
	// revision, rev+1; UpdatedAt moves too. It exists for key rotation only
	// (see Rewrap) and, unlike PutTemplate, is allowed on a template pinned
	// by a published version, so that the key that sealed a published
	// template's secrets can be retired.
	//
	// It must not change plaintext: each value in secrets must be the stored
	// value opened and sealed again (under another key, with the same
	// associated data). A store holds no key and cannot check that; a caller
	// that changes a secret here breaks the promise that a published
	// template never changes. What a store checks: an unknown id is
	// ErrNotFound; a stored revision other than rev is ErrConflict; at the
	// right revision, secrets whose field keys are not exactly the stored
	// ones (a key added, removed or renamed) are ErrFieldsChanged. On any
	// error nothing is written. The store keeps a copy of secrets.
	ResealTemplate(ctx context.Context, id string, rev int64, secrets map[string][]byte) (int64, error)
	// DeleteTemplate removes an unpinned template; ErrTemplateLocked when
	// pinned, ErrNotFound when absent.
	DeleteTemplate(ctx context.Context, id string) error
	// Publish records that a version of an integration is published with
	// variables referencing templateIDs, pinning each of them. templateIDs
	// is a set: order and repeats do not matter. It is atomic: if any
	// template does not exist it pins nothing, records nothing and returns
	// ErrNotFound. Publishing the same version again with the same set is a
	// no-op; with another set it is ErrConflict (published versions are
	// immutable). A version published with no ids is recorded too, so
	// publishing it again with some is ErrConflict.
	Publish(ctx context.Context, v Version, templateIDs []string) error
	// Pins returns the published versions that reference a template, ordered
	// by integration id then version; empty when none.
	Pins(ctx context.Context, templateID string) ([]Version, error)
}

// PendingAuth is an OAuth 2.0 authorization started by CONNECT and not yet
// completed by the callback. Every field is the caller's and is returned by
// ConsumePending as given, except a zero CreatedAt, TTL and, when TTL is
// positive, ExpiresAt (see there).
type PendingAuth struct {
	// StateHash is the SHA-256 of the state parameter, hex-encoded; the
	// state itself is never stored. Never empty ([ErrInvalid]).
	StateHash string
	// ConnectionID is the stable id of the connection the flow was started
	// for: the callback writes the token to it. The connection need not
	// exist yet; the store does not check it.
	ConnectionID string
	// Ref is that connection's address when the flow started; the store
	// does not check it.
	Ref connection.Ref
	// Verifier is the sealed PKCE code verifier (nil without PKCE), sealed
	// with AssociatedData("pending", StateHash, "verifier").
	Verifier []byte
	// RedirectURI, TokenURL and Issuer are the values the flow started with;
	// the callback uses these, not values read again later.
	RedirectURI string
	TokenURL    string
	Issuer      string
	// Data carries small non-secret values the flow needs back at the
	// callback (for example the user id of a user-level connection).
	Data map[string]string
	// CreatedAt is when the flow started, for people and diagnostics only:
	// PutPending sets it from the store's clock when it is zero and keeps
	// it otherwise (the caller's clock). No decision depends on it.
	CreatedAt time.Time
	// TTL, when positive, is the authorization's lifetime, counted by the
	// store: PutPending sets ExpiresAt to the store's now plus TTL, reading
	// the clock it decides expiry with (the one of lease expiry, see
	// [Leases]), and ignores the ExpiresAt passed in. One clock then starts
	// and ends the lifetime, and a caller whose clock is off neither
	// shortens nor lengthens it. TTL is an instruction to PutPending, not
	// part of the record: ConsumePending returns it as zero. Zero or
	// negative: ExpiresAt is the caller's (see there).
	TTL time.Duration
	// ExpiresAt is when the authorization expires: from the moment the
	// store's clock reads ExpiresAt it can no longer be consumed, and
	// PutPending may delete it. With a positive TTL the store sets it (the
	// value passed in is ignored, ConsumePending returns the one set, at
	// least to the millisecond). Otherwise it is the caller's (normally its
	// clock plus a lifetime of minutes) and kept as given; a caller's clock
	// that is off then shortens or lengthens the lifetime by as much, which
	// is why callers should set TTL.
	ExpiresAt time.Time
}

// Pending stores pending authorizations.
type Pending interface {
	// PutPending records p, with ExpiresAt set from the store's clock when
	// p.TTL is positive; ErrConflict if an unexpired pending
	// authorization with its StateHash exists. An expired one does not
	// count: it is replaced. A store may also delete expired
	// authorizations at any time (store/memory and store/sqlstore do so
	// during PutPending).
	PutPending(ctx context.Context, p *PendingAuth) error
	// ConsumePending atomically removes and returns the pending
	// authorization with the given state hash. It is single-use: of any
	// number of concurrent callers exactly one gets it, the others get
	// ErrNotFound, as do callers for an unknown or expired (by the store's
	// clock) state.
	ConsumePending(ctx context.Context, stateHash string) (*PendingAuth, error)
}

// LogEntry is one record of a connection's log. Message and Attrs must
// already be safe to show: no secrets. Every field but Seq (and a zero Time)
// is the caller's and kept as given; entries are never changed once
// appended.
type LogEntry struct {
	// ConnectionID is the id of the connection the entry belongs to; it
	// must exist when the entry is appended. Never empty ([ErrInvalid]).
	ConnectionID string
	// Seq is assigned by AppendLog, increasing per connection; the value
	// passed in is ignored. It, not Time, orders a connection's log.
	Seq int64
	// Time is when it happened, by the caller's clock, kept as given. A
	// zero Time is set by AppendLog from the store's clock.
	Time time.Time
	// Level is the entry's severity, as log/slog grades it.
	Level slog.Level
	// Event is a short machine-readable name of what happened, such as
	// "connected", "refreshed", "refresh_failed" or "disconnected" (the
	// oauth package's Event constants); the store does not interpret it.
	Event string
	// Message is a human-readable sentence, already redacted.
	Message string
	// Attrs are further details (for example scopes or an error code),
	// already redacted.
	Attrs map[string]string
}

// Logs stores connection logs: append-only and bounded per connection.
type Logs interface {
	// AppendLog adds e (its Seq and, when zero, Time are set by the store)
	// and returns the assigned Seq. The connection must exist: for an
	// unknown e.ConnectionID (never created, or deleted) it appends nothing
	// and returns ErrNotFound. When a connection holds more entries than
	// the store's retention (an option of each implementation, read as
	// [DefaultLogRetention] says: a negative retention keeps every entry),
	// the oldest are dropped.
	AppendLog(ctx context.Context, e *LogEntry) (int64, error)
	// ListLogs returns up to limit entries of one connection, newest first,
	// with Seq < before (before <= 0: from the newest). An unknown
	// connection has no entries (no error). A limit of zero or less
	// returns no entries.
	ListLogs(ctx context.Context, connectionID string, before int64, limit int) ([]LogEntry, error)
}

// Lease is a lock that one owner holds on one key until it expires or is
// released.
type Lease struct {
	// Key names what is locked, such as one connection's refresh; chosen by
	// the caller.
	Key string
	// Owner identifies the holder (a replica, a process); chosen by the
	// caller.
	Owner string
	// Expires is set by the store: the store's now + ttl, by the clock the
	// store decides expiry with (see [Leases]), at least to the millisecond.
	// Compare it with that clock only; a caller's own clock may disagree.
	Expires time.Time
}

// Leases grants refresh leases, so that one process at a time refreshes a
// connection.
//
// One clock: every replica sharing a store must decide "is this lease still
// held" by the same clock, and set Expires by it. A store that let each
// replica use its own wall clock would let a replica whose clock runs ten
// seconds fast take a lease that another still holds for ten seconds: two
// refreshes with one rotating refresh token, and strict providers revoke the
// grant. A shared backend therefore takes the time from the backend (as
// store/sqlstore does on PostgreSQL, from the database server's clock), or
// its documentation says that it relies on the replicas' clocks agreeing to
// well within a lease's ttl. The same holds for the expiry of pending
// authorizations.
type Leases interface {
	// AcquireLease gives key to owner for ttl: the returned Lease expires at
	// the store's now + ttl. It succeeds when the key is free, expired (the
	// store's clock reads its Expires or later), or already held by owner
	// (moving its expiry to now + ttl), and returns ErrLeaseHeld when
	// another owner holds an unexpired lease. A ttl of zero or less is an
	// error (not matching any sentinel) and changes nothing.
	AcquireLease(ctx context.Context, key, owner string, ttl time.Duration) (Lease, error)
	// ReleaseLease frees key if owner holds it; otherwise it does nothing
	// and returns nil.
	ReleaseLease(ctx context.Context, key, owner string) error
}
