// Package httpx is connkit's outbound HTTP plumbing: the transport-level pieces
// every other package builds on when it talks to a third party (OAuth token
// endpoints, revocation endpoints, and the authenticated *http.Client handed
// to steps). Authentication itself is layered on top by other packages.
//
// The pieces are:
//
//   - An SSRF guard ([Guard]) that checks the resolved destination address of
//     every dial, after DNS, so it holds on every redirect hop, every
//     reconnect and against DNS rebinding. Refused dials fail fast with a
//     [*BlockedError] that matches [ErrBlocked].
//   - Egress pinning: [Config.Proxy] and [Config.LocalAddr] pin outbound
//     traffic so a host can tell customers which addresses to allowlist
//     ([Config.Egress]).
//   - [NewTransport], a guarded *http.Transport with sane timeouts whose
//     zero-value [Config] is safe (guard on).
//   - [NewRetryingClient], a plain *http.Client that retries transient
//     failures through github.com/hashicorp/go-retryablehttp, never
//     re-sending a request whose body cannot be replayed. Its policies
//     ([RetryPolicy], [Backoff], [CanRetry]) are exported for reuse.
//   - [LimitBody] and [ReadBody], which cap how much of a response body is
//     read ([ErrTooLarge]).
//   - [NoRedirect], a CheckRedirect policy for endpoints that must not be
//     redirected (OAuth token endpoints).
//   - [RedactURL], [RedactError] and [SlogLogger], which keep query-string
//     secrets and credentials out of error strings and logs.
//
// Nothing in this package holds global mutable state; every value is built
// from an explicit configuration.
package httpx
