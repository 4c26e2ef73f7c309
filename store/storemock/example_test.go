package storemock_test

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/mock/gomock"

	"github.com/connkit/connkit/connection"
	"github.com/connkit/connkit/store"
	"github.com/connkit/connkit/store/memory"
	"github.com/connkit/connkit/store/storemock"
)

// printReporter is a gomock.TestReporter for the example; tests pass their
// *testing.T instead.
type printReporter struct{}

func (printReporter) Errorf(format string, args ...any) { fmt.Printf(format+"\n", args...) }
func (printReporter) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// A store whose second connection write fails, while every other call goes
// to an in-memory store.
func ExampleDelegate() {
	ctx := context.Background()
	ctrl := gomock.NewController(printReporter{})
	defer ctrl.Finish()

	errDiskFull := errors.New("disk full")
	mem := memory.New(memory.Options{})
	m := storemock.NewMockStore(ctrl)
	first := m.EXPECT().PutConnection(gomock.Any(), gomock.Any()).DoAndReturn(mem.PutConnection).Times(1)
	m.EXPECT().PutConnection(gomock.Any(), gomock.Any()).Return(int64(0), errDiskFull).Times(1).After(first)
	storemock.Delegate(m, mem) // everything else, and later writes, reach mem

	var s store.Store = m
	_ = s.PutInstance(ctx, connection.Instance{ID: "inst-1"})
	for _, v := range []string{"crm", "erp", "mail"} {
		_, err := s.PutConnection(ctx, &store.Connection{ID: v, Ref: connection.Ref{InstanceID: "inst-1", Variable: v}})
		fmt.Println(v, err)
	}
	list, _ := s.ListConnections(ctx, "inst-1")
	fmt.Println(len(list), "stored")
	// Output:
	// crm <nil>
	// erp disk full
	// mail <nil>
	// 2 stored
}
