package store_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestRewrapRotation runs readers and a writer in goroutines next to
// Rewrap; goleak checks that nothing any test starts outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
