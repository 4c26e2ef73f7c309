package oauth

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

// Defaults of [RefresherConfig].
const (
	// DefaultRefresherConcurrency is how many connections are refreshed at
	// once.
	DefaultRefresherConcurrency = 8
	// DefaultRefresherPageSize is how many connections one store call
	// lists when loading.
	DefaultRefresherPageSize = 500
	// DefaultRescanInterval is how often the refresher lists the store
	// again to learn of connections connected through other replicas.
	DefaultRescanInterval = time.Hour
)

// ErrRefresherRunning is returned by [Refresher.Run] while another Run of the
// same Refresher is in progress.
var ErrRefresherRunning = errors.New("oauth: refresher is already running")

// RefresherConfig configures [NewRefresher]. The zero value works.
type RefresherConfig struct {
	// Concurrency bounds how many refreshes run at once; zero means
	// DefaultRefresherConcurrency.
	Concurrency int
	// PageSize is how many connections one store listing returns; zero
	// means DefaultRefresherPageSize.
	PageSize int
	// KeepAliveAge, when positive, also refreshes a connection whose token
	// set was obtained longer ago than this, for providers that expire
	// refresh tokens left unused (while their access tokens live long).
	KeepAliveAge time.Duration
	// RescanInterval is how often the store is listed again, to learn of
	// connections that other replicas connected; zero means
	// DefaultRescanInterval, a negative value lists it only at start.
	RescanInterval time.Duration
}

// Refresher refreshes every connection that holds a refresh token ahead of
// its expiry, in the background, through the same protocol as
// [TokenSource.Token]. It keeps the connections in a min-heap by due time
// (O(log n) per schedule, reschedule, removal and pop, about a hundred bytes
// per connection), loads them from the store in pages when it starts (and
// every RescanInterval), and learns of new, reconnected and disconnected
// connections through its [Scheduler] methods, which the CONNECT callback
// and DISCONNECT call: pass it as the flow's Scheduler.
//
// Every replica may run one: the store's lease makes each refresh happen
// once, and a replica that finds a connection already refreshed only reads
// the new due time.
type Refresher struct {
	t           *Tokens
	concurrency int
	pageSize    int
	keepAlive   time.Duration
	rescan      time.Duration

	mu   sync.Mutex
	h    dueHeap
	busy map[string]bool // being refreshed; true: unscheduled meanwhile
	wake chan struct{}

	running atomic.Bool
}

var _ Scheduler = (*Refresher)(nil)

// NewRefresher returns a refresher over tokens, whose token sources it
// refreshes (and which tell it of every new token set they obtain). A Tokens
// has at most one Refresher; a second replaces the first.
func NewRefresher(tokens *Tokens, cfg RefresherConfig) *Refresher {
	r := &Refresher{
		t:           tokens,
		concurrency: cfg.Concurrency,
		pageSize:    cfg.PageSize,
		keepAlive:   max(cfg.KeepAliveAge, 0),
		rescan:      cfg.RescanInterval,
		h:           dueHeap{byID: make(map[string]*dueEntry)},
		busy:        make(map[string]bool),
		wake:        make(chan struct{}, 1),
	}
	if r.concurrency <= 0 {
		r.concurrency = DefaultRefresherConcurrency
	}
	if r.pageSize <= 0 {
		r.pageSize = DefaultRefresherPageSize
	}
	if r.rescan == 0 {
		r.rescan = DefaultRescanInterval
	}
	tokens.refresher.Store(r)
	return r
}

// Schedule implements [Scheduler]: the connection got a new token set (at
// CONNECT), so this process forgets what it cached for it, and it is
// scheduled for a refresh ahead of expiry.
func (r *Refresher) Schedule(connectionID string, ref connection.Ref, expiry time.Time) {
	if connectionID == "" {
		return
	}
	r.t.reset(connectionID)
	r.set(connectionID, r.estimate(expiry, r.t.now())) // obtained just now
}

// Unschedule implements [Scheduler]: the connection was disconnected (or
// connected again without a refresh token), so this process forgets what it
// cached for it and no longer refreshes it.
func (r *Refresher) Unschedule(connectionID string) {
	r.t.reset(connectionID)
	r.remove(connectionID)
}

// Len returns the number of scheduled connections.
func (r *Refresher) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.h.items)
}

