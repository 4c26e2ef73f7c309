package oauth

import "time"

// Test-only access to the refresher's heap, for the property test and the
// benchmarks in package oauth_test.

// SetDue schedules id at due, as the refresher does internally.
func (r *Refresher) SetDue(id string, due time.Time) { r.set(id, due) }

// PopDue removes and returns the first connection due at now, or says how
// long until the next one is due (negative when none is scheduled).
func (r *Refresher) PopDue(now time.Time) (string, time.Duration) {
	id, wait := r.popDue(now)
	if id != "" {
		r.mu.Lock()
		delete(r.busy, id)
		r.mu.Unlock()
	}
	return id, wait
}
