package connkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/connkit/connkit/component"
	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/internal/httpx"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/template"
)

// Events of the connection log entries a step's execution writes.
const (
	// EventUsed: the connection was used successfully (status green).
	EventUsed = "used"
	// EventFailed: a connection-related error (status red).
	EventFailed = "failed"
)

// RunOptions are the optional inputs of [Host.RunStep].
type RunOptions struct {
	// User is the user whose user-level connections the step uses.
	User string
	// Inputs are the step's non-connection inputs.
	Inputs map[string]any
	// Execution scopes status reports across several steps of one
	// execution; nil means one execution for this step.
	Execution *component.Execution
}

// NewExecution returns an execution whose status reports are written to the
// connections' records and logs, at most once per connection from HTTP
// outcomes. Pass it in RunOptions to share it between the steps of one run.
func (h *Host) NewExecution() *component.Execution {
	return component.NewExecution(h.reportHealth)
}

// RunStep runs one step of an instance's integration with its connections
// resolved: each connection input is bound to its config variable's
// connection, whose values, token and authenticated *http.Client the step
// receives. A connection-related error (see component.ConnectionError) marks
// the connection red.
func (h *Host) RunStep(ctx context.Context, instanceID, step string, opts RunOptions) (any, error) {
	inst, err := h.cfg.Store.GetInstance(ctx, instanceID)
	if err != nil {
		return nil, fmt.Errorf("connkit: instance %q: %w", instanceID, err)
	}
	h.mu.RLock()
	s, ok := h.integrations[integrationKey{inst.IntegrationID, inst.IntegrationVersion}][step]
	c := h.components[s.Component]
	h.mu.RUnlock()
	if !ok || c == nil {
		return nil, fmt.Errorf("connkit: integration %q version %d has no step %q: %w", inst.IntegrationID, inst.IntegrationVersion, step, ErrUnknown)
	}
	action, _ := c.Action(s.Action)
	exec := opts.Execution
	if exec == nil {
		exec = h.NewExecution()
	}
	in, _ := h.templates.Integration(inst.IntegrationID, inst.IntegrationVersion)
	conns := make(map[string]*component.Conn, 2*len(s.Bindings))
	for input, varKey := range s.Bindings {
		v, _ := in.Variable(varKey)
		ref := connection.Ref{InstanceID: instanceID, Variable: varKey}
		if v.Level == connection.UserLevel {
			ref.User = opts.User
		}
		conn, err := h.conn(ctx, ref, exec)
		if err != nil {
			return nil, err
		}
		conns[input] = conn
		conns[varKey] = conn
	}
	sc := component.NewContext(component.ContextConfig{
		Connections: conns,
		Inputs:      opts.Inputs,
		Logger:      h.logger.With("instance", instanceID, "step", step),
	})
	out, err := action.Perform(ctx, sc)
	var ce *component.ConnError
	if errors.As(err, &ce) {
		for _, conn := range conns {
			if conn.ID() == ce.ConnectionID {
				exec.Fail(ctx, conn.ID(), conn.Ref(), safeReason(conn, ce.Err))
				break
			}
		}
	}
	return out, err
}

// maxReason bounds a status reason taken from a step's error.
const maxReason = 256

// healthWriteTimeout bounds one status write with its log entry.
const healthWriteTimeout = 5 * time.Second

// safeReason turns a step's connection-related error into a status reason
// that can be stored and shown: URLs redacted, every secret of the
// connection replaced (see component.Conn.Redact), and the text bounded.
func safeReason(conn *component.Conn, err error) string {
	msg := conn.Redact(httpx.RedactError(err).Error())
	if len(msg) > maxReason {
		msg = strings.ToValidUTF8(msg[:maxReason], "") + "..."
	}
	return msg
}

// conn resolves one connection into a step's handle.
func (h *Host) conn(ctx context.Context, ref connection.Ref, exec *component.Execution) (*component.Conn, error) {
	res, err := h.templates.Resolve(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("connkit: connection %q: %w", ref.Variable, err)
	}
	if err := h.validate(res); err != nil {
		return nil, fmt.Errorf("connkit: connection %q is not configured: %w", ref.Variable, err)
	}
	cfg := component.ConnConfig{
		Ref:       ref,
		ID:        res.ConnectionID,
		Type:      res.Variable.Type,
		Values:    res.Values,
		Transport: h.transport,
		Execution: exec,
		Logger:    h.logger,
	}
	if res.Variable.Type.IsOAuth2() {
		src := h.tokens.Source(ref)
		// A DISCONNECT or CONNECT made through another replica takes
		// effect here at once: the record the resolution read tells.
		src.Observe(res.Token)
		cfg.Tokens = src
		cfg.Metadata = res.Metadata
	}
	return component.NewConn(cfg), nil
}

// reportHealth writes a status change from an execution to the connection's
// record and log.
func (h *Host) reportHealth(ctx context.Context, id string, ref connection.Ref, status connection.Status, reason string) {
	if id == "" {
		return
	}
	// The write outlives a step that gives up, but never hangs the step's
	// request on a stuck store.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), healthWriteTimeout)
	defer cancel()
	changed := false
	_, err := store.UpdateConnection(ctx, h.cfg.Store, id, func(c *store.Connection) bool {
		if c.Health.Status == status && c.Health.Reason == reason {
			return false
		}
		c.Health = connection.Health{Status: status, Reason: reason, Since: h.now()}
		changed = true
		return true
	})
	if err != nil {
		h.logger.Warn("connkit: cannot set connection status", "connection", id, "error", err)
		return
	}
	if !changed {
		return
	}
	level, event, msg := slog.LevelInfo, EventUsed, "connection used successfully"
	if status == connection.StatusError {
		level, event, msg = slog.LevelWarn, EventFailed, "connection failed: "+reason
	}
	if _, err := h.cfg.Store.AppendLog(ctx, &store.LogEntry{ConnectionID: id, Time: h.now(), Level: level, Event: event, Message: msg}); err != nil {
		h.logger.Warn("connkit: cannot write connection log", "connection", id, "error", err)
	}
	h.logger.Log(ctx, level, msg, "connection", id, "ref", ref.String())
}

// validate checks a connection's resolved values before a step uses them.
// With an issuer (Config.Issuer), the OAuth 2.0 endpoint fields may be empty:
// the authorization server's metadata fills them where the token sources
// need them, and steps never read them.
func (h *Host) validate(res *template.Resolution) error {
	typ := res.Variable.Type
	if typ.IsOAuth2() && h.cfg.Issuer != nil && h.cfg.Issuer(res) != "" {
		typ = typ.Clone()
		for i, f := range typ.Fields {
			switch f.Key {
			case connection.FieldAuthorizeURL, connection.FieldTokenURL, connection.FieldRevokeURL:
				typ.Fields[i].Required = false
			}
		}
	}
	return typ.ValidateValues(res.Values)
}
