// Package memory is an in-memory [store.Store]: every record lives in maps
// guarded by one read-write mutex, and every record is deep-copied on its way
// in and out, so callers can never change what is stored except through the
// store's methods.
//
// It is meant for tests, examples and single-process hosts that do not need
// connections to survive a restart. It passes the conformance suite in
// store/storetest. Reads take a shared lock and deep-copy one record: the copy
// is nearly all their cost, and they run in parallel. Copying a connection
// costs one allocation for the record with its token, one for all its sealed
// bytes and two for each non-empty map (Go's map header and its first group
// of slots); a connection's empty maps are stored, and returned, as nil, which
// the contract allows, so they cost nothing. Writes serialise on the lock. Listings are served from
// sorted indexes: ScanConnections and ListRefreshable cost O(log n) plus the
// page they return.
//
// The store keeps everything until it is deleted: expired pending
// authorizations are swept from time to time as new ones are put, and each
// connection keeps at most [Options.LogRetention] log entries.
package memory
