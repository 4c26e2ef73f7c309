package sqlstore

import "time"

// SetProcessClock replaces the process clock of s: the clock a replica reads
// when Options.Now is nil (time.Now). Tests use it to stand for a replica
// whose wall clock is wrong; time.Now itself cannot be skewed.
func SetProcessClock(s *Store, now func() time.Time) { s.now = now }
