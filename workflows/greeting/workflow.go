package greeting

import (
	"context"
	"time"

	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	"github.com/dealercare/dealercare/pkg/calendar"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The one holiday-greeting workflow of the network.
const (
	WorkflowID   = "greetings/holidays"
	WorkflowType = "HolidayGreetings"
	// QueryNext returns the Occurrence it waits for.
	QueryNext = "next"
)

// Defaults of Input.
const (
	// DefaultLead: a holiday's greeting is scheduled a month ahead, so HQ
	// sees it (and may edit or cancel it) well before it goes.
	DefaultLead = 30 * 24 * time.Hour
	DefaultHour = 10
	DefaultZone = "Asia/Shanghai"
)

// Input of HolidayGreetings; ContinueAsNew carries After.
type Input struct {
	// After: holidays whose greeting starts after this (the last one
	// scheduled); zero: now.
	After time.Time     `json:"after,omitzero"`
	Lead  time.Duration `json:"lead,omitempty"`
	Hour  int           `json:"hour,omitempty"`
	Zone  string        `json:"zone,omitempty"`
	// LastDate is the date of the holiday last scheduled (from
	// VersionHolidayPolicy on): a policy change that moves its hour later
	// does not schedule it again.
	LastDate string `json:"last_date,omitempty"`
}

// Register registers the workflow and its activities on w (the campaign
// task queue's worker).
func Register(w worker.Worker, client campaignv1.CampaignWorkflowServiceClient) {
	register(w, &Activities{Campaigns: client})
}

type registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
	RegisterActivity(a any)
}

func register(r registry, a *Activities) {
	r.RegisterWorkflowWithOptions(HolidayGreetings, workflow.RegisterOptions{Name: WorkflowType})
	r.RegisterWorkflowWithOptions(BirthdayGreetings, workflow.RegisterOptions{Name: BirthdayWorkflowType})
	r.RegisterActivity(a)
}

var activityOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        10 * time.Minute,
		NonRetryableErrorTypes: []string{ErrTypeRejected},
	},
}

// Versions of HolidayGreetings.
const (
	changeHolidayPolicy = "holiday-policy"
	// VersionHolidayPolicy: the run reads HQ's stored greeting lead, hour
	// and zone (GetGreetingPolicy) instead of its input's, again after its
	// wait, so a policy changed meanwhile decides when the greeting goes;
	// a holiday date already scheduled (LastDate) is not scheduled again.
	VersionHolidayPolicy workflow.Version = 1
)

// HolidayGreetings waits for the next holiday's lead time, has its
// greeting scheduled, and continues as new for the one after. A timer,
// not cron: the wait survives restarts, and a worker down at the time
// schedules the greeting when it is back.
func HolidayGreetings(ctx workflow.Context, in Input) error {
	if in.Lead <= 0 {
		in.Lead = DefaultLead
	}
	if in.Hour <= 0 || in.Hour > 23 {
		in.Hour = DefaultHour
	}
	if in.Zone == "" {
		in.Zone = DefaultZone
	}
	actx := workflow.WithActivityOptions(ctx, activityOptions)
	var a *Activities
	if workflow.GetVersion(ctx, changeHolidayPolicy, workflow.DefaultVersion, VersionHolidayPolicy) >= VersionHolidayPolicy {
		return holidaysByPolicy(ctx, actx, in)
	}
	after := in.After
	if now := workflow.Now(ctx); after.Before(now) {
		after = now
	}
	var next Occurrence
	if err := workflow.ExecuteActivity(actx, a.NextHoliday, NextInput{After: after, Zone: in.Zone, Hour: in.Hour}).Get(ctx, &next); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, QueryNext, func() (Occurrence, error) { return next, nil }); err != nil {
		return err
	}
	if d := next.At.Add(-in.Lead).Sub(workflow.Now(ctx)); d > 0 {
		if err := workflow.Sleep(ctx, d); err != nil {
			return err
		}
	}
	var id string
	if err := workflow.ExecuteActivity(actx, a.ScheduleGreeting, next).Get(ctx, &id); err != nil {
		return err
	}
	workflow.GetLogger(ctx).Info("holiday greeting scheduled", "holiday", next.Key, "date", next.Date, "campaign", id)
	in.After = next.At
	return workflow.NewContinueAsNewError(ctx, WorkflowType, in)
}

