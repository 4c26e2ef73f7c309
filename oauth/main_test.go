package oauth_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test of package oauth leaves a goroutine behind:
// token sources, background store writes and the refresher must all stop.
// It is the package's only TestMain (internal and external tests share one
// test binary).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
