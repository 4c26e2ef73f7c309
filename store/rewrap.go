package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// RewrapOptions configure [Rewrap]. The zero value (or nil) works.
type RewrapOptions struct {
	// PageSize is how many connections each ScanConnections call reads.
	// Zero or less means 100.
	PageSize int
	// MaxAttempts bounds the compare-and-swap writes tried for one record
	// while concurrent writers keep changing it. Zero or less means 10.
	MaxAttempts int
	// MaxErrors bounds how many per-value errors the returned error lists;
	// the rest are only counted in RewrapStats.Failed. Zero or less means
	// 20.
	MaxErrors int
}

// RewrapStats counts what [Rewrap] did.
type RewrapStats struct {
	// Connections and Templates are the records read.
	Connections, Templates int
	// ConnectionsWritten and TemplatesWritten are the records written back
	// with at least one value re-sealed.
	ConnectionsWritten, TemplatesWritten int
	// Resealed is the number of sealed values re-sealed and written.
	Resealed int
	// Conflicts is the number of writes that lost to a concurrent writer
	// and were retried after reading the record again.
	Conflicts int
	// Failed is the number of values or records that could not be
	// re-sealed or written; each is described by a *RewrapError in the
	// returned error (up to RewrapOptions.MaxErrors of them).
	Failed int
}

// RewrapError describes one value or record that [Rewrap] could not re-seal
// or write back. It names where the value lives, never the value.
type RewrapError struct {
	// Kind is "connection" or "template".
	Kind string
	// ID is the connection or template id.
	ID string
	// Field is the secret field key, "token" for a connection's token set,
	// or "" when writing the whole record failed.
	Field string
	// Err is the cause: an error of the Sealer (wrapping ErrSealed when the
	// value does not open) or of the store (for example wrapping ErrConflict
	// when concurrent writers won MaxAttempts times in a row).
	Err error
}

// Error names the record and field that failed, never a value.
func (e *RewrapError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("store: rewrap %s %q: %v", e.Kind, e.ID, e.Err)
	}
	return fmt.Sprintf("store: rewrap %s %q field %q: %v", e.Kind, e.ID, e.Field, e.Err)
}

// Unwrap returns the cause.
func (e *RewrapError) Unwrap() error { return e.Err }

