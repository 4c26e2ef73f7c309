package component

import (
	"fmt"
	"maps"
	"slices"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/template"
)

// Step is one step of an integration: an action of a component with its
// connection inputs bound to the integration's connection config variables.
type Step struct {
	// Name identifies the step within the integration.
	Name string
	// Component and Action name what the step runs.
	Component string
	Action    string
	// Bindings maps the action's connection input keys to variable keys.
	Bindings map[string]string
}

// Builder assembles an integration from steps. Adding a step that needs a
// connection binds it to the integration's existing config variable for that
// connection type, or creates one when none exists, so several steps share
// one variable; [StepOptions.Bind] points a step at another variable of the
// same type explicitly. A Builder is not safe for concurrent use.
type Builder struct {
	integration template.Integration
	owner       map[string]string // variable key -> component key
	steps       []Step
}

// NewBuilder starts an integration version.
func NewBuilder(id, name string, version int) *Builder {
	return &Builder{
		integration: template.Integration{ID: id, Name: name, Version: version},
		owner:       make(map[string]string),
	}
}

// StepOptions adjusts how [Builder.AddStep] binds a step.
type StepOptions struct {
	// Bind maps connection input keys to variable keys. A named variable
	// that does not exist yet is created; one that exists must bind the
	// same component's same connection type.
	Bind map[string]string
}

// AddStep adds a step running action of c, binding each connection input to
// a variable, and returns the step.
func (b *Builder) AddStep(name string, c *Component, action string, opts StepOptions) (Step, error) {
	if slices.ContainsFunc(b.steps, func(s Step) bool { return s.Name == name }) {
		return Step{}, fmt.Errorf("component: integration %q already has a step %q", b.integration.ID, name)
	}
	a, ok := c.Action(action)
	if !ok {
		return Step{}, fmt.Errorf("component: component %q has no action %q", c.Key, action)
	}
	step := Step{Name: name, Component: c.Key, Action: action, Bindings: map[string]string{}}
	for _, in := range a.Inputs {
		if in.Connection == "" {
			continue
		}
		typ, _ := c.ConnectionType(in.Connection)
		key, explicit := opts.Bind[in.Key]
		if !explicit {
			key = b.findVariable(c.Key, typ.Key)
		}
		if key == "" {
			key = b.newVariableKey(typ.DisplayLabel())
		}
		if v, ok := b.integration.Variable(key); ok {
			if b.owner[key] != c.Key || v.Type.Key != typ.Key {
				return Step{}, fmt.Errorf("component: variable %q binds %s/%s, not %s/%s", key, b.owner[key], v.Type.Key, c.Key, typ.Key)
			}
		} else {
			b.integration.Variables = append(b.integration.Variables, connection.Variable{Key: key, Type: typ})
			b.owner[key] = c.Key
		}
		step.Bindings[in.Key] = key
	}
	b.steps = append(b.steps, step)
	return step, nil
}

func (b *Builder) findVariable(component, typeKey string) string {
	for _, v := range b.integration.Variables {
		if b.owner[v.Key] == component && v.Type.Key == typeKey {
			return v.Key
		}
	}
	return ""
}

func (b *Builder) newVariableKey(label string) string {
	base := label + " Connection"
	key := base
	for i := 2; ; i++ {
		if _, exists := b.integration.Variable(key); !exists {
			return key
		}
		key = fmt.Sprintf("%s %d", base, i)
	}
}

// Variable lets the caller adjust a variable the builder created (defaults,
// visibility, template, redirects, level) before the integration is built.
func (b *Builder) Variable(key string, edit func(*connection.Variable)) error {
	for i := range b.integration.Variables {
		if b.integration.Variables[i].Key == key {
			edit(&b.integration.Variables[i])
			return nil
		}
	}
	return fmt.Errorf("component: integration %q has no variable %q", b.integration.ID, key)
}

// Integration returns the integration definition built so far, for
// template.Manager.Register.
func (b *Builder) Integration() template.Integration { return b.integration.Clone() }

// Steps returns the steps added so far.
func (b *Builder) Steps() []Step {
	out := slices.Clone(b.steps)
	for i := range out {
		out[i].Bindings = maps.Clone(out[i].Bindings)
	}
	return out
}
