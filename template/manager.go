package template

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
)

// Integration is one version of an integration's definition: its connection
// config variables.
type Integration struct {
	// ID identifies the integration; required.
	ID string `json:"id"`
	// Name is the integration's display name.
	Name string `json:"name,omitempty"`
	// Version is the integration version; not negative. Versions are
	// immutable once published (see [Manager.Publish]).
	Version int `json:"version"`
	// Variables are the connection config variables, each with a unique key.
	Variables []connection.Variable `json:"variables,omitempty"`
}

// Variable returns the variable with the given key.
func (in *Integration) Variable(key string) (connection.Variable, bool) {
	for _, v := range in.Variables {
		if v.Key == key {
			return v, true
		}
	}
	return connection.Variable{}, false
}

// Clone returns a deep copy of in.
func (in Integration) Clone() Integration {
	in.Variables = slices.Clone(in.Variables)
	for i := range in.Variables {
		in.Variables[i] = in.Variables[i].Clone()
	}
	return in
}

// Options configures a [Manager]. The zero value works.
type Options struct {
	// Now is the clock for health changes; nil means time.Now.
	Now func() time.Time
	// Logger receives debug and warning records (never a value); nil
	// discards them.
	Logger *slog.Logger
	// MaxAttempts bounds how often a compare-and-swap write is retried
	// after losing to a concurrent writer; zero means 16.
	MaxAttempts int
}

// Manager keeps integration definitions, templates, instances and instance
// values, and resolves and presents connections. It is safe for concurrent
// use. Integration versions are registered in memory at start; everything
// else lives in the store.
type Manager struct {
	st       store.Store
	sealer   store.Sealer
	now      func() time.Time
	log      *slog.Logger
	attempts int

	mu   sync.RWMutex
	regs map[regKey]*registered
}

type regKey struct {
	id      string
	version int
}

// registered is an immutable registered integration version.
type registered struct {
	in   Integration
	vars map[string]*connection.Variable
}

