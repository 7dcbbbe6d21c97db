package callback

import (
	"context"
	"flag"
	"log/slog"
	"testing"
	"time"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/durationpb"
)

// go test ./callback/ -run TestCallbackOnTemporal -update, with
// DEALERCARE_TEST_TEMPORAL_ADDRESS set (bin/devstack testenv), records the
// histories anew; commit them. Record new ones when the workflow changes
// on purpose, and keep the old ones: they are the runs still open in
// production.
var update = flag.Bool("update", false, "rewrite testdata/*.json from runs on the Temporal dev server")

// TestReplayRecordedHistories replays every recorded history with the
// current code: a change that would break the runs in flight (a
// non-deterministic change) fails here.
func TestReplayRecordedHistories(t *testing.T) {
	temporaltest.ReplayTestdata(t, newReplayer())
}

func newReplayer() worker.WorkflowReplayer {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(CallbackTask, workflow.RegisterOptions{Name: events.CallbackWorkflowType})
	return r
}

// secondsSchedule is a demo policy on a 24x7 line: due 1s after the
// event, a retry 1s after an unanswered call, 3 attempts.
func secondsSchedule(window time.Duration) *callbackv1.CallbackSchedule {
	return &callbackv1.CallbackSchedule{
		Delay: durationpb.New(time.Second), Window: durationpb.New(window), MaxAttempts: 3, RetryInterval: durationpb.New(time.Second),
		CallingStart: "00:00", CallingEnd: "24:00", TimeZone: "Asia/Shanghai", ScoreThreshold: 80,
	}
}

// TestCallbackOnTemporal runs the workflow on the real Temporal server,
// started the way the outbox relay starts it, and replays (and with
// -update records) the histories it produced.
func TestCallbackOnTemporal(t *testing.T) {
	addr := temporaltest.Address(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := dctemporal.Dial(ctx, dctemporal.Config{Address: addr, Namespace: "default"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	t.Run("3DC: a retry, then a low score opens a complaint", func(t *testing.T) {
		r := newRealRun(ctx, t, c, secondsSchedule(time.Hour))
		closed := time.Now().UTC()
		first := roClosed("E1-"+r.ro, closed)
		r.relay(first)
		r.relay(first) // the relay died before marking it delivered
		temporaltest.WaitFor(ctx, t, func() bool { e, _, _, _ := r.wf.snapshot(); return len(e) == 1 })
		now := time.Now().UTC()
		r.relay(attempted("A1-"+r.ro, 1, "no_answer", now, time.Time{}))
		temporaltest.WaitFor(ctx, t, func() bool { _, rt, _, _ := r.wf.snapshot(); return len(rt) == 1 })
		r.relay(attempted("A2-"+r.ro, 2, "answered", time.Now().UTC(), time.Time{}))
		r.relay(completed("C1-"+r.ro, time.Now().UTC(), 42, false))
		res := r.waitForResult()
		if res.Outcome != StatusCompleted || res.Complaint != "CP-1" {
			t.Errorf("result %+v", res)
		}
		creates, _, _ := r.complaints.snapshot()
		_, retries, _, links := r.wf.snapshot()
		if len(creates) != 1 || len(links) != 1 || len(retries) != 1 {
			t.Errorf("%d complaints, %d links, %d retries", len(creates), len(links), len(retries))
		}
		if next := retries[0].GetNextAttemptTime().AsTime(); next.Sub(now).Round(time.Second) != time.Second {
			t.Errorf("retry %s after the attempt", next.Sub(now))
		}
		r.replayAndSave("callback_3dc_retry_complaint.json")
	})

	t.Run("follow-up: the deadline expires the task", func(t *testing.T) {
		r := newRealRun(ctx, t, c, secondsSchedule(2*time.Second))
		r.start = followUpInput()
		r.start.SourceID = events.FollowUpSourceID("C-9", 1)
		r.relay(resolved("R1-"+r.ro, time.Now().UTC(), 1))
		res := r.waitForResult()
		if res.Outcome != StatusExpired {
			t.Errorf("result %+v", res)
		}
		r.replayAndSave("callback_follow_up_expired.json")
	})
}

// realRun is one callback's workflow on the real server, on its own task
// queue, with its own fakes.
type realRun struct {
	ctx        context.Context
	t          *testing.T
	c          client.Client
	queue, ro  string
	start      Input
	wf         *fakeWorkflowService
	complaints *fakeComplaints
}

func newRealRun(ctx context.Context, t *testing.T, c client.Client, s *callbackv1.CallbackSchedule) *realRun {
	id := outbox.NewID()
	r := &realRun{
		ctx: ctx, t: t, c: c, queue: "callback-test-" + id, ro: id, start: start3DC(),
		wf:         &fakeWorkflowService{schedule: s},
		complaints: &fakeComplaints{state: complaintv1.State_STATE_RESOLVED},
	}
	r.start.SourceID = testRO
	w := worker.New(c, r.queue, worker.Options{})
	Register(w, &Activities{Workflow: r.wf, Tasks: &fakeTasks{findings: "Noise from the front axle."}, Complaints: r.complaints,
		Archive: &fakeArchive{consent: map[string]*bool{testCustomer: ptr(true)}}})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.Stop()
		// A failed test leaves a running workflow behind otherwise.
		_ = c.TerminateWorkflow(context.Background(), r.id(), "", "test done")
	})
	return r
}

// id is unique per run: the server keeps closed workflows, and the fakes'
// source ids are fixed.
func (r *realRun) id() string {
	return events.CallbackWorkflowID(r.start.Kind, r.start.SourceID) + "/" + r.ro
}

// relay hands env to the workflow as outbox.Relay does, with
// SignalWithStart.
func (r *realRun) relay(env outbox.Envelope) {
	r.t.Helper()
	opts := client.StartWorkflowOptions{ID: r.id(), TaskQueue: r.queue}
	if _, err := r.c.SignalWithStartWorkflow(r.ctx, opts.ID, events.CallbackSignal, env, opts, events.CallbackWorkflowType, r.start); err != nil {
		r.t.Fatal(err)
	}
}

func (r *realRun) waitForResult() Result {
	r.t.Helper()
	var res Result
	if err := r.c.GetWorkflow(r.ctx, r.id(), "").Get(r.ctx, &res); err != nil {
		r.t.Fatal(err)
	}
	return res
}

// replayAndSave replays the run's history and saves it with -update.
func (r *realRun) replayAndSave(name string) {
	r.t.Helper()
	h := temporaltest.History(r.ctx, r.t, r.c, r.id(), "")
	if err := newReplayer().ReplayWorkflowHistory(nil, h); err != nil {
		r.t.Fatalf("replay %s: %v", name, err)
	}
	if *update {
		temporaltest.SaveHistory(r.t, name, h)
	}
}
