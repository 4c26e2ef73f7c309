package memory_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/memory"
	"github.com/connkit/connkit/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts storetest.Options) store.Store {
		return memory.New(memory.Options{Now: opts.Now, LogRetention: opts.LogRetention})
	})
}

func BenchmarkMemory(b *testing.B) {
	storetest.Benchmark(b, memory.New(memory.Options{}))
}