// estimate is a connection's due time known only from the store's plaintext
// facts: before expiry by the default leeway, with jitter. The refresh run
// then tells the exact one (by the type's leeway).
func (r *Refresher) estimate(expiry, obtained time.Time) time.Time {
	lifetime := expiry.Sub(obtained)
	if obtained.IsZero() || lifetime <= 0 {
		lifetime = expiry.Sub(r.t.now())
	}
	leeway := max((*connection.OAuth2)(nil).Leeway(lifetime), 0)
	due := expiry.Add(-leeway - r.t.jitter(leeway/2))
	if r.keepAlive > 0 && !obtained.IsZero() {
		due = minTime(due, obtained.Add(r.keepAlive))
	}
	return due
}

// set schedules id at due, or moves it there.
func (r *Refresher) set(id string, due time.Time) {
	r.mu.Lock()
	if _, ok := r.busy[id]; ok {
		r.busy[id] = false // scheduled again while being refreshed
	}
	root := r.h.set(id, due.UnixNano())
	r.mu.Unlock()
	if root {
		r.notify()
	}
}

// setIfAbsent schedules id at due unless it is scheduled or being refreshed.
func (r *Refresher) setIfAbsent(id string, due time.Time) {
	r.mu.Lock()
	_, busy := r.busy[id]
	root := false
	if _, ok := r.h.byID[id]; !ok && !busy {
		root = r.h.set(id, due.UnixNano())
	}
	r.mu.Unlock()
	if root {
		r.notify()
	}
}

// remove unschedules id.
func (r *Refresher) remove(id string) {
	r.mu.Lock()
	if _, ok := r.busy[id]; ok {
		r.busy[id] = true
	}
	r.h.remove(id)
	r.mu.Unlock()
}

func (r *Refresher) notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// popDue removes and returns the first connection due at now, marking it
// busy; otherwise it returns how long until the next one is due (a negative
// duration when none is scheduled).
func (r *Refresher) popDue(now time.Time) (string, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.h.items) == 0 {
		return "", -1
	}
	top := r.h.items[0]
	if wait := time.Duration(top.due - now.UnixNano()); wait > 0 {
		return "", wait
	}
	r.h.removeAt(0)
	r.busy[top.id] = false
	return top.id, 0
}

// Run refreshes connections as they come due until ctx is done, then waits
// for the refreshes it started to hand back and returns nil. A refresh
// already talking to the provider finishes in the background (bounded by the
// Tokens' RefreshTimeout); [Tokens.Close] waits for it. Run returns
// ErrRefresherRunning if the refresher is already running.
func (r *Refresher) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return ErrRefresherRunning
	}
	defer r.running.Store(false)
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, r.concurrency)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()

	var nextScan time.Time // the zero time: list the store at once
	for failures := 0; ; {
		if ctx.Err() != nil {
			return nil
		}
		if now := r.t.now(); !now.Before(nextScan) {
			switch err := r.load(ctx); {
			case ctx.Err() != nil:
				return nil
			case err != nil:
				failures++
				wait := r.t.cooldownFor(failures, 0)
				r.t.logger.Warn("connkit: refresher cannot list connections; trying again", "error", err, "retry_in", wait)
				nextScan = now.Add(wait)
			case r.rescan > 0:
				failures = 0
				nextScan = now.Add(r.rescan)
			default:
				failures = 0
				nextScan = now.Add(100 * 365 * 24 * time.Hour)
			}
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		now := r.t.now()
		id, wait := r.popDue(now)
		if id != "" {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				r.work(ctx, id)
			}()
			continue
		}
		<-slots
		if untilScan := nextScan.Sub(now); wait < 0 || untilScan < wait {
			wait = untilScan
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-r.wake:
			timer.Stop()
		case <-ctx.Done():
			return nil
		}
	}
}

// work refreshes one popped connection and schedules it again.
func (r *Refresher) work(ctx context.Context, id string) {
	next, keep := r.t.refreshByID(ctx, id, r.keepAlive)
	r.mu.Lock()
	defer r.mu.Unlock()
	unscheduled := r.busy[id]
	delete(r.busy, id)
	if !keep || unscheduled {
		r.h.remove(id)
		return
	}
	if _, ok := r.h.byID[id]; ok && ctx.Err() == nil {
		// Scheduled again meanwhile (a new CONNECT): that time stands
		// unless ours is earlier.
		if r.h.byID[id].due <= next.UnixNano() {
			return
		}
	}
	if r.h.set(id, next.UnixNano()) {
		r.notify()
	}
}

