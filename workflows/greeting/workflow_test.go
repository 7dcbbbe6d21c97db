package greeting

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
)

// campaigns plays the campaign service's EnsureHolidayGreeting, noting
// each call at the test clock's time.
type campaigns struct {
	campaignv1.CampaignWorkflowServiceClient
	env   *testsuite.TestWorkflowEnvironment
	mu    sync.Mutex
	calls []string
	times []time.Time
}

func (c *campaigns) EnsureHolidayGreeting(_ context.Context, r *campaignv1.EnsureHolidayGreetingRequest, _ ...grpc.CallOption) (*campaignv1.Campaign, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, r.GetHoliday()+" "+r.GetDate()+" "+r.GetStartTime().AsTime().Format(time.RFC3339))
	if c.env != nil {
		c.times = append(c.times, c.env.Now().UTC())
	}
	return &campaignv1.Campaign{Id: "c-" + r.GetHoliday()}, nil
}

func run(t *testing.T, start time.Time, in Input) (*campaigns, Input) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	fake := &campaigns{env: env}
	register(env, &Activities{Campaigns: fake})
	env.ExecuteWorkflow(WorkflowType, in)
	var can *workflow.ContinueAsNewError
	if !env.IsWorkflowCompleted() || !errors.As(env.GetWorkflowError(), &can) {
		t.Fatalf("workflow = %v, want ContinueAsNew", env.GetWorkflowError())
	}
	var next Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	return fake, next
}

// TestHolidayGreetings: started on 6 December, the New Year's greeting is
// inside its month's lead and is scheduled at once, for 10:00 in Shanghai
// on 1 January; the next run waits on a timer (skipped) until 7 January,
// a month before the Spring Festival (6 February 2027, from the lunar
// calendar), and schedules that.
func TestHolidayGreetings(t *testing.T) {
	start := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	fake, next := run(t, start, Input{})
	if len(fake.calls) != 1 || fake.calls[0] != "new_year 2027-01-01 2027-01-01T02:00:00Z" || !fake.times[0].Equal(start) {
		t.Fatalf("first run: %v at %v", fake.calls, fake.times)
	}
	if !next.After.Equal(time.Date(2027, 1, 1, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("continued with %+v", next)
	}
	fake, next = run(t, start, next)
	if len(fake.calls) != 1 || fake.calls[0] != "spring_festival 2027-02-06 2027-02-06T02:00:00Z" ||
		!fake.times[0].Equal(time.Date(2027, 1, 7, 2, 0, 0, 0, time.UTC)) {
		t.Fatalf("second run: %v at %v", fake.calls, fake.times)
	}
	// With a week's lead, the Lantern Festival's greeting waits until
	// 13 February.
	next.Lead = 7 * 24 * time.Hour
	fake, _ = run(t, start, next)
	if len(fake.calls) != 1 || fake.calls[0] != "lantern_festival 2027-02-20 2027-02-20T02:00:00Z" ||
		!fake.times[0].Equal(time.Date(2027, 2, 13, 2, 0, 0, 0, time.UTC)) {
		t.Fatalf("third run: %v at %v", fake.calls, fake.times)
	}
}
