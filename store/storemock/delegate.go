package storemock

import (
	"github.com/connkit/connkit/store"
	"go.uber.org/mock/gomock"
)

// Delegate makes every method of m call the same method of s, any number of
// times. Use it to wrap a working store (such as store/memory) and fail only
// the calls a test is about.
//
// gomock uses the first expectation that matches a call, so set the faults
// first and call Delegate last:
//
//	m := storemock.NewMockStore(ctrl)
//	m.EXPECT().PutConnection(gomock.Any(), gomock.Any()).Return(0, errDiskFull).Times(1)
//	storemock.Delegate(m, memory.New(memory.Options{}))
func Delegate(m *MockStore, s store.Store) {
	e := m.EXPECT()
	x := gomock.Any()
	e.AcquireLease(x, x, x, x).DoAndReturn(s.AcquireLease).AnyTimes()
	e.AppendLog(x, x).DoAndReturn(s.AppendLog).AnyTimes()
	e.ConsumePending(x, x).DoAndReturn(s.ConsumePending).AnyTimes()
	e.DeleteConnection(x, x, x).DoAndReturn(s.DeleteConnection).AnyTimes()
	e.DeleteInstance(x, x).DoAndReturn(s.DeleteInstance).AnyTimes()
	e.DeleteTemplate(x, x).DoAndReturn(s.DeleteTemplate).AnyTimes()
	e.GetConnection(x, x).DoAndReturn(s.GetConnection).AnyTimes()
	e.GetConnectionByID(x, x).DoAndReturn(s.GetConnectionByID).AnyTimes()
	e.GetInstance(x, x).DoAndReturn(s.GetInstance).AnyTimes()
	e.GetTemplate(x, x).DoAndReturn(s.GetTemplate).AnyTimes()
	e.ListConnections(x, x).DoAndReturn(s.ListConnections).AnyTimes()
	e.ListInstances(x).DoAndReturn(s.ListInstances).AnyTimes()
	e.ListLogs(x, x, x, x).DoAndReturn(s.ListLogs).AnyTimes()
	e.ListRefreshable(x, x, x).DoAndReturn(s.ListRefreshable).AnyTimes()
	e.ListTemplates(x, x).DoAndReturn(s.ListTemplates).AnyTimes()
	e.Pins(x, x).DoAndReturn(s.Pins).AnyTimes()
	e.Publish(x, x, x).DoAndReturn(s.Publish).AnyTimes()
	e.PutConnection(x, x).DoAndReturn(s.PutConnection).AnyTimes()
	e.PutInstance(x, x).DoAndReturn(s.PutInstance).AnyTimes()
	e.PutPending(x, x).DoAndReturn(s.PutPending).AnyTimes()
	e.PutTemplate(x, x).DoAndReturn(s.PutTemplate).AnyTimes()
	e.ReleaseLease(x, x, x).DoAndReturn(s.ReleaseLease).AnyTimes()
	e.ResealTemplate(x, x, x, x).DoAndReturn(s.ResealTemplate).AnyTimes()
	e.ScanConnections(x, x, x).DoAndReturn(s.ScanConnections).AnyTimes()
}
