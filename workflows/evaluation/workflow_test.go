package evaluation

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// A round refreshes the dealers, reads each feed until it has no more,
// then rolls up until nothing is dirty; after its rounds the workflow
// continues as new.
func TestFeedsRound(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Feeds, workflow.RegisterOptions{Name: WorkflowType})
	a := &Activities{}
	env.RegisterActivity(a)
	pages := map[string]int{"customer": 3, "callback": 1, "complaint": 1, "campaign": 1}
	var order []string
	env.OnActivity(a.SyncDealers, mock.Anything).Return(func(context.Context) error { order = append(order, "dealers"); return nil })
	env.OnActivity(a.SyncFeed, mock.Anything, mock.Anything).Return(func(_ context.Context, source string) (bool, error) {
		order = append(order, source)
		pages[source]--
		return pages[source] > 0, nil
	})
	rollups := 2
	env.OnActivity(a.Rollup, mock.Anything).Return(func(context.Context) (bool, error) {
		order = append(order, "rollup")
		rollups--
		return rollups > 0, nil
	})
	env.ExecuteWorkflow(WorkflowType, Input{Interval: time.Minute, Rounds: 1})
	if !env.IsWorkflowCompleted() {
		t.Fatal("not completed")
	}
	if err := env.GetWorkflowError(); err == nil || !workflow.IsContinueAsNewError(err) {
		t.Errorf("after its rounds: %v, want continue-as-new", err)
	}
	want := "dealers customer customer customer callback complaint campaign rollup rollup"
	if got := join(order); got != want {
		t.Errorf("round: %s, want %s", got, want)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}
