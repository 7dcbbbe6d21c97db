// Package evaluation runs the evaluation service's durable work: one
// workflow (evaluation/feeds) that keeps the dealers fresh, pulls each
// source service's change feed into facts and rolls up the dealer-days
// they touched, round after round. Each activity is one idempotent call
// of the evaluation service (facts and cursor commit together), so a
// retried or replayed activity changes nothing twice.
package evaluation

import (
	"context"
	"time"

	evaluationv1 "github.com/dealercare/dealercare/gen/go/dealercare/evaluation/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Names.
const (
	TaskQueue    = "evaluation"
	WorkflowID   = "evaluation/feeds"
	WorkflowType = "EvaluationFeeds"
)

// Sources are the change feeds, in the order a round reads them (visits
// before the callbacks they cause).
var Sources = []string{"customer", "callback", "complaint", "campaign"}

// Versions of the workflow (workflow.GetVersion), newest last.
const (
	// campaignFeedChange: a round also reads the campaign targets' feed
	// (after the three others). Runs recorded before it read three.
	campaignFeedChange = "campaign-feed"
)

// sources is what a round of this run reads.
func sources(ctx workflow.Context) []string {
	if workflow.GetVersion(ctx, campaignFeedChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return Sources[:3]
	}
	return Sources
}

// Input of the workflow.
type Input struct {
	// Interval between rounds (default 30 s).
	Interval time.Duration `json:"interval,omitzero"`
	// Rounds before the workflow continues as new (default 100), which
	// keeps its history short.
	Rounds int `json:"rounds,omitzero"`
}

// maxPages bounds the pages of one feed a round reads, so the rollup
// runs between bursts.
const maxPages = 50

// Feeds is the workflow.
func Feeds(ctx workflow.Context, in Input) error {
	if in.Interval <= 0 {
		in.Interval = 30 * time.Second
	}
	if in.Rounds <= 0 {
		in.Rounds = 100
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
	var a *Activities
	feeds := sources(ctx)
	for round := 0; round < in.Rounds; round++ {
		if round%10 == 0 {
			if err := workflow.ExecuteActivity(ctx, a.SyncDealers).Get(ctx, nil); err != nil {
				return err
			}
		}
		for _, source := range feeds {
			for range maxPages {
				var more bool
				if err := workflow.ExecuteActivity(ctx, a.SyncFeed, source).Get(ctx, &more); err != nil {
					return err
				}
				if !more {
					break
				}
			}
		}
		for {
			var more bool
			if err := workflow.ExecuteActivity(ctx, a.Rollup).Get(ctx, &more); err != nil {
				return err
			}
			if !more {
				break
			}
		}
		if err := workflow.Sleep(ctx, in.Interval); err != nil {
			return err
		}
	}
	return workflow.NewContinueAsNewError(ctx, WorkflowType, in)
}

// Activities call the evaluation service's internal API.
type Activities struct {
	Client evaluationv1.EvaluationWorkflowServiceClient
}

// SyncDealers refreshes the dealers, regions and time zones.
func (a *Activities) SyncDealers(ctx context.Context) error {
	_, err := a.Client.SyncDealers(ctx, &evaluationv1.SyncDealersRequest{})
	return err
}

// SyncFeed applies one page of a source's feed; it reports whether more
// is ready.
func (a *Activities) SyncFeed(ctx context.Context, source string) (bool, error) {
	res, err := a.Client.SyncFeed(ctx, &evaluationv1.SyncFeedRequest{Source: source})
	return res.GetMore(), err
}

// Rollup recomputes a batch of dirty dealers; it reports whether more
// remain.
func (a *Activities) Rollup(ctx context.Context) (bool, error) {
	res, err := a.Client.Rollup(ctx, &evaluationv1.RollupRequest{})
	return res.GetMore(), err
}

// Register adds the workflow and its activities to w.
func Register(w worker.Worker, client evaluationv1.EvaluationWorkflowServiceClient) {
	w.RegisterWorkflowWithOptions(Feeds, workflow.RegisterOptions{Name: WorkflowType})
	w.RegisterActivity(&Activities{Client: client})
}
