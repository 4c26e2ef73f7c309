package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/connkit/connkit/store"
)

// Keyring seals with its primary key and opens with any key it holds. Make one
// with [New]; the zero Keyring holds no keys and every Seal or Open on it
// fails. A Keyring must not be copied after first use.
type Keyring struct {
	set atomic.Pointer[keySet] // never nil after New; replaced, never mutated
	mu  sync.Mutex             // serializes Rotate, Add and Retire
}

// Keyring implements store.Resealer.
var _ store.Resealer = (*Keyring)(nil)

// keySet is an immutable snapshot of a keyring's keys.
type keySet struct {
	// slots holds every key, the primary first, then the decrypt-only keys
	// from the most recently added or demoted to the oldest. A handful of
	// keys is the norm, so a linear scan beats a map.
	slots []*slot
}

// slot is one key with its precomputed AEAD. cipher.AEAD values from
// crypto/cipher are safe for concurrent use. A slot moves between key sets
// as keys rotate, so its seal count follows the key.
type slot struct {
	key   Key
	aead  cipher.AEAD
	seals atomic.Uint64 // envelopes sealed under key by this Keyring
}

func (s *keySet) primary() *slot { return s.slots[0] }

func (s *keySet) lookup(id uint32) *slot {
	for _, sl := range s.slots {
		if sl.key.id == id {
			return sl
		}
	}
	return nil
}

// New returns a keyring that seals with primary and opens with primary and
// every older key. All keys must have [KeySize] bytes of material (errors
// wrap [ErrKeySize]), distinct ids and distinct material (errors wrap
// [ErrDuplicateKey]).
func New(primary Key, older ...Key) (*Keyring, error) {
	slots := make([]*slot, 0, 1+len(older))
	for _, k := range append([]Key{primary}, older...) {
		sl, err := newSlot(k)
		if err != nil {
			return nil, err
		}
		if err := checkDistinct(slots, k); err != nil {
			return nil, err
		}
		slots = append(slots, sl)
	}
	r := &Keyring{}
	r.set.Store(&keySet{slots: slots})
	return r, nil
}

