package storetest

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/connkit/connkit/store"
)

var logTests = []test{
	{name: "AppendAssignsIncreasingSeq", run: testLogSeq},
	{name: "ListNewestFirst", run: testLogList},
	{name: "ListPagesWithBefore", run: testLogPages},
	{name: "LogsArePerConnection", run: testLogPerConnection},
	{name: "RetentionDropsOldest", retention: 5, run: testLogRetention},
	{name: "UnknownConnectionIsEmpty", run: testLogUnknown},
	{name: "AppendToUnknownConnectionIsNotFound", run: testLogAppendUnknown},
	{name: "AppendRacingDeleteLeavesNoEntries", run: testLogAppendRacingDelete},
	{name: "ZeroLimitListsNothing", run: testLogZeroLimit},
	{name: "Copies", run: testLogCopies},
	{name: "ConcurrentAppends", run: testLogConcurrent},
	{name: "EmptyConnectionIDIsRefused", run: testLogInvalid},
	{name: "NegativeRetentionKeepsAll", retention: -1, run: testLogKeepAll},
}

// logConn stores instance i1 and connection id in it.
func (e *env) logConn(t *testing.T, id string) {
	t.Helper()
	if _, err := e.s.GetInstance(e.ctx, "i1"); err != nil {
		e.putInstance(t, "i1")
	}
	e.create(t, minimalConnection(id, ref("i1", "v-"+id, "")))
}

// appendN appends n entries with messages prefix0..prefix(n-1) and returns
// them as the store should return them (newest first).
func (e *env) appendN(t *testing.T, id, prefix string, n int) []store.LogEntry {
	t.Helper()
	var out []store.LogEntry
	for i := range n {
		e.clock.Advance(time.Second)
		in := store.LogEntry{
			ConnectionID: id,
			Level:        slog.LevelInfo,
			Event:        "refreshed",
			Message:      prefix + strconv.Itoa(i),
			Attrs:        map[string]string{"i": strconv.Itoa(i)},
		}
		seq, err := e.s.AppendLog(e.ctx, &in)
		must(t, err, "AppendLog")
		in.Seq = seq
		in.Time = e.clock.Now()
		out = append([]store.LogEntry{in}, out...)
	}
	return out
}

func testLogSeq(t *testing.T, e *env) {
	e.logConn(t, "c1")
	var last int64
	for i := range 5 {
		seq, err := e.s.AppendLog(e.ctx, &store.LogEntry{ConnectionID: "c1", Event: "refreshed"})
		must(t, err, "AppendLog")
		if i > 0 && seq <= last {
			t.Fatalf("AppendLog returned Seq %d after %d: not increasing", seq, last)
		}
		last = seq
	}
}

func testLogList(t *testing.T, e *env) {
	e.logConn(t, "c1")
	given := e.clock.Now().Add(-time.Hour + 42*time.Microsecond)
	entries := []store.LogEntry{
		{ConnectionID: "c1", Level: slog.LevelInfo, Event: "connected", Message: "Connected ✓",
			Attrs: map[string]string{"scopes": "read write", "empty": ""}},
		{ConnectionID: "c1", Level: slog.LevelDebug - 2, Event: "refreshed", Time: given},
		{ConnectionID: "c1", Level: slog.LevelError, Event: "failed", Message: "refresh failed: invalid_grant",
			Attrs: map[string]string{"status": "400"}},
	}
	var want []store.LogEntry
	for i := range entries {
		e.clock.Advance(1500 * time.Millisecond)
		in := entries[i]
		seq, err := e.s.AppendLog(e.ctx, &in)
		must(t, err, "AppendLog")
		exp := entries[i]
		exp.Seq = seq
		if exp.Time.IsZero() {
			exp.Time = e.clock.Now()
		}
		want = append([]store.LogEntry{exp}, want...)
	}
	got, err := e.s.ListLogs(e.ctx, "c1", 0, 10)
	must(t, err, "ListLogs")
	if d := diff(want, got); d != "" {
		t.Errorf("ListLogs: newest first, zero Time set from the store's clock, given Time kept (-want +got):\n%s", d)
	}
	got, err = e.s.ListLogs(e.ctx, "c1", -1, 2)
	must(t, err, "ListLogs(before=-1)")
	if d := diff(want[:2], got); d != "" {
		t.Errorf("ListLogs with before < 0 and limit 2 (-want +got):\n%s", d)
	}
}

