package greeting

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
)

// campaigns plays the campaign service's EnsureHolidayGreeting, noting
// each call at the test clock's time.
type campaigns struct {
	campaignv1.CampaignWorkflowServiceClient
	env   *testsuite.TestWorkflowEnvironment
	mu    sync.Mutex
	calls []string
	times []time.Time
	// policy is HQ's stored greeting policy (zero: the defaults);
	// policies counts its reads.
	policy   GreetingTimes
	policies int
}

func (c *campaigns) GetGreetingPolicy(context.Context, *campaignv1.GetGreetingPolicyRequest, ...grpc.CallOption) (*campaignv1.MessagingPolicy, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.policies++
	p := c.policy
	if p == (GreetingTimes{}) {
		p = GreetingTimes{Lead: DefaultLead, Hour: DefaultHour, Zone: DefaultZone}
	}
	return &campaignv1.MessagingPolicy{GreetingLead: durationpb.New(p.Lead), GreetingHour: int32(p.Hour), GreetingZone: p.Zone}, nil
}

func (c *campaigns) setPolicy(p GreetingTimes) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.policy = p
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
	return runWith(t, start, in, GreetingTimes{}, nil)
}

// runWith runs HolidayGreetings once with HQ's policy p; during, if set,
// is called with the environment and the fake before the run.
func runWith(t *testing.T, start time.Time, in Input, p GreetingTimes, during func(*testsuite.TestWorkflowEnvironment, *campaigns)) (*campaigns, Input) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	fake := &campaigns{env: env, policy: p}
	register(env, &Activities{Campaigns: fake})
	if during != nil {
		during(env, fake)
	}
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
	// With a week's lead (HQ's policy), the Lantern Festival's greeting
	// waits until 13 February.
	fake, _ = runWith(t, start, next, GreetingTimes{Lead: 7 * 24 * time.Hour, Hour: 10, Zone: "Asia/Shanghai"}, nil)
	if len(fake.calls) != 1 || fake.calls[0] != "lantern_festival 2027-02-20 2027-02-20T02:00:00Z" ||
		!fake.times[0].Equal(time.Date(2027, 2, 13, 2, 0, 0, 0, time.UTC)) {
		t.Fatalf("third run: %v at %v", fake.calls, fake.times)
	}
}

// TestHolidayGreetingFollowsPolicy: the stored policy decides when a
// holiday's greeting goes. HQ's policy says 09:00 Berlin time with a
// 30-day lead: New Year's greeting starts at 08:00 UTC. Then, while the
// run waits for the Spring Festival's lead (10:00 Shanghai: 7 January
// 02:00 UTC), HQ changes the policy to 09:00 in Europe/Berlin: the run
// reads it when it wakes, waits six hours more, and schedules the greeting
// for 6 February 08:00 UTC. A later hour does not schedule New Year, the
// date already scheduled, a second time.
func TestHolidayGreetingFollowsPolicy(t *testing.T) {
	start := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	berlin := GreetingTimes{Lead: DefaultLead, Hour: 9, Zone: "Europe/Berlin"}
	fake, next := runWith(t, start, Input{}, berlin, nil)
	if len(fake.calls) != 1 || fake.calls[0] != "new_year 2027-01-01 2027-01-01T08:00:00Z" {
		t.Fatalf("New Year by the Berlin policy: %v", fake.calls)
	}
	if next.LastDate != "2027-01-01" || !next.After.Equal(time.Date(2027, 1, 1, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("continued with %+v", next)
	}

	next = Input{After: time.Date(2027, 1, 1, 2, 0, 0, 0, time.UTC), LastDate: "2027-01-01"}
	fake, next = runWith(t, start, next, GreetingTimes{}, func(env *testsuite.TestWorkflowEnvironment, f *campaigns) {
		env.RegisterDelayedCallback(func() { f.setPolicy(berlin) }, 10*24*time.Hour)
	})
	if len(fake.calls) != 1 || fake.calls[0] != "spring_festival 2027-02-06 2027-02-06T08:00:00Z" ||
		!fake.times[0].Equal(time.Date(2027, 1, 7, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("Spring Festival after the policy change: %v at %v", fake.calls, fake.times)
	}
	if fake.policies != 3 {
		t.Errorf("policy read %d times, want 3 (start, wake, after the extra wait)", fake.policies)
	}
	if next.LastDate != "2027-02-06" {
		t.Errorf("continued with %+v", next)
	}

	// On 31 December, HQ moves the hour later (Berlin) after New Year's
	// greeting was scheduled for 10:00 Shanghai: New Year at 08:00 UTC is
	// after the run's After, but its date was scheduled already.
	eve := time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC)
	fake, _ = runWith(t, eve, Input{After: time.Date(2027, 1, 1, 2, 0, 0, 0, time.UTC), LastDate: "2027-01-01"}, berlin, nil)
	if len(fake.calls) != 1 || !strings.HasPrefix(fake.calls[0], "spring_festival 2027-02-06 ") {
		t.Errorf("after New Year was scheduled: %v, want the Spring Festival", fake.calls)
	}
}

// TestHolidayGreetingNotSkippedWhenTheHourMovesEarlier: the run sleeps
// until an hour before New Year's 10:00 Shanghai greeting; meanwhile HQ
// moves the hour to 08:00, which is already past when the run wakes. The
// greeting is scheduled (late, at 08:00) rather than the run skipping to
// the Spring Festival.
func TestHolidayGreetingNotSkippedWhenTheHourMovesEarlier(t *testing.T) {
	eve := time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC)
	shanghai := GreetingTimes{Lead: time.Hour, Hour: 10, Zone: "Asia/Shanghai"}
	wake := time.Date(2027, 1, 1, 1, 0, 0, 0, time.UTC) // 09:00 Shanghai
	fake, next := runWith(t, eve, Input{}, shanghai, func(env *testsuite.TestWorkflowEnvironment, f *campaigns) {
		earlier := shanghai
		earlier.Hour = 8
		env.RegisterDelayedCallback(func() { f.setPolicy(earlier) }, wake.Sub(eve)-time.Minute)
	})
	if len(fake.calls) != 1 || fake.calls[0] != "new_year 2027-01-01 2027-01-01T00:00:00Z" {
		t.Fatalf("after the hour moved earlier: %v, want New Year at 08:00 Shanghai", fake.calls)
	}
	if next.LastDate != "2027-01-01" {
		t.Errorf("continued with %+v", next)
	}
}
