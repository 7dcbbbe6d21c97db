package vehicle

import (
	"time"

	"github.com/dealercare/dealercare/pkg/calendar"
)

// This file is the revisit-reminder schedule as plain rules (no Temporal):
// from the next due date, the steps of the cycle and when each falls.

// Reminder steps of a maintenance cycle.
const (
	StepBefore7d   = "before_7d"   // a reminder 7 days before due
	StepBefore1d   = "before_1d"   // a reminder 1 day before due
	StepOverdue14d = "overdue_14d" // a REVISIT_OVERDUE callback at the last-visited dealer
	StepChurn90d   = "churn_90d"   // the vehicle marked at risk of churn
)

// ReminderPolicy is when each step falls, relative to the due instant
// (the due date at DueHour in the dealers' zone). Offsets are durations,
// down to seconds, so a test or a demo can run a cycle in a minute.
type ReminderPolicy struct {
	Before7d   time.Duration `json:"before_7d,omitempty"`
	Before1d   time.Duration `json:"before_1d,omitempty"`
	Overdue14d time.Duration `json:"overdue_14d,omitempty"`
	Churn90d   time.Duration `json:"churn_90d,omitempty"`
	// DueHour is the local hour of the due instant, so reminders go out in
	// the morning rather than at midnight.
	DueHour int `json:"due_hour,omitempty"`
}

// DefaultReminderPolicy is the SPEC's: 7 and 1 days before, 14 and 90 days
// overdue, at 10:00.
func DefaultReminderPolicy() ReminderPolicy {
	return ReminderPolicy{Before7d: 7 * 24 * time.Hour, Before1d: 24 * time.Hour, Overdue14d: 14 * 24 * time.Hour, Churn90d: 90 * 24 * time.Hour, DueHour: 10}
}

func (p ReminderPolicy) withDefaults() ReminderPolicy {
	d := DefaultReminderPolicy()
	if p.Before7d <= 0 {
		p.Before7d = d.Before7d
	}
	if p.Before1d <= 0 {
		p.Before1d = d.Before1d
	}
	if p.Overdue14d <= 0 {
		p.Overdue14d = d.Overdue14d
	}
	if p.Churn90d <= 0 {
		p.Churn90d = d.Churn90d
	}
	if p.DueHour <= 0 || p.DueHour > 23 {
		p.DueHour = d.DueHour
	}
	return p
}

// Step is one step of a cycle and when it falls.
type Step struct {
	Name string    `json:"name"`
	At   time.Time `json:"at"`
}

// Steps are the cycle's steps for a due date, in time order.
func (p ReminderPolicy) Steps(due calendar.Date, loc *time.Location) []Step {
	p = p.withDefaults()
	at := time.Date(due.Year, due.Month, due.Day, p.DueHour, 0, 0, 0, loc).UTC()
	return []Step{
		{StepBefore7d, at.Add(-p.Before7d)},
		{StepBefore1d, at.Add(-p.Before1d)},
		{StepOverdue14d, at.Add(p.Overdue14d)},
		{StepChurn90d, at.Add(p.Churn90d)},
	}
}

// Reminders is where the current cycle's reminders stand; it travels in
// State through ContinueAsNew.
type Reminders struct {
	// Due is the cycle's due date; a new one starts a new cycle.
	Due calendar.Date `json:"due"`
	// Dealer is the dealer that reminds and gets the overdue callback: the
	// last visit's.
	Dealer string `json:"dealer"`
	// Steps not yet done, in time order. Steps already past when the cycle
	// became known (a backfilled visit) are left out: nobody is reminded
	// of a due date that passed before the visit was recorded.
	Pending []Step `json:"pending,omitempty"`
	// Done lists the steps carried out, with Skipped ones.
	Done    []string `json:"done,omitempty"`
	Skipped []string `json:"skipped,omitempty"`
	// Campaigns are the service-reminder campaigns that reminded this
	// cycle (their returns count when the vehicle comes back).
	Campaigns []string `json:"campaigns,omitempty"`
	// ChurnMarked: the archives carry the churn mark, to clear on return.
	ChurnMarked bool `json:"churn_marked,omitempty"`
}

// newCycle plans the reminders of a due date learned at now.
func newCycle(due calendar.Date, dealer string, p ReminderPolicy, loc *time.Location, now time.Time) Reminders {
	r := Reminders{Due: due, Dealer: dealer}
	for _, s := range p.Steps(due, loc) {
		if s.At.Before(now) {
			r.Skipped = append(r.Skipped, s.Name)
			continue
		}
		r.Pending = append(r.Pending, s)
	}
	return r
}

// next is the earliest pending step.
func (r *Reminders) next() (Step, bool) {
	if len(r.Pending) == 0 {
		return Step{}, false
	}
	return r.Pending[0], true
}

// done marks the earliest pending step carried out.
func (r *Reminders) done() {
	if len(r.Pending) > 0 {
		r.Done = append(r.Done, r.Pending[0].Name)
		r.Pending = r.Pending[1:]
	}
}

// retry moves the earliest pending step to at (its recipients wait for
// their quiet hours).
func (r *Reminders) retry(at time.Time) {
	if len(r.Pending) > 0 {
		r.Pending[0].At = at
	}
}