func testLogPages(t *testing.T, e *env) {
	e.logConn(t, "c1")
	want := e.appendN(t, "c1", "m", 7)
	var got []store.LogEntry
	before := int64(0)
	for range len(want) + 2 {
		page, err := e.s.ListLogs(e.ctx, "c1", before, 3)
		must(t, err, "ListLogs")
		if len(page) > 3 {
			t.Fatalf("ListLogs with limit 3 returned %d entries", len(page))
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		before = page[len(page)-1].Seq
	}
	if d := diff(want, got); d != "" {
		t.Errorf("ListLogs in pages of 3 (-want +got):\n%s", d)
	}
	page, err := e.s.ListLogs(e.ctx, "c1", want[2].Seq, 100)
	must(t, err, "ListLogs")
	if d := diff(want[3:], page); d != "" {
		t.Errorf("ListLogs with before = the third newest Seq (-want +got):\n%s", d)
	}
}

func testLogPerConnection(t *testing.T, e *env) {
	e.logConn(t, "c1")
	e.logConn(t, "c2")
	var want1, want2 []store.LogEntry
	for i := range 3 {
		want1 = append(e.appendN(t, "c1", fmt.Sprintf("one-%d-", i), 1), want1...)
		want2 = append(e.appendN(t, "c2", fmt.Sprintf("two-%d-", i), 1), want2...)
	}
	got, err := e.s.ListLogs(e.ctx, "c1", 0, 10)
	must(t, err, "ListLogs c1")
	if d := diff(want1, got); d != "" {
		t.Errorf("ListLogs(c1) (-want +got):\n%s", d)
	}
	got, err = e.s.ListLogs(e.ctx, "c2", 0, 10)
	must(t, err, "ListLogs c2")
	if d := diff(want2, got); d != "" {
		t.Errorf("ListLogs(c2) (-want +got):\n%s", d)
	}
}

// testLogRetention runs with LogRetention 5.
func testLogRetention(t *testing.T, e *env) {
	e.logConn(t, "c1")
	e.logConn(t, "c2")
	all := e.appendN(t, "c1", "m", 8)
	other := e.appendN(t, "c2", "o", 3)
	got, err := e.s.ListLogs(e.ctx, "c1", 0, 100)
	must(t, err, "ListLogs")
	if d := diff(all[:5], got); d != "" {
		t.Errorf("after 8 appends with retention 5, ListLogs should return the 5 newest (-want +got):\n%s", d)
	}
	more := e.appendN(t, "c1", "n", 1)
	if more[0].Seq <= all[0].Seq {
		t.Errorf("Seq after dropping entries = %d, want more than %d", more[0].Seq, all[0].Seq)
	}
	got, err = e.s.ListLogs(e.ctx, "c1", 0, 100)
	must(t, err, "ListLogs")
	want := append(more, all[:4]...)
	if d := diff(want, got); d != "" {
		t.Errorf("after a ninth append (-want +got):\n%s", d)
	}
	got, err = e.s.ListLogs(e.ctx, "c2", 0, 100)
	must(t, err, "ListLogs c2")
	if d := diff(other, got); d != "" {
		t.Errorf("another connection's log was cut (-want +got):\n%s", d)
	}
}

func testLogUnknown(t *testing.T, e *env) {
	got, err := e.s.ListLogs(e.ctx, "no-such-connection", 0, 10)
	must(t, err, "ListLogs of an unknown connection")
	if len(got) != 0 {
		t.Errorf("ListLogs of an unknown connection returned %d entries", len(got))
	}
	e.logConn(t, "c1")
	got, err = e.s.ListLogs(e.ctx, "c1", 0, 10)
	must(t, err, "ListLogs of a connection without entries")
	if len(got) != 0 {
		t.Errorf("ListLogs of a connection without entries returned %d entries", len(got))
	}
}

func testLogCopies(t *testing.T, e *env) {
	e.logConn(t, "c1")
	in := &store.LogEntry{ConnectionID: "c1", Event: "connected", Attrs: map[string]string{"a": "1"}}
	_, err := e.s.AppendLog(e.ctx, in)
	must(t, err, "AppendLog")
	want, err := e.s.ListLogs(e.ctx, "c1", 0, 10)
	must(t, err, "ListLogs")
	if len(want) != 1 || want[0].Attrs["a"] != "1" {
		t.Fatalf("ListLogs = %+v, want the one entry with a=1", want)
	}
	in.Attrs["a"] = "scribbled"
	in.Attrs["b"] = "scribbled"
	in.Message = "scribbled"
	got, err := e.s.ListLogs(e.ctx, "c1", 0, 10)
	must(t, err, "ListLogs")
	if d := diff(want, got); d != "" {
		t.Fatalf("changing the entry after AppendLog changed the stored one (-want +got):\n%s", d)
	}
	got[0].Attrs["a"] = "scribbled"
	got[0].Attrs["c"] = "scribbled"
	got, err = e.s.ListLogs(e.ctx, "c1", 0, 10)
	must(t, err, "ListLogs")
	if got[0].Attrs["a"] != "1" || len(got[0].Attrs) != 1 {
		t.Errorf("changing a listed entry's Attrs changed the stored one: %v", got[0].Attrs)
	}
}

func testLogConcurrent(t *testing.T, e *env) {
	const perWriter = 4
	e.logConn(t, "c1")
	type result struct {
		seqs []int64
		err  error
	}
	res := race(nil, func(i int) result {
		var r result
		for j := range perWriter {
			seq, err := e.s.AppendLog(e.ctx, &store.LogEntry{
				ConnectionID: "c1", Event: "refreshed", Message: fmt.Sprintf("%d-%d", i, j),
			})
			if err != nil {
				r.err = err
				return r
			}
			r.seqs = append(r.seqs, seq)
		}
		return r
	})
	seen := map[int64]bool{}
	for i, r := range res {
		if r.err != nil {
			t.Fatalf("writer %d: AppendLog: %v", i, r.err)
		}
		for _, q := range r.seqs {
			if seen[q] {
				t.Errorf("Seq %d was assigned twice", q)
			}
			seen[q] = true
		}
	}
	got, err := e.s.ListLogs(e.ctx, "c1", 0, 1000)
	must(t, err, "ListLogs")
	if len(got) != contenders*perWriter {
		t.Fatalf("ListLogs returned %d entries after %d appends", len(got), contenders*perWriter)
	}
	for i, en := range got {
		if !seen[en.Seq] {
			t.Errorf("listed Seq %d was not returned by any AppendLog", en.Seq)
		}
		if i > 0 && en.Seq >= got[i-1].Seq {
			t.Errorf("ListLogs not newest first: Seq %d after %d", en.Seq, got[i-1].Seq)
		}
	}
}

func testLogAppendUnknown(t *testing.T, e *env) {
	_, err := e.s.AppendLog(e.ctx, &store.LogEntry{ConnectionID: "c1", Event: "connected"})
	wantErr(t, err, store.ErrNotFound, "AppendLog to a connection that was never created")
	e.logConn(t, "c1")
	c := e.get(t, "c1")
	must(t, e.s.DeleteConnection(e.ctx, "c1", c.Revision), "DeleteConnection")
	_, err = e.s.AppendLog(e.ctx, &store.LogEntry{ConnectionID: "c1", Event: "connected"})
	wantErr(t, err, store.ErrNotFound, "AppendLog to a deleted connection")

	// Nothing was appended: a connection created again under the id has an
	// empty log.
	e.logConn(t, "c1")
	got, err := e.s.ListLogs(e.ctx, "c1", 0, 10)
	must(t, err, "ListLogs")
	if len(got) != 0 {
		t.Errorf("the refused appends left %d entries: %+v", len(got), got)
	}
}

// testLogAppendRacingDelete appends to a connection while it (or its
// instance) is deleted: every append succeeds or is ErrNotFound, and none
// leaves an entry behind for a connection later created under the same id.
func testLogAppendRacingDelete(t *testing.T, e *env) {
	const perWriter = 3
	for round := range 4 {
		deleteInstance := round%2 == 1
		e.putInstance(t, "i1")
		c := e.create(t, minimalConnection("c1", ref("i1", "crm", "")))
		errs := race(nil, func(i int) error {
			if i == 0 {
				if deleteInstance {
					return e.s.DeleteInstance(e.ctx, "i1")
				}
				return e.s.DeleteConnection(e.ctx, "c1", c.Revision)
			}
			for j := range perWriter {
				_, err := e.s.AppendLog(e.ctx, &store.LogEntry{ConnectionID: "c1", Event: "refreshed", Message: fmt.Sprint(i, "-", j)})
				if errors.Is(err, store.ErrNotFound) {
					return nil
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: contender %d: %v", round, i, err)
			}
		}
		e.putInstance(t, "i1")
		again := e.create(t, minimalConnection("c1", ref("i1", "crm", "")))
		got, err := e.s.ListLogs(e.ctx, "c1", 0, 1000)
		must(t, err, "ListLogs")
		if len(got) != 0 {
			t.Fatalf("round %d (delete instance: %v): a connection created again after the delete has %d entries appended to the deleted one",
				round, deleteInstance, len(got))
		}
		must(t, e.s.DeleteConnection(e.ctx, "c1", again.Revision), "DeleteConnection")
	}
}

func testLogZeroLimit(t *testing.T, e *env) {
	e.logConn(t, "c1")
	all := e.appendN(t, "c1", "m", 3)
	for _, limit := range []int{0, -1} {
		for _, before := range []int64{0, all[0].Seq + 1} {
			got, err := e.s.ListLogs(e.ctx, "c1", before, limit)
			must(t, err, fmt.Sprintf("ListLogs(before=%d, limit=%d)", before, limit))
			if len(got) != 0 {
				t.Errorf("ListLogs(before=%d, limit=%d) returned %d entries, want none", before, limit, len(got))
			}
		}
	}
}