func newSlot(k Key) (*slot, error) {
	material := []byte(k.material())
	defer clear(material)
	if len(material) != KeySize {
		return nil, fmt.Errorf("%w: key %d has %d bytes", ErrKeySize, k.id, len(material))
	}
	block, err := aes.NewCipher(material)
	if err != nil {
		return nil, fmt.Errorf("keyring: key %d: %w", k.id, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keyring: key %d: %w", k.id, err)
	}
	return &slot{key: k, aead: aead}, nil
}

// checkDistinct reports whether k clashes with a key in slots by id or by
// material. Two ids for one material would let anyone rewrite an envelope's
// key id and still have it open.
func checkDistinct(slots []*slot, k Key) error {
	for _, sl := range slots {
		switch {
		case sl.key.id == k.id:
			return fmt.Errorf("%w: id %d is used twice", ErrDuplicateKey, k.id)
		case subtle.ConstantTimeCompare([]byte(sl.key.material()), []byte(k.material())) == 1:
			return fmt.Errorf("%w: keys %d and %d have the same material", ErrDuplicateKey, sl.key.id, k.id)
		}
	}
	return nil
}

// load returns the current key set, or nil for a zero Keyring.
func (r *Keyring) load() *keySet {
	if r == nil {
		return nil
	}
	return r.set.Load()
}

// update replaces the key set with what f makes of the current one.
func (r *Keyring) update(f func(cur *keySet) (*keySet, error)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.set.Load()
	if cur == nil {
		return errNotInitialized
	}
	next, err := f(cur)
	if err != nil {
		return err
	}
	r.set.Store(next)
	return nil
}

// Rotate makes k the primary key: Seal uses it from now on, and the previous
// primary becomes a decrypt-only key, so everything sealed so far still
// opens. If k is already in the ring as a decrypt-only key (same id, same
// material, as after [Keyring.Add]) it is promoted; rotating to the current
// primary does nothing. A key whose id or material clashes with another key
// is an error wrapping [ErrDuplicateKey].
//
// Rotate is safe to call while Seal and Open run; each Seal uses either the
// old or the new primary, never a mix.
func (r *Keyring) Rotate(k Key) error {
	return r.update(func(cur *keySet) (*keySet, error) {
		rest, existing, err := without(cur.slots, k)
		if err != nil {
			return nil, fmt.Errorf("keyring: rotate to key %d: %w", k.id, err)
		}
		if existing == cur.primary() {
			return cur, nil
		}
		if existing == nil {
			if existing, err = newSlot(k); err != nil {
				return nil, err
			}
		}
		return &keySet{slots: append([]*slot{existing}, rest...)}, nil
	})
}

// Add adds k as a decrypt-only key: envelopes sealed under it open, and a
// later [Keyring.Rotate] to k promotes it. Adding a key that is already in the
// ring with the same material does nothing; a clash of id or material with
// another key is an error wrapping [ErrDuplicateKey].
func (r *Keyring) Add(k Key) error {
	return r.update(func(cur *keySet) (*keySet, error) {
		_, existing, err := without(cur.slots, k)
		if err != nil {
			return nil, fmt.Errorf("keyring: add key %d: %w", k.id, err)
		}
		if existing != nil {
			return cur, nil
		}
		sl, err := newSlot(k)
		if err != nil {
			return nil, err
		}
		slots := make([]*slot, 0, len(cur.slots)+1)
		slots = append(slots, cur.primary(), sl)
		slots = append(slots, cur.slots[1:]...)
		return &keySet{slots: slots}, nil
	})
}

// without returns a copy of slots without the slot holding exactly k (id and
// material), and that slot, or nil if k is not there. It is an error if
// another slot has k's id or k's material.
func without(slots []*slot, k Key) (rest []*slot, match *slot, err error) {
	rest = make([]*slot, 0, len(slots))
	for _, sl := range slots {
		if sl.key.Equal(k) {
			match = sl
			continue
		}
		rest = append(rest, sl)
	}
	if err := checkDistinct(rest, k); err != nil {
		return nil, nil, err
	}
	return rest, match, nil
}

// Retire removes the decrypt-only key with the given id. Envelopes sealed
// under it no longer open (their errors wrap [ErrUnknownKey]), so re-seal them
// first (see [Keyring.NeedsReseal]). Retiring the primary key is an error
// wrapping [ErrRetirePrimary]; an id not in the ring is an error wrapping
// [ErrUnknownKey].
func (r *Keyring) Retire(id uint32) error {
	return r.update(func(cur *keySet) (*keySet, error) {
		if cur.primary().key.id == id {
			return nil, fmt.Errorf("%w: key %d is the primary; rotate to a new key first", ErrRetirePrimary, id)
		}
		slots := make([]*slot, 0, len(cur.slots))
		for _, sl := range cur.slots {
			if sl.key.id != id {
				slots = append(slots, sl)
			}
		}
		if len(slots) == len(cur.slots) {
			return nil, fmt.Errorf("keyring: retire: %w %d", ErrUnknownKey, id)
		}
		return &keySet{slots: slots}, nil
	})
}

// PrimaryID returns the id of the key Seal uses now. It returns 0 for a zero
// Keyring.
func (r *Keyring) PrimaryID() uint32 {
	set := r.load()
	if set == nil {
		return 0
	}
	return set.primary().key.id
}

// Seals returns how many envelopes this Keyring has sealed (Seal and Reseal)
// under its current primary key since that key was added to it; a new
// primary starts at zero, and an older key promoted again resumes its
// count. It counts this process only: with several replicas, add up their
// counts (export it as a metric) and rotate before the total nears the
// per-key budget in the package documentation. It returns 0 for a zero
// Keyring.
func (r *Keyring) Seals() uint64 {
	set := r.load()
	if set == nil {
		return 0
	}
	return set.primary().seals.Load()
}

// KeyIDs returns the ids of every key in the ring, the primary first, then
// the decrypt-only keys from the newest to the oldest.
func (r *Keyring) KeyIDs() []uint32 {
	set := r.load()
	if set == nil {
		return nil
	}
	ids := make([]uint32, len(set.slots))
	for i, sl := range set.slots {
		ids[i] = sl.key.id
	}
	return ids
}

// String describes the keyring by its key ids, like
// "keyring.Keyring{primary: 2, decrypt-only: [1]}"; it never shows key
// material.
func (r *Keyring) String() string {
	ids := r.KeyIDs()
	if len(ids) == 0 {
		return "keyring.Keyring{}"
	}
	var b strings.Builder
	b.WriteString("keyring.Keyring{primary: ")
	b.WriteString(strconv.FormatUint(uint64(ids[0]), 10))
	b.WriteString(", decrypt-only: [")
	for i, id := range ids[1:] {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatUint(uint64(id), 10))
	}
	b.WriteString("]}")
	return b.String()
}

// Format implements fmt.Formatter: every verb prints String's form.
func (r *Keyring) Format(f fmt.State, verb rune) {
	_, _ = io.WriteString(f, r.String())
}

// LogValue implements slog.LogValuer: a logged keyring shows its key ids.
func (r *Keyring) LogValue() slog.Value {
	ids := r.KeyIDs()
	if len(ids) == 0 {
		return slog.GroupValue()
	}
	return slog.GroupValue(
		slog.Uint64("primary", uint64(ids[0])),
		slog.Any("decrypt_only", ids[1:]),
	)
}
