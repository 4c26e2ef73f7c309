package oauth

import (
	"context"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/template"
)

// Resolver resolves a connection's effective values. *template.Manager
// implements it.
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
