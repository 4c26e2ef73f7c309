package component

import (
	"fmt"
	"log/slog"
	"maps"
)

// Context is what a step receives: its inputs and its connections.
type Context struct {
	conns  map[string]*Conn
	inputs map[string]any
	logger *slog.Logger
}

// ContextConfig builds a [Context].
type ContextConfig struct {
	// Connections maps input keys and config variable keys to connections.
	Connections map[string]*Conn
	// Inputs are the step's non-connection inputs.
	Inputs map[string]any
	// Logger is the step's logger; nil discards.
	Logger *slog.Logger
}

// NewContext returns a step context.
func NewContext(cfg ContextConfig) *Context {
	l := cfg.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &Context{conns: maps.Clone(cfg.Connections), inputs: maps.Clone(cfg.Inputs), logger: l}
}

// Connection returns the connection bound to an input key or a config
// variable key.
func (c *Context) Connection(key string) (*Conn, error) {
	if conn, ok := c.conns[key]; ok {
		return conn, nil
	}
	return nil, fmt.Errorf("component: step has no connection %q: %w", key, ErrNoConnection)
}

// Input returns the value of a non-connection input.
func (c *Context) Input(key string) (any, bool) {
	v, ok := c.inputs[key]
	return v, ok
}

// Logger returns the step's logger.
func (c *Context) Logger() *slog.Logger { return c.logger }

// ConfigVar returns a reader of a connection config variable's values, for
// code components that only read values:
//
//	key, err := sc.ConfigVar("Acme Connection").Field("apiKey")
func (c *Context) ConfigVar(key string) ConfigVar {
	return ConfigVar{key: key, conn: c.conns[key]}
}

// ConfigVar reads the values of one connection config variable.
type ConfigVar struct {
	key  string
	conn *Conn
}

// Field returns a field's value, or an error naming the variable and the
// field when the variable is not bound or the field has no value.
func (v ConfigVar) Field(field string) (string, error) {
	if v.conn == nil {
		return "", fmt.Errorf("component: no config variable %q (field %q): %w", v.key, field, ErrNoConnection)
	}
	return v.conn.Field(field)
}
