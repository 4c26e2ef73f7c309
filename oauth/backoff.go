package oauth

import (
	"context"
	"math/rand/v2"
	"time"
)

// Waits of the refresh protocol. Retries of a single token request (5xx, 429
// with a short Retry-After, failed dials) happen in the HTTP client (see
// [NewHTTPClient]); these are the waits around it.
const (
	// leaseWaitMin and leaseWaitMax bound the wait between two attempts to
	// take a connection's refresh lease while another process holds it.
	leaseWaitMin = 10 * time.Millisecond
	leaseWaitMax = 250 * time.Millisecond
	// writeWaitMin is the first wait before a failed store write of a new
	// token set is tried again; the waits double up to a quarter of the
	// lease TTL, so that the lease, extended on every attempt, never lapses.
	writeWaitMin = 500 * time.Millisecond
	// maxRetryAfter caps how long a provider's Retry-After is honoured.
	maxRetryAfter = 24 * time.Hour
)

// randomJitter is the default [TokensConfig.Jitter]: uniform in [0, max).
func randomJitter(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return rand.N(max)
}

// backoff returns the wait before attempt n (0 for the first retry): base
// doubled n times, capped at ceiling, with "equal jitter" (a uniformly random
// point in the upper half), so that processes failing together do not retry
// together.
func backoff(base, ceiling time.Duration, n int, jitter func(time.Duration) time.Duration) time.Duration {
	d := base
	for i := 0; i < n && d < ceiling; i++ {
		d *= 2
	}
	d = min(d, ceiling)
	half := d / 2
	return half + min(jitter(d-half+1), d-half)
}

// cooldownFor returns how long a connection waits before its next call to the
// token endpoint after its n-th consecutive failed refresh (n >= 1): a capped,
// jittered exponential cooldown, and never less than the Retry-After the
// provider asked for.
func (t *Tokens) cooldownFor(n int, retryAfter time.Duration) time.Duration {
	d := backoff(t.cooldown, t.maxCooldown, n-1, t.jitter)
	return max(d, min(retryAfter, maxRetryAfter))
}

// sleep waits for d or until ctx is done, whichever comes first, and returns
// ctx's error in the latter case.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