// New returns a Manager over st. sealer seals secret values before they
// reach st and opens them again; it may be nil only when no type has a
// secret field (sealing then fails with [ErrNoSealer]).
func New(st store.Store, sealer store.Sealer, opts Options) *Manager {
	m := &Manager{
		st:       st,
		sealer:   sealer,
		now:      opts.Now,
		log:      opts.Logger,
		attempts: opts.MaxAttempts,
		regs:     make(map[regKey]*registered),
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.attempts <= 0 {
		m.attempts = 16
	}
	return m
}

// Register makes an integration version known to the Manager. Every variable
// is checked (its type is declared with [connection.Declare], then
// [connection.Variable.Validate] runs) and every problem of the whole
// integration is reported at once in a *[connection.ValidationError], with
// keys such as "variables[0].type.host". Variable keys must be unique, and so
// must the pair (ID, Version): registering it again is
// [ErrDuplicateIntegration]. in is copied.
//
// Template references are checked against the store later, when the version
// is published or a connection is resolved.
func (m *Manager) Register(in Integration) error {
	c, err := declareIntegration(in)
	if err != nil {
		return err
	}
	r := &registered{in: c, vars: make(map[string]*connection.Variable, len(c.Variables))}
	for i := range r.in.Variables {
		r.vars[r.in.Variables[i].Key] = &r.in.Variables[i]
	}
	k := regKey{c.ID, c.Version}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.regs[k]; ok {
		return fmt.Errorf("%w: %q version %d", ErrDuplicateIntegration, c.ID, c.Version)
	}
	m.regs[k] = r
	return nil
}

// declareIntegration returns a deep copy of in with every variable's type
// declared, or a *connection.ValidationError listing every problem.
func declareIntegration(in Integration) (Integration, error) {
	c := in.Clone()
	var problems []connection.FieldError
	add := func(key, label, reason string) {
		problems = append(problems, connection.FieldError{Key: key, Label: label, Reason: reason})
	}
	if c.ID == "" {
		add("id", "", "integration id is required")
	}
	if c.Version < 0 {
		add("version", "", "version must not be negative")
	}
	seen := make(map[string]bool, len(c.Variables))
	for i := range c.Variables {
		v := &c.Variables[i]
		prefix := "variables[" + strconv.Itoa(i) + "]."
		if v.Key != "" && seen[v.Key] {
			add(prefix+"key", "", "duplicate variable key")
		}
		seen[v.Key] = true
		for _, p := range declareVariable(v) {
			p.Key = prefix + p.Key
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		return Integration{}, &connection.ValidationError{
			Subject: fmt.Sprintf("integration %q version %d", in.ID, in.Version), Problems: problems}
	}
	return c, nil
}

// declareVariable declares v in place (its type normalized, its level
// explicit) and returns every problem of the variable.
func declareVariable(v *connection.Variable) []connection.FieldError {
	d, err := connection.DeclareVariable(*v)
	if err != nil {
		return problemsOf(err)
	}
	if d.Level == "" {
		d.Level = connection.InstanceLevel
	}
	*v = d
	return nil
}

func prefixed(prefix string, ps []connection.FieldError) []connection.FieldError {
	for i := range ps {
		ps[i].Key = prefix + ps[i].Key
	}
	return ps
}

// problemsOf returns the problems of a *connection.ValidationError, or one
// problem holding the message of any other non-nil error.
func problemsOf(err error) []connection.FieldError {
	if err == nil {
		return nil
	}
	var ve *connection.ValidationError
	if errors.As(err, &ve) {
		return slices.Clone(ve.Problems)
	}
	return []connection.FieldError{{Reason: err.Error()}}
}

// Integration returns a copy of the registered integration version.
func (m *Manager) Integration(id string, version int) (Integration, bool) {
	r := m.registered(id, version)
	if r == nil {
		return Integration{}, false
	}
	return r.in.Clone(), true
}

func (m *Manager) registered(id string, version int) *registered {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.regs[regKey{id, version}]
}

// Deploy stores (creates or replaces) an instance of a registered integration
// version. Its ID is required; an unregistered integration version is
// [ErrUnknownIntegration]. Redeploying an instance on another version keeps
// its connections; they then resolve against the new version's variables.
func (m *Manager) Deploy(ctx context.Context, in connection.Instance) error {
	if in.ID == "" {
		return &connection.ValidationError{Subject: "instance",
			Problems: []connection.FieldError{{Key: "instanceId", Reason: "instance id is required"}}}
	}
	if m.registered(in.IntegrationID, in.IntegrationVersion) == nil {
		return fmt.Errorf("%w: %q version %d", ErrUnknownIntegration, in.IntegrationID, in.IntegrationVersion)
	}
	if err := m.st.PutInstance(ctx, in); err != nil {
		return fmt.Errorf("template: deploy instance %q: %w", in.ID, err)
	}
	return nil
}

// target is a ref checked against its instance and registered variable.
type target struct {
	ref  connection.Ref
	inst connection.Instance
	v    *connection.Variable // read-only: shared with the registry
}

// lookup checks ref and finds its instance and variable.
func (m *Manager) lookup(ctx context.Context, ref connection.Ref) (*target, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	inst, err := m.st.GetInstance(ctx, ref.InstanceID)
	if err != nil {
		return nil, fmt.Errorf("template: instance %q: %w", ref.InstanceID, err)
	}
	r := m.registered(inst.IntegrationID, inst.IntegrationVersion)
	if r == nil {
		return nil, fmt.Errorf("%w: %q version %d (instance %q)", ErrUnknownIntegration,
			inst.IntegrationID, inst.IntegrationVersion, inst.ID)
	}
	v := r.vars[ref.Variable]
	if v == nil {
		return nil, fmt.Errorf("%w %q in integration %q version %d: %w", ErrUnknownVariable,
			ref.Variable, inst.IntegrationID, inst.IntegrationVersion, store.ErrNotFound)
	}
	switch {
	case v.Level == connection.UserLevel && ref.User == "":
		return nil, fmt.Errorf("%w: variable %q is user-level and needs a user: %w", ErrLevel, v.Key, connection.ErrBadRef)
	case v.Level != connection.UserLevel && ref.User != "":
		return nil, fmt.Errorf("%w: variable %q is instance-level and takes no user: %w", ErrLevel, v.Key, connection.ErrBadRef)
	}
	return &target{ref: ref, inst: inst, v: v}, nil
}
