package providers

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/connkit/connkit/connection"
)

// Errors of [Catalog] methods, matched with errors.Is.
var (
	// ErrDuplicate: an entry with the same key is already in the catalog
	// (Add), or twice among the entries of NewCatalog.
	ErrDuplicate = errors.New("providers: duplicate provider key")
	// ErrInvalid: an entry is unusable: a bad key, no name, a URL that is
	// not https, or a type that does not declare. Errors from the type's
	// declaration also match connection.ErrInvalid.
	ErrInvalid = errors.New("providers: invalid provider")
)

// Catalog is a set of providers by key. The zero Catalog is empty and ready
// to use. A Catalog is safe for concurrent use; the providers it returns
// are copies.
type Catalog struct {
	mu sync.RWMutex
	m  map[string]Provider
}

// builtin declares the built-in entries once. It is never changed after:
// every Catalog copies it, and every lookup returns copies.
var builtin = sync.OnceValues(func() (map[string]Provider, error) {
	c, err := NewCatalog(entries()...)
	if err != nil {
		return nil, err
	}
	return c.m, nil
})

// entries returns the built-in entries, table by table.
func entries() []Provider {
	return slices.Concat(crmEntries(), devEntries(), productivityEntries(), financeEntries(), marketingEntries(), apiKeyEntries())
}

// builtinCatalog returns a catalog sharing the built-in map, for reads only.
func builtinCatalog() *Catalog {
	m, err := builtin()
	if err != nil {
		// The built-in entries are checked by the package's tests.
		panic(err)
	}
	return &Catalog{m: m}
}

// Default returns a new catalog holding the built-in providers. Each call
// returns a fresh catalog: a host's additions and overrides in one never
// reach another.
func Default() *Catalog {
	b := builtinCatalog()
	c := &Catalog{m: make(map[string]Provider, len(b.m))}
	for k, p := range b.m {
		c.m[k] = p.clone()
	}
	return c
}

// Lookup returns a copy of the built-in provider with the given key.
func Lookup(key string) (Provider, bool) { return builtinCatalog().Lookup(key) }

// All returns copies of the built-in providers sorted by key.
func All() []Provider { return builtinCatalog().All() }

// NewCatalog returns a catalog holding exactly the given entries, each
// checked and its type declared as by [Catalog.Add]. Every problem is
// reported at once.
func NewCatalog(entries ...Provider) (*Catalog, error) {
	c := &Catalog{m: make(map[string]Provider, len(entries))}
	var errs []error
	for _, p := range entries {
		if err := c.Add(p); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// Add adds p, failing with ErrDuplicate when the catalog already holds its
// key. See [Catalog.Set] for the checks.
func (c *Catalog) Add(p Provider) error {
	d, err := prepare(p)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[d.Key]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicate, d.Key)
	}
	c.put(d)
	return nil
}

// Set adds p or replaces the provider with its key, such as to override a
// built-in entry's scopes or endpoints. The entry is checked first (an
// error leaves the catalog as it was): its key must satisfy
// [connection.ValidKey] and equal its type's key when that is set, it must
// have a name, its DocsURL and APIBaseURL and its type's OAuth 2.0 URLs
// must be https (APIBaseURL may be a URL template over the type's fields),
// and its type must declare ([connection.Declare]); the declared type is
// stored.
func (c *Catalog) Set(p Provider) error {
	d, err := prepare(p)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.put(d)
	return nil
}

func (c *Catalog) put(p Provider) {
	if c.m == nil {
		c.m = make(map[string]Provider)
	}
	c.m[p.Key] = p
}

// Delete removes the provider with the given key and reports whether it was
// there.
func (c *Catalog) Delete(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[key]
	delete(c.m, key)
	return ok
}

// Lookup returns a copy of the provider with the given key.
func (c *Catalog) Lookup(key string) (Provider, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.m[key]
	if !ok {
		return Provider{}, false
	}
	return p.clone(), true
}

// All returns copies of every provider, sorted by key.
func (c *Catalog) All() []Provider {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Provider, 0, len(c.m))
	for _, k := range slices.Sorted(maps.Keys(c.m)) {
		out = append(out, c.m[k].clone())
	}
	return out
}

// Keys returns the keys of the providers, sorted.
func (c *Catalog) Keys() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.Sorted(maps.Keys(c.m))
}

// Len returns the number of providers.
func (c *Catalog) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// prepare checks an entry and returns a copy with its type declared.
func prepare(p Provider) (Provider, error) {
	p = p.clone()
	bad := func(format string, args ...any) (Provider, error) {
		return Provider{}, fmt.Errorf("%w %q: %s", ErrInvalid, p.Key, fmt.Sprintf(format, args...))
	}
	if !connection.ValidKey(p.Key) {
		return bad("key must satisfy connection.ValidKey")
	}
	if p.Name == "" {
		return bad("no name")
	}
	switch p.Type.Key {
	case "":
		p.Type.Key = p.Key
	case p.Key:
	default:
		return bad("type key %q differs from the provider key", p.Type.Key)
	}
	if p.Type.Label == "" {
		p.Type.Label = p.Name
	}
	if p.Type.Description == "" {
		p.Type.Description = "Connection to " + p.Name
	}
	urls := map[string]string{"docsURL": p.DocsURL, "apiBaseURL": p.APIBaseURL}
	if o := p.Type.OAuth2; o != nil {
		urls["authorizeURL"], urls["tokenURL"], urls["revokeURL"] = o.AuthorizeURL, o.TokenURL, o.RevokeURL
	}
	for _, name := range slices.Sorted(maps.Keys(urls)) {
		if s := urls[name]; s != "" && !httpsURL(s) {
			return bad("%s must be an absolute https URL", name)
		}
	}
	typ, err := connection.Declare(p.Type)
	if err != nil {
		return Provider{}, fmt.Errorf("%w %q: %w", ErrInvalid, p.Key, err)
	}
	p.Type = typ
	if connection.IsURLTemplate(p.APIBaseURL) {
		if _, err := connection.ExpandURL(p.APIBaseURL, &p.Type, dummyValues(&p.Type, p.APIBaseURL)); err != nil {
			return Provider{}, fmt.Errorf("%w %q: apiBaseURL: %w", ErrInvalid, p.Key, err)
		}
	}
	return p, nil
}

// httpsURL reports whether s (a URL or URL template) is an absolute https
// URL without user information; placeholders count as host labels or path
// segments.
func httpsURL(s string) bool {
	u, err := url.Parse(fillDummy(s))
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil
}

// fillDummy replaces every placeholder of a URL template with a label.
func fillDummy(s string) string {
	for _, k := range connection.URLTemplateKeys(s) {
		s = strings.ReplaceAll(s, "{"+k+"}", "tenant")
	}
	return s
}

// dummyValues gives every placeholder of tmpl a value valid for its field,
// to check a template at declaration.
func dummyValues(t *connection.Type, tmpl string) connection.Values {
	var v connection.Values
	for _, k := range connection.URLTemplateKeys(tmpl) {
		f, _ := t.Field(k)
		s := "tenant"
		if len(f.Choices) > 0 {
			s = f.Choices[0]
		} else if f.Default != "" {
			s = f.Default
		}
		v.Set(k, s)
	}
	return v
}