// load lists every refreshable connection in pages and schedules those not
// yet known.
func (r *Refresher) load(ctx context.Context) error {
	var cur store.Cursor
	for {
		page, err := r.t.store.ListRefreshable(ctx, cur, r.pageSize)
		if err != nil {
			return err
		}
		for _, c := range page {
			if c.Token == nil || !c.Token.Refreshable {
				continue
			}
			r.setIfAbsent(c.ID, r.estimate(c.Token.Expiry, c.Token.ObtainedAt))
		}
		if len(page) < r.pageSize {
			return nil
		}
		last := page[len(page)-1]
		cur = store.Cursor{Expiry: last.Token.Expiry, ID: last.ID}
	}
}

// refreshByID is the refresher's refresh of one connection: through the
// connection's token source, so that it shares the source's single flight
// with the steps of this process. A source made only for this is dropped
// again afterwards, so the refresher does not keep a token in memory for
// every connection it holds.
func (t *Tokens) refreshByID(ctx context.Context, id string, keepAlive time.Duration) (time.Time, bool) {
	s := t.sourceOf(id)
	if s == nil {
		c, err := t.store.GetConnectionByID(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return time.Time{}, false
		case err != nil:
			if ctx.Err() == nil {
				t.logger.Warn("connkit: refresher cannot read a connection", "connection", id, "error", err)
			}
			return t.now().Add(t.cooldown), true
		case c.Token == nil || !c.Token.Refreshable:
			return time.Time{}, false
		}
		s = t.transientSource(c.Ref, id)
	}
	next, keep := s.scheduled(ctx, keepAlive)
	t.evict(s)
	return next, keep
}

// transientSource returns the source of ref, creating one that Source has
// not handed out (so evict may drop it) when there is none.
func (t *Tokens) transientSource(ref connection.Ref, id string) *TokenSource {
	t.mu.Lock()
	s := t.byRef[ref]
	if s == nil {
		s = &TokenSource{t: t, ref: ref, transient: true}
		t.byRef[ref] = s
	}
	t.mu.Unlock()
	s.setID(id)
	return s
}

// evict drops a source the refresher made, once it is idle.
func (t *Tokens) evict(s *TokenSource) { t.forget(s, true) }

// dueHeap is a binary min-heap of connections by due time, with an index by
// connection id. Every operation is O(log n); an entry is one small
// allocation.
type dueHeap struct {
	items []*dueEntry
	byID  map[string]*dueEntry
}

type dueEntry struct {
	due int64 // Unix nanoseconds
	idx int
	id  string
}

// set inserts id or moves it to due; it reports whether id is now first.
func (h *dueHeap) set(id string, due int64) bool {
	if e, ok := h.byID[id]; ok {
		e.due = due
		h.fix(e.idx)
		return e.idx == 0
	}
	e := &dueEntry{due: due, idx: len(h.items), id: id}
	h.items = append(h.items, e)
	h.byID[id] = e
	h.up(e.idx)
	return e.idx == 0
}

// remove deletes id if present.
func (h *dueHeap) remove(id string) {
	if e, ok := h.byID[id]; ok {
		h.removeAt(e.idx)
	}
}

func (h *dueHeap) removeAt(i int) {
	e := h.items[i]
	last := len(h.items) - 1
	if i != last {
		h.swap(i, last)
	}
	h.items[last] = nil
	h.items = h.items[:last]
	delete(h.byID, e.id)
	if i != last {
		h.fix(i)
	}
	// Give memory back after a large shrink.
	if c := cap(h.items); c > 1024 && len(h.items) < c/4 {
		h.items = append(make([]*dueEntry, 0, c/2), h.items...)
	}
}

func (h *dueHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h *dueHeap) less(i, j int) bool { return h.items[i].due < h.items[j].due }

func (h *dueHeap) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].idx = i
	h.items[j].idx = j
}

func (h *dueHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

func (h *dueHeap) down(i0 int) bool {
	i, n := i0, len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && h.less(r, l) {
			j = r
		}
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}
