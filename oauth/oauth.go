package oauth

import (
	"context"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/template"
)

// Resolver resolves a connection's effective values. *template.Manager
// implements it. A resolution's Sources must say which layer every value
// came from: the origin check ("Who may choose the endpoints" in the
// package documentation) decides by them where the client secret may go.
// A secret without a recorded source counts as an instance value set by
// the host, a URL without one as a type default.
type Resolver interface {
	Resolve(ctx context.Context, ref connection.Ref) (*template.Resolution, error)
}

// Scheduler learns which connections hold refresh tokens and when they
// expire. The callback and disconnect paths tell it; the [Refresher]
// implements it. Both methods must be cheap and must not block on I/O.
type Scheduler interface {
	// Schedule (re)schedules the connection for a refresh ahead of expiry.
	Schedule(connectionID string, ref connection.Ref, expiry time.Time)
	// Unschedule stops refreshing the connection.
	Unschedule(connectionID string)
}
