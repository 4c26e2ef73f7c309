// Package providers is a catalog of widely used services, each with a ready,
// declared [connection.Type]: its OAuth 2.0 endpoints, default scopes and
// their separator, PKCE support, client authentication style, the extra
// authorize and token parameters it needs, the quirks of its token
// responses (no expires_in, a nested token, extra fields to keep), the
// callback parameters to keep, whether its refresh tokens rotate, and the
// tenant-specific parts of its URLs. API-key and Basic-auth services are
// included too.
//
// Look a provider up in the built-in catalog and use its type like any
// other:
//
//	p, ok := providers.Lookup("salesforce")
//	v := connection.Variable{Key: "Salesforce", Type: p.Type}
//
// Tenant-specific URLs are URL templates ("https://{shop}.myshopify.com/...")
// over fields of the type; they are filled in by [connection.ExpandURL] only
// with values that are single DNS labels, so a tenant cannot point a URL at
// another host.
//
// A host adds its own providers or overrides built-in ones in a [Catalog]:
// [Default] returns a fresh copy of the built-in catalog each time, and
// [NewCatalog] one holding only the given entries. Nothing in this package
// is mutable global state.
//
// The entries are kept as reviewable Go code, one table per file by
// category (catalog_*.go). The facts in them were checked against the
// providers' public documentation; a quirk that could not be confirmed is
// left out and mentioned in the entry's Notes. docs/providers.md is
// generated from the catalog by `go generate ./oauth/providers`.
package providers

//go:generate go run ./internal/gen -o ../../docs/providers.md -readme ../../README.md
