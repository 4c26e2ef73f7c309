package oauth

// Test-only access to the Tokens' bookkeeping, for the memory tests in
// package oauth_test.

// SourceCount returns how many token sources the Tokens holds, and how many
// of them are bound to a connection id.
func (t *Tokens) SourceCount() (byRef, byID int) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.byRef), len(t.byID)
}
