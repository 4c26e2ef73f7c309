// Package store defines the storage contract of connkit: what a host's storage
// must do so that connections, tokens, templates, pending authorizations, logs
// and refresh leases survive restarts and are shared between host replicas.
package store