// Rewrap re-seals every sealed value in s that sealer.NeedsReseal flags under
// the sealer's current primary key, so that older keys can be retired: the
// secret values and token set of every connection (read with
// ScanConnections, page by page) and the secret values of every template.
// Each value is opened and sealed again with the same associated data
// (AssociatedData("connection", id, field), AssociatedData("connection", id,
// "token"), AssociatedData("template", id, field)), and each record is written
// back with compare-and-swap: a connection with PutConnection, a template
// with ResealTemplate, which changes nothing but its sealed secrets and works
// on templates pinned by a published integration version too. A write that
// loses to a concurrent writer reads the record again and starts over, so
// Rewrap can run while the store is in use. A record deleted meanwhile is
// skipped.
//
// Rewrap goes on past a value it cannot open or a record it cannot write, and
// returns the stats with an error joining a *RewrapError for each (see
// errors.As); the error is nil only when nothing needing a re-seal was left
// behind. It stops at once when ctx is done or a scan fails. Errors name ids
// and fields, never values.
//
// One kind of value is out of its reach: a pending authorization's PKCE
// verifier is not listed by any store method. Pending authorizations expire
// within minutes, so wait that long after rotating before retiring the old
// key.
func Rewrap(ctx context.Context, s Store, sealer Resealer, opts *RewrapOptions) (RewrapStats, error) {
	var o RewrapOptions
	if opts != nil {
		o = *opts
	}
	if o.PageSize <= 0 {
		o.PageSize = 100
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.MaxErrors <= 0 {
		o.MaxErrors = 20
	}
	rw := &rewrapper{s: s, sealer: sealer, opts: o}
	if err := rw.connections(ctx); err != nil {
		return rw.stats, rw.result(err)
	}
	if err := rw.templates(ctx); err != nil {
		return rw.stats, rw.result(err)
	}
	return rw.stats, rw.result(nil)
}

type rewrapper struct {
	s      Store
	sealer Resealer
	opts   RewrapOptions
	stats  RewrapStats
	errs   []error
}

// fail records a per-value or per-record failure.
func (rw *rewrapper) fail(err error) {
	rw.stats.Failed++
	if len(rw.errs) < rw.opts.MaxErrors {
		rw.errs = append(rw.errs, err)
	}
}

// result joins the fatal error, if any, with the recorded failures.
func (rw *rewrapper) result(fatal error) error {
	errs := rw.errs
	if fatal != nil {
		errs = append([]error{fatal}, errs...)
	}
	if more := rw.stats.Failed - len(rw.errs); more > 0 {
		errs = append(errs, fmt.Errorf("store: rewrap: %d more failures not listed", more))
	}
	return errors.Join(errs...)
}

func (rw *rewrapper) connections(ctx context.Context) error {
	after := ""
	for {
		page, err := rw.s.ScanConnections(ctx, after, rw.opts.PageSize)
		if err != nil {
			return fmt.Errorf("store: rewrap: scan connections after %q: %w", after, err)
		}
		for _, c := range page {
			rw.stats.Connections++
			if err := rw.connection(ctx, c); err != nil {
				return err
			}
		}
		if len(page) == 0 {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// connection re-seals one connection, retrying on conflicts. It returns only
// fatal errors (a done context); the others are recorded with fail.
func (rw *rewrapper) connection(ctx context.Context, c *Connection) error {
	id := c.ID
	for attempt := 1; ; attempt++ {
		n, errs := rw.resealMap("connection", id, c.Secrets)
		if c.Token != nil {
			env, ok, err := rw.reseal(c.Token.Sealed, AssociatedData("connection", id, "token"))
			switch {
			case err != nil:
				errs = append(errs, &RewrapError{Kind: "connection", ID: id, Field: "token", Err: err})
			case ok:
				c.Token.Sealed = env
				n++
			}
		}
		if n == 0 {
			rw.failAll(errs)
			return nil
		}
		_, err := rw.s.PutConnection(ctx, c)
		retry, fatal := rw.settle(ctx, "connection", id, n, errs, err, attempt)
		if !retry {
			if err == nil {
				rw.stats.ConnectionsWritten++
			}
			return fatal
		}
		c, err = rw.s.GetConnectionByID(ctx, id)
		if done, fatal := rw.reread(ctx, "connection", id, err); done {
			return fatal
		}
	}
}

// settle books the outcome of writing a record with n re-sealed values and
// the per-value errors errs. It reports whether to read the record again and
// retry, and any fatal error.
func (rw *rewrapper) settle(ctx context.Context, kind, id string, n int, errs []error, err error, attempt int) (retry bool, fatal error) {
	if err == nil {
		rw.failAll(errs)
		rw.stats.Resealed += n
		return false, nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return false, ctxErr
	}
	if errors.Is(err, ErrNotFound) {
		return false, nil // deleted meanwhile: nothing left to re-seal
	}
	if errors.Is(err, ErrConflict) && attempt < rw.opts.MaxAttempts {
		rw.stats.Conflicts++
		return true, nil
	}
	rw.failAll(errs)
	rw.fail(&RewrapError{Kind: kind, ID: id, Err: err})
	return false, nil
}

// reread books the outcome of reading a record again after a conflict. It
// reports whether to stop (the record is gone or unreadable) and any fatal
// error.
func (rw *rewrapper) reread(ctx context.Context, kind, id string, err error) (done bool, fatal error) {
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, ErrNotFound):
		return true, nil // deleted meanwhile: nothing left to re-seal
	case ctx.Err() != nil:
		return true, ctx.Err()
	}
	rw.fail(&RewrapError{Kind: kind, ID: id, Err: err})
	return true, nil
}

func (rw *rewrapper) failAll(errs []error) {
	for _, err := range errs {
		rw.fail(err)
	}
}

// resealMap re-seals, in place, the values of m that need it, bound to
// AssociatedData(kind, id, key), and returns how many it re-sealed and an
// error for each it could not.
func (rw *rewrapper) resealMap(kind, id string, m map[string][]byte) (n int, errs []error) {
	for _, field := range slices.Sorted(maps.Keys(m)) {
		env, ok, err := rw.reseal(m[field], AssociatedData(kind, id, field))
		switch {
		case err != nil:
			errs = append(errs, &RewrapError{Kind: kind, ID: id, Field: field, Err: err})
		case ok:
			m[field] = env
			n++
		}
	}
	return n, errs
}

// reseal returns env sealed again under the primary key, and true, when the
// sealer says it needs it; it wipes the plaintext it held.
func (rw *rewrapper) reseal(env, ad []byte) ([]byte, bool, error) {
	if !rw.sealer.NeedsReseal(env) {
		return nil, false, nil
	}
	plaintext, err := rw.sealer.Open(env, ad)
	if err != nil {
		return nil, false, err
	}
	defer clear(plaintext)
	out, err := rw.sealer.Seal(plaintext, ad)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

func (rw *rewrapper) templates(ctx context.Context) error {
	list, err := rw.s.ListTemplates(ctx, "")
	if err != nil {
		return fmt.Errorf("store: rewrap: list templates: %w", err)
	}
	for _, t := range list {
		rw.stats.Templates++
		if err := rw.template(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// template re-seals one template's secrets with ResealTemplate, pinned or
// not, retrying on conflicts as connection does.
func (rw *rewrapper) template(ctx context.Context, t *Template) error {
	id := t.ID
	for attempt := 1; ; attempt++ {
		n, errs := rw.resealMap("template", id, t.Secrets)
		if n == 0 {
			rw.failAll(errs)
			return nil
		}
		_, err := rw.s.ResealTemplate(ctx, id, t.Revision, t.Secrets)
		retry, fatal := rw.settle(ctx, "template", id, n, errs, err, attempt)
		if !retry {
			if err == nil {
				rw.stats.TemplatesWritten++
			}
			return fatal
		}
		t, err = rw.s.GetTemplate(ctx, id)
		if done, fatal := rw.reread(ctx, "template", id, err); done {
			return fatal
		}
	}
}
