package greeting

import (
	"context"
	"errors"
	"time"

	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The one birthday-greeting workflow of the network (生日祝福): a durable
// timer per day, not cron.
const (
	BirthdayWorkflowID   = "greetings/birthdays"
	BirthdayWorkflowType = "BirthdayGreetings"
)

// BirthdayInput of BirthdayGreetings; ContinueAsNew carries the next day.
type BirthdayInput struct {
	// Date is the day whose greeting comes next, YYYY-MM-DD; empty: today
	// where the day begins first (UTC+14).
	Date string `json:"date,omitempty"`
}

// BirthdayNext is what QueryNext answers on the birthday workflow.
type BirthdayNext struct {
	Date string `json:"date"`
	// Start is the greeting hour of Date where it comes first (UTC+14);
	// Ensure is Start less the policy's lead: when the campaign is made.
	Start  time.Time `json:"start"`
	Ensure time.Time `json:"ensure"`
}

// GreetingTimes is the part of HQ's messaging policy the greeting
// workflows use: the lead, the local hour and (for holidays) the zone the
// holiday's date and hour are read in.
type GreetingTimes struct {
	Lead time.Duration `json:"lead"`
	Hour int           `json:"hour"`
	Zone string        `json:"zone,omitempty"`
}

// Zones furthest ahead and behind: a date's greeting hour comes first at
// UTC+14 (where the campaign service starts its campaign) and the date
// has ended everywhere when it ends at UTC-12.
var (
	firstZone = time.FixedZone("UTC+14", 14*3600)
	lastZone  = time.FixedZone("UTC-12", -12*3600)
)

// BirthdayGreetings has the campaign service make each day's birthday
// campaign (EnsureBirthdayGreeting, one per date, idempotent) a policy's
// lead before the greeting hour comes first anywhere, then continues as
// new for the next day. Each recipient is sent at the greeting hour in
// their own zone by that campaign. A day that has ended everywhere before
// the workflow got to it (the worker was down) is skipped: a birthday
// greeting is not sent a day late.
func BirthdayGreetings(ctx workflow.Context, in BirthdayInput) error {
	actx := workflow.WithActivityOptions(ctx, activityOptions)
	var a *Activities
	date := in.Date
	if date == "" {
		date = workflow.Now(ctx).In(firstZone).Format(time.DateOnly)
	}
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("date must be YYYY-MM-DD: "+date, ErrTypeRejected, err)
	}
	var p GreetingTimes
	if err := workflow.ExecuteActivity(actx, a.GreetingTimes).Get(ctx, &p); err != nil {
		return err
	}
	next := BirthdayNext{Date: date, Start: time.Date(d.Year(), d.Month(), d.Day(), p.Hour, 0, 0, 0, firstZone).UTC()}
	next.Ensure = next.Start.Add(-p.Lead)
	if err := workflow.SetQueryHandler(ctx, QueryNext, func() (BirthdayNext, error) { return next, nil }); err != nil {
		return err
	}
	if wait := next.Ensure.Sub(workflow.Now(ctx)); wait > 0 {
		if err := workflow.Sleep(ctx, wait); err != nil {
			return err
		}
	}
	log := workflow.GetLogger(ctx)
	ended := time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, lastZone)
	if !workflow.Now(ctx).Before(ended) {
		log.Warn("birthday greeting skipped: the day has ended everywhere", "date", date)
	} else {
		var id string
		err := workflow.ExecuteActivity(actx, a.EnsureBirthdays, date).Get(ctx, &id)
		var app *temporal.ApplicationError
		switch {
		case err == nil:
			log.Info("birthday greeting scheduled", "date", date, "campaign", id)
		case errors.As(err, &app) && app.Type() == ErrTypeRejected:
			// Refused for good (e.g. HQ's policy is invalid): the next day
			// is still greeted.
			log.Error("birthday greeting refused", "date", date, "error", err)
		default:
			return err
		}
	}
	return workflow.NewContinueAsNewError(ctx, BirthdayWorkflowType, BirthdayInput{Date: d.AddDate(0, 0, 1).Format(time.DateOnly)})
}

// GreetingTimes reads HQ's greeting lead, hour and zone (GetGreetingPolicy).
func (a *Activities) GreetingTimes(ctx context.Context) (GreetingTimes, error) {
	p, err := a.Campaigns.GetGreetingPolicy(ctx, &campaignv1.GetGreetingPolicyRequest{})
	if err != nil {
		return GreetingTimes{}, rejected(err)
	}
	return GreetingTimes{Lead: p.GetGreetingLead().AsDuration(), Hour: int(p.GetGreetingHour()), Zone: p.GetGreetingZone()}, nil
}

// EnsureBirthdays has the campaign service ensure the date's birthday
// campaign (idempotent: a retry finds the one made) and returns its id.
func (a *Activities) EnsureBirthdays(ctx context.Context, date string) (string, error) {
	c, err := a.Campaigns.EnsureBirthdayGreeting(ctx, &campaignv1.EnsureBirthdayGreetingRequest{Date: date})
	if err != nil {
		return "", rejected(err)
	}
	return c.GetId(), nil
}
