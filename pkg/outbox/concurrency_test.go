package outbox_test

import (
	"fmt"
	"strings"
	"testing"
)

// With parallel hand-offs, every event of a batch is delivered once, and a
// failing event is recorded as failed without holding up the others.
func TestConcurrentHandOffs(t *testing.T) {
	h := newHarness(t)
	const perWorkflow = 20
	wfs := []string{h.workflowID(), h.workflowID(), h.workflowID()}
	var ids []string
	for i := range perWorkflow {
		for _, wf := range wfs {
			ids = append(ids, h.add(h.event(wf, fmt.Sprintf("e%d", i))))
		}
	}
	bad := h.event(h.workflowID(), "bad")
	bad.TaskQueue = strings.Repeat("q", 5000) // longer than the server accepts
	h.add(bad)

	r := h.relay()
	r.Concurrency = 8
	r.BatchSize = 25
	h.start(r)
	h.waitDelivered(ids...)
	for _, wf := range wfs {
		st := h.fence(wf)
		if st.Received != perWorkflow+1 || st.Processed != perWorkflow+1 {
			t.Errorf("%s received %d signals for %d events, want %d each", wf, st.Received, st.Processed, perWorkflow+1)
		}
	}
	eventually(t, "the bad event to be recorded as failed", func() (bool, string) {
		row, _ := h.row(bad.ID)
		return row.attempts >= 1 && !row.delivered && row.lastError != "", fmt.Sprintf("%+v", row)
	})
}
