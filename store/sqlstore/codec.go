package sqlstore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// ms encodes t as Unix milliseconds. The zero time encodes to its own
// (negative) value and decodes back to the zero time.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS decodes Unix milliseconds as a UTC time.
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// fromNullMS decodes a nullable Unix-milliseconds column; NULL is the zero
// time.
func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

// encodeMap encodes a map as JSON text. A nil map encodes as "null" and an
// empty one as "{}", so both round-trip.
func encodeMap[M ~map[string]V, V any](m M, column string) (string, error) {
	b, err := json.Marshal(m)
	if err != nil {
		// Only reachable for value types that cannot be encoded; never
		// include the value.
		return "", fmt.Errorf("encode %s: %w", column, err)
	}
	return string(b), nil
}

// decodeMap decodes a JSON text column into a map.
func decodeMap[M ~map[string]V, V any](s string, column string) (M, error) {
	var m M
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode %s: malformed JSON in the database", column)
	}
	return m, nil
}

// boolInt encodes a boolean as 0 or 1, the same in both dialects.
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// blob returns b as a query argument: NULL for a nil slice, so that nil
// round-trips as nil and an empty slice as empty.
func blob(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}
