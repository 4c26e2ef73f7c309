package httpx

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// TokenBodyLimit is the response size cap for OAuth token, revocation and
// similar small JSON endpoints (1 MiB).
const TokenBodyLimit int64 = 1 << 20

// ErrTooLarge is matched (errors.Is) by the error a capped body returns once
// it has more bytes than allowed. The concrete error is a [*TooLargeError].
var ErrTooLarge = errors.New("httpx: response body too large")

// TooLargeError reports a body that exceeded its cap.
type TooLargeError struct {
	// Limit is the cap in bytes.
	Limit int64
}

// Error states the cap.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("httpx: response body exceeds %d bytes", e.Limit)
}

// Unwrap returns [ErrTooLarge].
func (e *TooLargeError) Unwrap() error { return ErrTooLarge }

// LimitReader returns a ReadCloser that reads at most n bytes from rc and
// then fails with a [*TooLargeError] if rc has more; a body of exactly n
// bytes reads to io.EOF. Unlike io.LimitReader it never truncates silently.
// Closing it closes rc.
func LimitReader(rc io.ReadCloser, n int64) io.ReadCloser {
	return &limitedBody{rc: rc, remaining: max(n, 0), limit: max(n, 0)}
}

// LimitBody caps resp.Body at n bytes (see [LimitReader]). A response whose
// Content-Length already exceeds n fails on the first Read, before any of it
// is read. It does nothing when resp or its body is nil.
func LimitBody(resp *http.Response, n int64) {
	if resp == nil || resp.Body == nil {
		return
	}
	lb := &limitedBody{rc: resp.Body, remaining: max(n, 0), limit: max(n, 0)}
	if resp.ContentLength > lb.limit {
		lb.err = &TooLargeError{Limit: lb.limit}
	}
	resp.Body = lb
}

// ReadBody reads at most n bytes of resp's body and closes it. It returns a
// [*TooLargeError] (and no data) when the body is longer.
func ReadBody(resp *http.Response, n int64) ([]byte, error) {
	if resp == nil || resp.Body == nil {
		return nil, nil
	}
	LimitBody(resp, n)
	b, err := io.ReadAll(resp.Body)
	cerr := resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("httpx: read response body: %w", err)
	}
	if cerr != nil {
		return nil, fmt.Errorf("httpx: close response body: %w", cerr)
	}
	return b, nil
}

// limitedBody implements [LimitReader].
type limitedBody struct {
	rc        io.ReadCloser
	remaining int64
	limit     int64
	err       error // sticky
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Read one byte more than allowed, so that a body of exactly the limit
	// reaches EOF while a longer one is detected.
	if int64(len(p))-1 > l.remaining {
		p = p[:l.remaining+1]
	}
	n, err := l.rc.Read(p)
	if int64(n) > l.remaining {
		n = int(l.remaining)
		l.remaining = 0
		l.err = &TooLargeError{Limit: l.limit}
		return n, l.err
	}
	l.remaining -= int64(n)
	return n, err
}

func (l *limitedBody) Close() error { return l.rc.Close() }
