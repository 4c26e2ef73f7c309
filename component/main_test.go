package component_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Tests here start goroutines (concurrent requests, httptest servers, the
// keep-alive connections of the transports they build); each test closes
// what it opened, and goleak checks that nothing outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
