package evaluation

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	evaluationv1 "github.com/dealercare/dealercare/gen/go/dealercare/evaluation/v1"
	"github.com/dealercare/dealercare/pkg/outbox"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
)

// go test ./evaluation/ -run TestFeedsOnTemporal -update, with
// DEALERCARE_TEST_TEMPORAL_ADDRESS set (bin/devstack testenv), records the
// history of the current version anew; commit it. Keep the histories of
// earlier versions: they are the runs still open in production.
var update = flag.Bool("update", false, "rewrite testdata/*.json from runs on the Temporal dev server")

// TestReplayRecordedHistories replays every recorded history with the
// current code: a change that would break the feeds workflow in flight
// (a non-deterministic change) fails here.
func TestReplayRecordedHistories(t *testing.T) {
	temporaltest.ReplayTestdata(t, newReplayer())
}

func newReplayer() worker.WorkflowReplayer {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(Feeds, workflow.RegisterOptions{Name: WorkflowType})
	return r
}

// recordingClient plays the evaluation service's internal API: each feed
// has two pages the first time a run asks, the rollup two batches; it
// records the calls. (The service behind it is tested on PostgreSQL in
// services/evaluation; here the subject is the workflow on a real server.)
type recordingClient struct {
	mu      sync.Mutex
	calls   []string
	pages   map[string]int
	rollups int
}

func (c *recordingClient) record(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, s)
}

func (c *recordingClient) snapshot() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls)
}

func (c *recordingClient) SyncFeed(_ context.Context, in *evaluationv1.SyncFeedRequest, _ ...grpc.CallOption) (*evaluationv1.SyncFeedResponse, error) {
	c.record(in.GetSource())
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pages[in.GetSource()]++
	return &evaluationv1.SyncFeedResponse{Applied: 1, More: c.pages[in.GetSource()] == 1}, nil
}

func (c *recordingClient) Rollup(context.Context, *evaluationv1.RollupRequest, ...grpc.CallOption) (*evaluationv1.RollupResponse, error) {
	c.record("rollup")
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rollups++
	return &evaluationv1.RollupResponse{Dealers: 1, Days: 1, More: c.rollups == 1}, nil
}

func (c *recordingClient) SyncDealers(context.Context, *evaluationv1.SyncDealersRequest, ...grpc.CallOption) (*evaluationv1.SyncDealersResponse, error) {
	c.record("dealers")
	return &evaluationv1.SyncDealersResponse{Dealers: 19}, nil
}

// TestFeedsOnTemporal runs the feeds workflow on the real Temporal
// server for two rounds: every feed (the campaign's too) is read until it
// has no more, the rollup runs until nothing is dirty, and the run
// continues as new. Its history replays with the current code, and with
// -update is recorded.
func TestFeedsOnTemporal(t *testing.T) {
	addr := temporaltest.Address(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := dctemporal.Dial(ctx, dctemporal.Config{Address: addr, Namespace: "default"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	suffix := outbox.NewID()
	queue := TaskQueue + "-test-" + suffix
	rec := &recordingClient{pages: map[string]int{}}
	w := worker.New(c, queue, worker.Options{})
	Register(w, rec)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	id := WorkflowID + "/" + suffix
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, WorkflowType, Input{Interval: 200 * time.Millisecond, Rounds: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.TerminateWorkflow(context.Background(), id, "", "test done") })
	// The first run ends by continuing as new.
	if err := run.GetWithOptions(ctx, nil, client.WorkflowRunGetOptions{DisableFollowingRuns: true}); err == nil || !isContinueAsNew(err) {
		t.Fatalf("first run ended with %v, want continue-as-new", err)
	}
	calls := rec.snapshot()
	want := []string{"dealers", "customer", "customer", "callback", "callback", "complaint", "complaint", "campaign", "campaign", "rollup", "rollup",
		"customer", "callback", "complaint", "campaign", "rollup"}
	if len(calls) < len(want) || !slices.Equal(calls[:len(want)], want) {
		t.Errorf("calls of the first run:\n %v\nwant\n %v", calls, want)
	}
	h := temporaltest.History(ctx, t, c, id, run.GetRunID())
	if err := newReplayer().ReplayWorkflowHistory(nil, h); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if *update {
		temporaltest.SaveHistory(t, "feeds_"+historyVersion+".json", h)
	}
}

func isContinueAsNew(err error) bool {
	var can *workflow.ContinueAsNewError
	return errors.As(err, &can)
}

// historyVersion names the history TestFeedsOnTemporal records: the
// newest workflow.GetVersion change.
const historyVersion = campaignFeedChange
