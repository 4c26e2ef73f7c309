// Package memory is an in-memory [store.Store]: every record lives in maps
// guarded by one read-write mutex, and every record is deep-copied on its way
// in and out, so callers can never change what is stored except through the
// store's methods.
//
// It is meant for tests, examples and single-process hosts that do not need
// connections to survive a restart. It passes the conformance suite in
// store/storetest. Reads take a shared lock and copy one record, so they are
// cheap (well under a microsecond for a connection) and scale across cores;
// writes serialise on the lock.
//
// The store keeps everything until it is deleted: expired pending
// authorizations are swept from time to time as new ones are put, and each
// connection keeps at most [Options.LogRetention] log entries.
package memory
