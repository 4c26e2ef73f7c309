package store

import (
	"maps"
)

// Clone returns a deep copy of c: the copy shares no map, slice or Token with
// c, so either can be changed without affecting the other. Clone of nil is
// nil. A nil map or slice stays nil and an empty one stays empty.
//
// Stores use it to keep their own copy of a record written to them and to
// hand out copies that callers own. The sealed byte slices of the copy share
// one allocation, each capped at its own length, so appending to one never
// writes into another.
func (c *Connection) Clone() *Connection {
	if c == nil {
		return nil
	}
	if c.Token == nil {
		out := new(Connection)
		*out = *c
		out.cloneMaps(c, sealedBuffer(c.Secrets, 0))
		return out
	}
	// One allocation for the record and its token.
	pair := new(struct {
		c Connection
		t Token
	})
	out, tok := &pair.c, &pair.t
	*out = *c
	*tok = *c.Token
	buf := sealedBuffer(c.Secrets, len(c.Token.Sealed))
	tok.Sealed, buf = carve(buf, c.Token.Sealed)
	out.Token = tok
	out.cloneMaps(c, buf)
	return out
}

// cloneMaps replaces the maps of c, a shallow copy of src, with copies,
// carving the sealed values out of buf.
func (c *Connection) cloneMaps(src *Connection, buf []byte) {
	c.Values = maps.Clone(src.Values)
	c.Secrets = cloneSealed(src.Secrets, buf)
	c.Sources = maps.Clone(src.Sources)
	c.Metadata = maps.Clone(src.Metadata)
}

// Clone returns a deep copy of t, as [Connection.Clone] does. Clone of nil is
// nil.
func (t *Template) Clone() *Template {
	if t == nil {
		return nil
	}
	out := new(Template)
	*out = *t
	out.Values = maps.Clone(t.Values)
	out.Secrets = cloneSealed(t.Secrets, sealedBuffer(t.Secrets, 0))
	return out
}

// Clone returns a deep copy of p, as [Connection.Clone] does. Clone of nil is
// nil.
func (p *PendingAuth) Clone() *PendingAuth {
	if p == nil {
		return nil
	}
	out := new(PendingAuth)
	*out = *p
	out.Verifier, _ = carve(nil, p.Verifier)
	out.Data = maps.Clone(p.Data)
	return out
}

// Clone returns a deep copy of e: the copy shares no map with e.
func (e LogEntry) Clone() LogEntry {
	e.Attrs = maps.Clone(e.Attrs)
	return e
}

// sealedBuffer returns an empty buffer with room for every value of m and
// extra more bytes, or nil when that is nothing.
func sealedBuffer(m map[string][]byte, extra int) []byte {
	n := extra
	for _, v := range m {
		n += len(v)
	}
	if n == 0 {
		return nil
	}
	return make([]byte, 0, n)
}

// cloneSealed returns a copy of m whose values are carved out of buf, which
// must have room for all of them (see sealedBuffer).
func cloneSealed(m map[string][]byte, buf []byte) map[string][]byte {
	if m == nil {
		return nil
	}
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k], buf = carve(buf, v)
	}
	return out
}

// carve copies v into the free capacity of buf and returns the copy (nil for
// nil, empty for empty) and what is left of buf. When buf has no room, the
// copy gets its own allocation.
func carve(buf, v []byte) (cp, rest []byte) {
	if v == nil {
		return nil, buf
	}
	if len(v) == 0 {
		return []byte{}, buf
	}
	if cap(buf)-len(buf) < len(v) {
		return append([]byte(nil), v...), buf
	}
	start := len(buf)
	buf = append(buf, v...)
	return buf[start:len(buf):len(buf)], buf
}
