package temporal

import (
	"context"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// stopTestActivity takes two seconds, unless its context ends first.
const stopTestActivity = "StopTestActivity"

func stopTestWorkflow(ctx workflow.Context) (int32, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond},
	})
	var attempt int32
	err := workflow.ExecuteActivity(ctx, stopTestActivity).Get(ctx, &attempt)
	return attempt, err
}

// TestWorkerStopLetsActivitiesFinish: a worker stopped (as SIGTERM stops
// the worker process) while an activity runs waits for it, so the
// activity completes on its first attempt rather than being cancelled and
// retried by another worker. With the SDK's default stop timeout (0) the
// same test fails: the activity's context ends at once.
func TestWorkerStopLetsActivitiesFinish(t *testing.T) {
	addr := temporaltest.Address(t)
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: temporaltest.Namespace(t, addr),
		Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	queue := "stop-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	started := make(chan struct{}, 10)
	var cancelled atomic.Int32
	act := func(ctx context.Context) (int32, error) {
		started <- struct{}{}
		select {
		case <-time.After(2 * time.Second):
			return activity.GetInfo(ctx).Attempt, nil
		case <-ctx.Done():
			cancelled.Add(1)
			return 0, ctx.Err()
		}
	}
	register := func(w worker.Worker) {
		w.RegisterWorkflowWithOptions(stopTestWorkflow, workflow.RegisterOptions{Name: "StopTestWorkflow"})
		w.RegisterActivityWithOptions(act, activity.RegisterOptions{Name: stopTestActivity})
	}
	first := NewWorker(c, queue)
	register(first)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{TaskQueue: queue}, "StopTestWorkflow")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the activity never started")
	}
	began := time.Now()
	first.Stop()
	t.Logf("Stop returned after %v", time.Since(began).Round(time.Millisecond))

	// Another worker finishes the workflow.
	second := NewWorker(c, queue)
	register(second)
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	defer second.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var attempt int32
	if err := run.Get(ctx, &attempt); err != nil {
		t.Fatal(err)
	}
	if attempt != 1 || cancelled.Load() != 0 {
		t.Errorf("the activity completed on attempt %d after %d cancellation(s); want attempt 1, none cancelled", attempt, cancelled.Load())
	}
}
