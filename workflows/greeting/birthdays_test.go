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
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// birthdayCampaigns plays the campaign service's greeting policy and
// EnsureBirthdayGreeting: one campaign per date (as the service derives
// its id), each call noted at the test clock's time; fail lists codes the
// next calls fail with first.
type birthdayCampaigns struct {
	campaignv1.CampaignWorkflowServiceClient
	env      *testsuite.TestWorkflowEnvironment
	lead     time.Duration
	hour     int32
	mu       sync.Mutex
	fail     []codes.Code
	calls    int
	made     map[string]string // date -> campaign
	dates    []string
	times    []time.Time
	policies int
}

func (c *birthdayCampaigns) GetGreetingPolicy(context.Context, *campaignv1.GetGreetingPolicyRequest, ...grpc.CallOption) (*campaignv1.MessagingPolicy, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.policies++
	return &campaignv1.MessagingPolicy{GreetingLead: durationpb.New(c.lead), GreetingHour: c.hour, GreetingZone: "Asia/Shanghai"}, nil
}

func (c *birthdayCampaigns) EnsureBirthdayGreeting(_ context.Context, r *campaignv1.EnsureBirthdayGreetingRequest, _ ...grpc.CallOption) (*campaignv1.Campaign, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if len(c.fail) > 0 {
		code := c.fail[0]
		c.fail = c.fail[1:]
		return nil, status.Error(code, "refused")
	}
	if c.made == nil {
		c.made = map[string]string{}
	}
	if _, ok := c.made[r.GetDate()]; !ok {
		c.made[r.GetDate()] = "bday-" + r.GetDate()
		c.dates = append(c.dates, r.GetDate())
		if c.env != nil {
			c.times = append(c.times, c.env.Now().UTC())
		}
	}
	return &campaignv1.Campaign{Id: c.made[r.GetDate()]}, nil
}

// runBirthdays runs one BirthdayGreetings run from start and returns the
// input it continued as new with.
func runBirthdays(t *testing.T, start time.Time, fake *birthdayCampaigns, in BirthdayInput) BirthdayInput {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	fake.env = env
	register(env, &Activities{Campaigns: fake})
	env.ExecuteWorkflow(BirthdayWorkflowType, in)
	var can *workflow.ContinueAsNewError
	if !env.IsWorkflowCompleted() || !errors.As(env.GetWorkflowError(), &can) {
		t.Fatalf("workflow = %v, want ContinueAsNew", env.GetWorkflowError())
	}
	var next BirthdayInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	return next
}

// TestBirthdayGreetings: started at 02:00 UTC on 7 December (16:00 on
// 7 December at UTC+14), with a 1 h lead and 10:00 greetings: 7 December's
// greeting hour came at UTC+14 at 20:00 UTC on the 6th, the day has not
// ended everywhere, so its campaign is made at once; 8 December's is made
// on a timer (skipped) at 19:00 UTC on the 7th, an hour before 10:00 comes
// at UTC+14; each run reads the policy again, so a new hour counts from
// the next day.
func TestBirthdayGreetings(t *testing.T) {
	start := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	fake := &birthdayCampaigns{lead: time.Hour, hour: 10}
	next := runBirthdays(t, start, fake, BirthdayInput{})
	if next.Date != "2026-12-08" || len(fake.dates) != 1 || fake.dates[0] != "2026-12-07" || !fake.times[0].Equal(start) {
		t.Fatalf("first run: %v at %v, next %+v", fake.dates, fake.times, next)
	}
	next = runBirthdays(t, start, fake, next)
	if next.Date != "2026-12-09" || len(fake.dates) != 2 || !fake.times[1].Equal(time.Date(2026, 12, 7, 19, 0, 0, 0, time.UTC)) {
		t.Fatalf("second run: %v at %v, next %+v", fake.dates, fake.times, next)
	}
	fake.hour, fake.lead = 8, 30*time.Second // seconds-level lead
	next = runBirthdays(t, start, fake, next)
	if want := time.Date(2026, 12, 8, 17, 59, 30, 0, time.UTC); next.Date != "2026-12-10" || !fake.times[2].Equal(want) {
		t.Fatalf("third run: %v at %v, want %v", fake.dates, fake.times, want)
	}
	if fake.policies != 3 || fake.calls != 3 {
		t.Errorf("policy read %d times, ensure called %d times; want 3 and 3", fake.policies, fake.calls)
	}
}

// TestBirthdayGreetingsLead: with HQ's default 30-day lead, a new workflow
// makes each of the next 30 days' campaigns at once, one run per day, and
// then waits for the 31st.
func TestBirthdayGreetingsLead(t *testing.T) {
	start := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	fake := &birthdayCampaigns{lead: 30 * 24 * time.Hour, hour: 10}
	in := BirthdayInput{}
	for range 32 {
		in = runBirthdays(t, start, fake, in)
	}
	if len(fake.dates) != 32 || fake.dates[30] != "2027-01-06" || !fake.times[30].Equal(start) {
		t.Fatalf("dates %v at %v", fake.dates, fake.times)
	}
	// 7 January's greeting comes at UTC+14 at 20:00 UTC on 6 January.
	if want := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC); fake.dates[31] != "2027-01-07" || !fake.times[31].Equal(want) {
		t.Errorf("31st: %s at %v, want at %v", fake.dates[31], fake.times[31], want)
	}
}

// TestBirthdayGreetingsLateAndRefused: a worker back on 10 December at
// 02:00 UTC with the workflow still at 7 December skips the 7th and 8th
// (ended everywhere: the 8th ended at UTC-12 at 12:00 UTC on the 9th) and
// makes the 9th's at once (still the 9th west of UTC+10); an unavailable
// service is retried and makes one campaign; a refused date is logged and
// the next day still comes.
func TestBirthdayGreetingsLateAndRefused(t *testing.T) {
	start := time.Date(2026, 12, 10, 2, 0, 0, 0, time.UTC)
	fake := &birthdayCampaigns{lead: time.Hour, hour: 10, fail: []codes.Code{codes.Unavailable, codes.Unavailable}}
	in := BirthdayInput{Date: "2026-12-07"}
	for range 3 {
		in = runBirthdays(t, start, fake, in)
	}
	if in.Date != "2026-12-10" || len(fake.dates) != 1 || fake.dates[0] != "2026-12-09" || fake.calls != 3 {
		t.Fatalf("late: %v (%d calls), next %+v", fake.dates, fake.calls, in)
	}
	fake.fail = []codes.Code{codes.InvalidArgument}
	if in = runBirthdays(t, start, fake, in); in.Date != "2026-12-11" || len(fake.dates) != 1 || fake.calls != 4 {
		t.Fatalf("refused: %v (%d calls), next %+v", fake.dates, fake.calls, in)
	}
	in = runBirthdays(t, start, fake, in)
	if len(fake.dates) != 2 || fake.dates[1] != "2026-12-11" {
		t.Fatalf("after a refusal: %v", fake.dates)
	}
}
