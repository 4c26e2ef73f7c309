package memory

import (
	"cmp"
	"sync"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

// DefaultLogRetention is the number of log entries kept per connection when
// Options.LogRetention is zero: [store.DefaultLogRetention].
const DefaultLogRetention = store.DefaultLogRetention

// Options configure a Store. The zero value works.
type Options struct {
	// Now is the store's clock: it stamps UpdatedAt and CreatedAt, log
	// entries without a time, and decides when leases and pending
	// authorizations expire. Nil means time.Now.
	Now func() time.Time
	// LogRetention is how many log entries each connection keeps; the
	// oldest are dropped beyond it. Zero means DefaultLogRetention; a
	// negative value keeps every entry, as for every store (see
	// [store.DefaultLogRetention]).
	LogRetention int
}

// Store is an in-memory [store.Store], safe for concurrent use. Create one
// with New; the zero value is not usable.
type Store struct {
	now       func() time.Time
	retention int

	mu sync.RWMutex

	// Connections: the records by id, with indexes by Ref, by instance, by
	// id order (for ScanConnections) and by refresh order (for
	// ListRefreshable). Stored records are private copies, never handed out.
	conns      map[string]*store.Connection
	byRef      map[connection.Ref]*store.Connection
	byInstance map[string]map[string]struct{}
	idOrder    []string
	refresh    []refreshKey

	instances map[string]connection.Instance

	templates map[string]*store.Template
	// versions maps a published version to its sorted, distinct template
	// ids; pins maps a template id to the versions pinning it, sorted.
	versions map[store.Version][]string
	pins     map[string][]store.Version

	pending map[string]*store.PendingAuth
	// putsSinceSweep counts PutPending calls since expired pending
	// authorizations were last swept.
	putsSinceSweep int

	logs   map[string]*connLog
	leases map[string]store.Lease
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New(opts Options) *Store {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	retention := opts.LogRetention
	if retention == 0 {
		retention = DefaultLogRetention
	}
	return &Store{
		now:        now,
		retention:  retention,
		conns:      make(map[string]*store.Connection),
		byRef:      make(map[connection.Ref]*store.Connection),
		byInstance: make(map[string]map[string]struct{}),
		instances:  make(map[string]connection.Instance),
		templates:  make(map[string]*store.Template),
		versions:   make(map[store.Version][]string),
		pins:       make(map[string][]store.Version),
		pending:    make(map[string]*store.PendingAuth),
		logs:       make(map[string]*connLog),
		leases:     make(map[string]store.Lease),
	}
}

// clock returns the store's time without a monotonic reading, so stored
// times compare by instant alone.
func (s *Store) clock() time.Time { return s.now().Round(0) }

// refreshKey is a position in the refresh order.
type refreshKey struct {
	expiry time.Time
	id     string
}

func compareRefresh(a, b refreshKey) int {
	if c := a.expiry.Compare(b.expiry); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}
