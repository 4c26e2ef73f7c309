package storetest_test

import (
	"fmt"
	"time"

	"github.com/connkit/connkit/store/storetest"
)

// A Clock stands in for time.Now in a store's options, so that a test can
// expire leases and pending authorizations without sleeping.
func ExampleClock() {
	c := storetest.NewClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
	now := c.Now // pass as the store's Options.Now
	fmt.Println(now().Format(time.TimeOnly))
	c.Advance(90 * time.Second)
	fmt.Println(now().Format(time.TimeOnly))
	// Output:
	// 10:00:00
	// 10:01:30
}
