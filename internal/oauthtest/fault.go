package oauthtest

import (
	"net/http"
)

// Fault is a misbehaviour injected into the token or revocation endpoint by
// [Server.FailToken] or [Server.FailRevoke].
//
// A fault that hangs first blocks until the request's context is done (the
// client gave up: nothing is written), Release is closed, or the test ends.
// Then, or at once for a fault that does not hang, it answers with
// Status/Error if either is set; a hang-only fault serves the request
// normally once released, which makes a slow provider.
type Fault struct {
	// GrantType restricts a token fault to requests with this grant_type
	// (for example [GrantRefreshToken]); empty matches every request.
	// Revocation faults ignore it.
	GrantType string
	// Status is the HTTP status to answer, such as 503 or 429. Zero means
	// 400 when Error is set (401 for invalid_client).
	Status int
	// RetryAfter is sent verbatim as the Retry-After header when not empty,
	// for example "2" or an HTTP date.
	RetryAfter string
	// Error and Description make the body an RFC 6749 section 5.2 error
	// response, for example Error "invalid_grant". With Error empty the
	// body is a short plain text.
	Error       string
	Description string
	// Hang blocks the request first; see the type's documentation.
	Hang bool
	// Release, when closed, ends a Hang. Nil waits for the request's
	// context or the end of the test only.
	Release <-chan struct{}
	// Hanging, if set, is called when a request starts to hang, so a test
	// over a real socket knows when to cancel or release it. (Inside a
	// testing/synctest bubble, synctest.Wait does the same.)
	Hanging func()
}

type faultEntry struct {
	left  int // <0: forever
	fault Fault
}

// FailToken makes the next n token requests that match f.GrantType
// misbehave as f says; n < 0 means every matching request until
// [Server.ClearFaults]. Faults queue: a request takes the earliest
// matching one.
func (s *Server) FailToken(n int, f Fault) {
	if n == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.tokenFaults = append(s.state.tokenFaults, &faultEntry{left: n, fault: f})
}

// FailRevoke makes the next n revocation requests misbehave as f says; n < 0
// means every one until [Server.ClearFaults].
func (s *Server) FailRevoke(n int, f Fault) {
	if n == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.revokFaults = append(s.state.revokFaults, &faultEntry{left: n, fault: f})
}

// ClearFaults drops every pending fault. Requests already hanging keep
// hanging until released.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.tokenFaults = nil
	s.state.revokFaults = nil
}

// takeFault removes one use of the first fault matching grantType from q;
// the caller holds the lock.
func takeFault(q *[]*faultEntry, grantType string, token bool) (Fault, bool) {
	for i, e := range *q {
		if token && e.fault.GrantType != "" && e.fault.GrantType != grantType {
			continue
		}
		if e.left > 0 {
			e.left--
			if e.left == 0 {
				*q = append((*q)[:i:i], (*q)[i+1:]...)
			}
		}
		return e.fault, true
	}
	return Fault{}, false
}

// applyFault plays f. It reports whether the response is finished (written,
// or abandoned because the client went away); false means serve normally.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	if f.Hang {
		if f.Hanging != nil {
			f.Hanging()
		}
		select {
		case <-r.Context().Done():
			return true
		case <-f.Release:
		case <-s.done:
		}
	}
	if f.Status == 0 && f.Error == "" {
		return false
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Error != "" {
		status := f.Status
		if status == 0 {
			status = http.StatusBadRequest
			if f.Error == "invalid_client" {
				status = http.StatusUnauthorized
			}
		}
		writeError(w, status, f.Error, f.Description)
		return true
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(f.Status)
	_, _ = w.Write([]byte(http.StatusText(f.Status) + "\n"))
	return true
}
