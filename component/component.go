package component

import (
	"context"
	"fmt"

	"github.com/connkit/connkit/connection"
)

// Component is what a component author declares: a key, a label, the
// connection types it defines and its actions (steps).
type Component struct {
	// Key identifies the component (for example "acme").
	Key string
	// Label is the human-readable name.
	Label string
	// Connections are the connection types the component declares; each is
	// passed through connection.Declare by [Declare].
	Connections []connection.Type
	// Actions are the steps the component offers.
	Actions []Action
}

// Action is one step of a component.
type Action struct {
	// Key identifies the action within its component.
	Key string
	// Label is the human-readable name.
	Label string
	// Inputs are the action's inputs; connection inputs name a connection
	// type of the component.
	Inputs []Input
	// Perform runs the step.
	Perform func(ctx context.Context, sc *Context) (any, error)
}

// Input is one input of an action.
type Input struct {
	// Key identifies the input within its action.
	Key string
	// Label is the human-readable name.
	Label string
	// Connection, when set, makes this a connection input bound to a
	// connection config variable of this connection type key.
	Connection string
	// Required inputs must be given (connection inputs are always
	// required).
	Required bool
}

// Declare checks a component and returns the normalized copy to use: every
// connection type declared, every connection input referring to one of them,
// and no duplicate keys. Every problem is reported at once in a
// *connection.ValidationError.
func Declare(c Component) (*Component, error) {
	var problems []connection.FieldError
	add := func(key, reason string) { problems = append(problems, connection.FieldError{Key: key, Reason: reason}) }
	if !connection.ValidKey(c.Key) {
		add("key", "component key must be a valid key")
	}
	out := &Component{Key: c.Key, Label: c.Label}
	if out.Label == "" {
		out.Label = c.Key
	}
	types := make(map[string]bool, len(c.Connections))
	for i, t := range c.Connections {
		if types[t.Key] {
			add(fmt.Sprintf("connections[%d]", i), fmt.Sprintf("duplicate connection type key %q", t.Key))
			continue
		}
		types[t.Key] = true
		d, err := connection.Declare(t)
		if err != nil {
			if ve, ok := err.(*connection.ValidationError); ok {
				for _, p := range ve.Problems {
					add(fmt.Sprintf("connections[%s].%s", t.Key, p.Key), p.Reason)
				}
				continue
			}
			add(fmt.Sprintf("connections[%s]", t.Key), err.Error())
			continue
		}
		out.Connections = append(out.Connections, d)
	}
	actions := make(map[string]bool, len(c.Actions))
	for i, a := range c.Actions {
		path := fmt.Sprintf("actions[%s]", a.Key)
		switch {
		case !connection.ValidKey(a.Key):
			add(fmt.Sprintf("actions[%d]", i), "action key must be a valid key")
		case actions[a.Key]:
			add(path, "duplicate action key")
		}
		actions[a.Key] = true
		if a.Perform == nil {
			add(path, "action has no Perform function")
		}
		inputs := make(map[string]bool, len(a.Inputs))
		for _, in := range a.Inputs {
			ip := path + ".inputs[" + in.Key + "]"
			if in.Key == "" {
				add(path+".inputs", "input with an empty key")
			} else if inputs[in.Key] {
				add(ip, "duplicate input key")
			}
			inputs[in.Key] = true
			if in.Connection != "" && !types[in.Connection] {
				add(ip, fmt.Sprintf("refers to connection type %q, which the component does not declare", in.Connection))
			}
		}
		a.Inputs = append([]Input(nil), a.Inputs...)
		out.Actions = append(out.Actions, a)
	}
	if len(problems) > 0 {
		return nil, &connection.ValidationError{Subject: fmt.Sprintf("component %q", c.Key), Problems: problems}
	}
	return out, nil
}

// ConnectionType returns the declared connection type with the given key.
func (c *Component) ConnectionType(key string) (connection.Type, bool) {
	for _, t := range c.Connections {
		if t.Key == key {
			return t, true
		}
	}
	return connection.Type{}, false
}

// Action returns the action with the given key.
func (c *Component) Action(key string) (Action, bool) {
	for _, a := range c.Actions {
		if a.Key == key {
			return a, true
		}
	}
	return Action{}, false
}
