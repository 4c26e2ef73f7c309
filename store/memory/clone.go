package memory

import (
	"maps"
	"slices"

	"github.com/connkit/connkit/store"
)

// cloneConnection returns a deep copy of c (nil for nil). The sealed byte
// slices of the copy share one allocation, each capped at its own length so
// that appending to one never writes into another.
func cloneConnection(c *store.Connection) *store.Connection {
	if c == nil {
		return nil
	}
	// One allocation for the record and its token.
	pair := new(struct {
		c store.Connection
		t store.Token
	})
	out := &pair.c
	*out = *c
	n := 0
	for _, v := range c.Secrets {
		n += len(v)
	}
	if c.Token != nil {
		n += len(c.Token.Sealed)
	}
	var buf []byte
	if n > 0 {
		buf = make([]byte, 0, n)
	}
	if c.Secrets != nil {
		out.Secrets = make(map[string][]byte, len(c.Secrets))
		for k, v := range c.Secrets {
			out.Secrets[k], buf = carve(buf, v)
		}
	}
	out.Values = maps.Clone(c.Values)
	out.Sources = maps.Clone(c.Sources)
	out.Metadata = maps.Clone(c.Metadata)
	if c.Token != nil {
		tok := &pair.t
		*tok = *c.Token
		tok.Sealed, _ = carve(buf, c.Token.Sealed)
		out.Token = tok
	}
	return out
}

// carve copies v into the free capacity of buf and returns the copy (nil for
// nil, empty for empty) and what is left of buf.
func carve(buf, v []byte) (cp, rest []byte) {
	if v == nil {
		return nil, buf
	}
	if len(v) == 0 {
		return []byte{}, buf
	}
	start := len(buf)
	buf = append(buf, v...)
	return buf[start:len(buf):len(buf)], buf
}

func cloneTemplate(t *store.Template) *store.Template {
	if t == nil {
		return nil
	}
	out := *t
	out.Values = maps.Clone(t.Values)
	out.Secrets = cloneSecrets(t.Secrets)
	return &out
}

func cloneSecrets(m map[string][]byte) map[string][]byte {
	if m == nil {
		return nil
	}
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}

func clonePending(p *store.PendingAuth) *store.PendingAuth {
	if p == nil {
		return nil
	}
	out := *p
	out.Verifier = slices.Clone(p.Verifier)
	out.Data = maps.Clone(p.Data)
	return &out
}