// holidaysByPolicy is HolidayGreetings from VersionHolidayPolicy on: it
// reads HQ's policy, finds the next holiday at its hour in its zone, and
// sleeps until the lead before it; then it reads the policy again, and
// while the holiday it finds then is still beyond its lead (the hour,
// zone or lead changed meanwhile) it waits again. Input's lead, hour and
// zone stand in for a policy field the service leaves empty.
func holidaysByPolicy(ctx, actx workflow.Context, in Input) error {
	var a *Activities
	var next Occurrence
	if err := workflow.SetQueryHandler(ctx, QueryNext, func() (Occurrence, error) { return next, nil }); err != nil {
		return err
	}
	// From the run's start, not from each wake-up: a timer that fires late
	// (the worker or Temporal was down past the holiday's hour) or an hour
	// moved earlier than now still finds that holiday, and schedules it
	// late rather than skipping to the next one.
	after := in.After
	if now := workflow.Now(ctx); after.Before(now) {
		after = now
	}
	for {
		var p GreetingTimes
		if err := workflow.ExecuteActivity(actx, a.GreetingTimes).Get(ctx, &p); err != nil {
			return err
		}
		if p.Lead <= 0 {
			p.Lead = in.Lead
		}
		if p.Zone == "" {
			p.Zone, p.Hour = in.Zone, in.Hour
		}
		if err := workflow.ExecuteActivity(actx, a.NextHoliday, NextInput{After: after, Zone: p.Zone, Hour: p.Hour, AfterDate: in.LastDate}).Get(ctx, &next); err != nil {
			return err
		}
		d := next.At.Add(-p.Lead).Sub(workflow.Now(ctx))
		if d <= 0 {
			break
		}
		if err := workflow.Sleep(ctx, d); err != nil {
			return err
		}
	}
	var id string
	if err := workflow.ExecuteActivity(actx, a.ScheduleGreeting, next).Get(ctx, &id); err != nil {
		return err
	}
	workflow.GetLogger(ctx).Info("holiday greeting scheduled", "holiday", next.Key, "date", next.Date, "at", next.At, "campaign", id)
	in.After, in.LastDate = next.At, next.Date
	return workflow.NewContinueAsNewError(ctx, WorkflowType, in)
}

// Activities compute the calendar and call the campaign service.
type Activities struct {
	Campaigns campaignv1.CampaignWorkflowServiceClient
}

// ErrTypeRejected: the campaign service refused the greeting for good.
const ErrTypeRejected = "GreetingRejected"

// rejected makes the campaign service's final refusals non-retryable;
// anything else (unavailable, deadline) is retried.
func rejected(err error) error {
	switch status.Code(err) {
	case codes.InvalidArgument, codes.PermissionDenied, codes.NotFound, codes.Unauthenticated, codes.FailedPrecondition:
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeRejected, nil)
	}
	return err
}

// NextInput asks for the first holiday whose greeting starts after After
// (and whose date is after AfterDate, when set).
type NextInput struct {
	After     time.Time `json:"after"`
	Zone      string    `json:"zone"`
	Hour      int       `json:"hour"`
	AfterDate string    `json:"after_date,omitempty"`
}

// NextHoliday computes the next occurrence (an activity: the lunar
// calendar's library stays out of the workflow's deterministic code).
func (a *Activities) NextHoliday(_ context.Context, in NextInput) (*Occurrence, error) {
	for _, o := range Next(in.After, calendar.Zone(in.Zone), in.Hour) {
		if o.Date > in.AfterDate {
			return &o, nil
		}
	}
	return nil, temporal.NewNonRetryableApplicationError("no holiday within a year", ErrTypeRejected, nil)
}

// ScheduleGreeting has the campaign service ensure the holiday's greeting
// campaign (idempotent) and returns its id.
func (a *Activities) ScheduleGreeting(ctx context.Context, o Occurrence) (string, error) {
	c, err := a.Campaigns.EnsureHolidayGreeting(ctx, &campaignv1.EnsureHolidayGreetingRequest{Holiday: o.Key, Name: o.Name, Date: o.Date,
		StartTime: timestamppb.New(o.At)})
	if err != nil {
		return "", rejected(err)
	}
	return c.GetId(), nil
}
