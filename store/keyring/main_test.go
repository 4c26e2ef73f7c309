package keyring_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Rotation tests seal and open from concurrent goroutines; goleak checks
// that none outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
