// Package vehicle is a vehicle's life across the dealer network: one
// long-running workflow per VIN (id vehicle/<VIN>, events.VehicleWorkflowID)
// receives the vehicle's events from the services' outboxes, keeps its
// visits, computes when its next maintenance is due (NextService) and
// records that on every dealer's archive of the VIN.
//
// The workflow never completes: a closed run would forget its Dedup while a
// redelivery may still come (outbox doc), so it continues as new instead,
// carrying its state. The revisit reminders of the campaign issue are to be
// timers in this same workflow (see the marked places).
package vehicle

import (
	"cmp"
	"slices"
	"strings"
	"time"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/calendar"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Workflow versions (workflow.GetVersion) of the changes since the first
// release; recorded histories in testdata replay across them.
const (
	changeKeepOlderVisits = "keep-older-visits"
	// VersionKeepOlderVisits takes a visit older than the last one into the
	// history instead of dropping it (State.apply).
	VersionKeepOlderVisits workflow.Version = 1

	changeReminders = "revisit-reminders"
	// VersionReminders runs the revisit reminders: timers for the steps of
	// each cycle (reminders.go), carried out by ReminderActivities.
	VersionReminders workflow.Version = 1

	changeRecallRepairs = "recall-repairs"
	// VersionRecallRepairs reports each recall-type repair order quoting a
	// campaign code to the campaign service, which completes the VIN on
	// that recall, attributed to the repairing dealer.
	VersionRecallRepairs workflow.Version = 1

	changePlans = "maintenance-plans"
	// VersionPlans loads HQ's plan for the vehicle's model (the campaign
	// service's /v1/maintenancePlans) at every visit, instead of
	// DefaultPlan for every vehicle.
	VersionPlans workflow.Version = 1
)

// QueryState is the query that returns the workflow's State.
const QueryState = "state"

// DefaultMaxEvents is how many signals a run takes before it continues as
// new (sooner if Temporal suggests it), keeping histories short.
const DefaultMaxEvents = 500

// Input of VehicleLifecycle. A relay starts the workflow with an
// events.VehicleStart, whose JSON this is; ContinueAsNew fills in the rest.
type Input struct {
	events.VehicleStart
	// State and Seen are carried over from the previous run.
	State *State       `json:"state,omitempty"`
	Seen  outbox.Dedup `json:"seen"`
	// MaxEvents overrides DefaultMaxEvents (tests set it small).
	MaxEvents int `json:"max_events,omitempty"`
	// Reminders overrides DefaultReminderPolicy (tests and demos shorten it).
	Reminders *ReminderPolicy `json:"reminders,omitempty"`
}

// Register registers the workflow, under events.VehicleWorkflowType, and
// its activities on w, a worker of events.VehicleTaskQueue.
func Register(w worker.Worker, client customerv1.VehicleStateServiceClient) {
	register(w, client)
}

// registry is what a worker.Worker and a test environment share.
type registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
	RegisterActivity(a any)
}

func register(r registry, client customerv1.VehicleStateServiceClient) {
	r.RegisterWorkflowWithOptions(VehicleLifecycle, workflow.RegisterOptions{Name: events.VehicleWorkflowType})
	r.RegisterActivity(&Activities{VehicleState: client})
}

// RegisterReminders registers the reminder steps' activities on w, the
// worker of events.VehicleTaskQueue that Register set up.
func RegisterReminders(w worker.Worker, a *ReminderActivities) { w.RegisterActivity(a) }

// reminderOptions: a step must happen, so transient failures are retried
// without limit (backing off to 10 minutes); a refused one is skipped.
var reminderOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        10 * time.Minute,
		NonRetryableErrorTypes: []string{ErrTypeReminderRejected},
	},
}

// maxReminderRetries bounds how often a reminder comes back for recipients
// in their quiet hours.
const maxReminderRetries = 5

// recordOptions: the archive must show the state eventually, so transient
// failures (the customer service down or restarting) are retried without a
// limit, backing off to one attempt every 10 minutes; events arriving
// meanwhile wait in the signal channel. A rejected call (ErrTypeForbidden,
// ErrTypeInvalidState) is not retried: it goes to State.RecordError and the
// next event records again.
var recordOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        10 * time.Minute,
		MaximumAttempts:        0, // unlimited
		NonRetryableErrorTypes: []string{ErrTypeForbidden, ErrTypeInvalidState},
	},
}

// dueZone is where due dates are civil dates: the dealers' default zone
// (SPEC "Dealer network"). Per-dealer zones would need the dealer's
// calendar (network activities).
var dueZone = calendar.Zone("")

// lifecycle is one run's working state.
type lifecycle struct {
	state State
	seen  outbox.Dedup
	plan  Plan
	// dirty: the state changed since it was last recorded.
	dirty bool
	// remind runs the reminders (VersionReminders); policy times them.
	remind bool
	policy ReminderPolicy
	// ended are cycles a newer visit closed, to settle (returns, churn).
	ended []Reminders
	// retries counts quiet-hour retries of the earliest pending step.
	retries int
}

// VehicleLifecycle is the vehicle's workflow, registered as
// events.VehicleWorkflowType. It takes outbox.Envelope signals on
// events.VehicleSignal: every RepairOrderClosed (at any dealer) and
// VehicleDelivered newer than the last visit starts a new maintenance cycle
// and is recorded with RecordServiceState; redeliveries and older events
// change nothing. It answers QueryState and returns only a ContinueAsNew.
func VehicleLifecycle(ctx workflow.Context, in Input) error {
	log := workflow.GetLogger(ctx)
	l := &lifecycle{seen: in.Seen, plan: DefaultPlan(), policy: DefaultReminderPolicy()}
	if in.Reminders != nil {
		l.policy = *in.Reminders
	}
	l.remind = workflow.GetVersion(ctx, changeReminders, workflow.DefaultVersion, VersionReminders) >= VersionReminders
	if in.State != nil {
		l.state = *in.State
	}
	if l.state.Plan != nil {
		l.plan = *l.state.Plan
	}
	if l.state.VIN == "" {
		l.state.VIN = in.VIN
	}
	if l.state.VIN == "" { // started without input: the id is the key
		l.state.VIN = strings.TrimPrefix(workflow.GetInfo(ctx).WorkflowExecution.ID, events.VehicleWorkflowID(""))
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) { return l.state, nil }); err != nil {
		return err
	}
	maxEvents := in.MaxEvents
	if maxEvents <= 0 {
		maxEvents = DefaultMaxEvents
	}

	signals := workflow.GetSignalChannel(ctx, events.VehicleSignal)
	received := 0
	for received < maxEvents && (received == 0 || !workflow.GetInfo(ctx).GetContinueAsNewSuggested()) {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(signals, func(c workflow.ReceiveChannel, _ bool) {
			var env outbox.Envelope
			c.Receive(ctx, &env)
			received++
			l.receive(ctx, env)
		})
		// The next reminder step, on a timer a new visit cancels.
		var due *Step
		cancelTimer := func() {}
		if step, ok := l.nextStep(); ok {
			if d := step.At.Sub(workflow.Now(ctx)); d <= 0 {
				due = &step
			} else {
				tctx, cancel := workflow.WithCancel(ctx)
				cancelTimer = cancel
				sel.AddFuture(workflow.NewTimer(tctx, d), func(f workflow.Future) {
					if f.Get(ctx, nil) == nil {
						due = &step
					}
				})
			}
		}
		if due == nil {
			sel.Select(ctx)
		}
		cancelTimer()
		// Take what else is buffered, so a burst is recorded once.
		received += l.drain(ctx, signals)
		l.record(ctx)
		l.settle(ctx)
		if due != nil && l.isNext(*due) {
			l.runStep(ctx, *due)
		}
	}

	// Nothing buffered may be lost with this run.
	received += l.drain(ctx, signals)
	l.record(ctx)
	l.settle(ctx)
	log.Info("continuing as new", "signals", received, "seen", l.seen.Len())
	return workflow.NewContinueAsNewError(ctx, events.VehicleWorkflowType, Input{
		VehicleStart: events.VehicleStart{VIN: l.state.VIN},
		State:        &l.state,
		Seen:         l.seen,
		MaxEvents:    in.MaxEvents,
		Reminders:    in.Reminders,
	})
}

// receive applies one envelope unless it is a redelivery.
func (l *lifecycle) receive(ctx workflow.Context, env outbox.Envelope) {
	log := workflow.GetLogger(ctx)
	if l.seen.Seen(env.EventID) {
		l.state.Redeliveries++
		log.Info("dropped redelivered event", "event_id", env.EventID, "kind", env.Kind)
		return
	}
	l.recallRepair(ctx, env)
	l.loadPlan(ctx, env)
	keepOlder := workflow.GetVersion(ctx, changeKeepOlderVisits, workflow.DefaultVersion, VersionKeepOlderVisits) >= VersionKeepOlderVisits
	lastVisit := l.state.LastVisitTime
	changed, why := l.state.apply(env, l.plan, dueZone, workflow.Now(ctx), keepOlder)
	if !changed {
		log.Warn("ignored event", "event_id", env.EventID, "kind", env.Kind, "reason", why)
		return
	}
	l.dirty = true
	l.replan(workflow.Now(ctx), !l.state.LastVisitTime.Equal(lastVisit))
}

// recallRepair reports a recall repair order (any dealer, older than the
// last visit or not) to the campaign service. A refusal is logged: the
// repair stays on the archive, and the recall's list shows the VIN open.
func (l *lifecycle) recallRepair(ctx workflow.Context, env outbox.Envelope) {
	if env.Kind != events.KindRepairOrderClosed {
		return
	}
	var ro events.RepairOrderClosed
	if env.Decode(&ro) != nil || ro.Type != recallType || strings.TrimSpace(ro.CampaignCode) == "" || (ro.VIN != "" && ro.VIN != l.state.VIN) {
		return
	}
	if workflow.GetVersion(ctx, changeRecallRepairs, workflow.DefaultVersion, VersionRecallRepairs) < VersionRecallRepairs {
		return
	}
	in := RecallRepairInput{VIN: l.state.VIN, Dealer: cmp.Or(ro.Dealer, env.DealerID), RepairOrder: cmp.Or(ro.Number, ro.RepairOrderID),
		Code: ro.CampaignCode, CloseTime: businessTime(ro.CloseTime, cmp.Or(env.OccurredAt, workflow.Now(ctx)))}
	var a *ReminderActivities
	var n int
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, reminderOptions), a.CompleteRecall, in).Get(ctx, &n); err != nil {
		workflow.GetLogger(ctx).Error("recall repair refused", "vin", in.VIN, "code", in.Code, "error", err)
		return
	}
	workflow.GetLogger(ctx).Info("recall repair recorded", "vin", in.VIN, "code", in.Code, "dealer", in.Dealer, "recalls", n)
}

// planOptions: a plan that cannot be loaded within a few attempts leaves
// the last one in force, so a campaign service outage does not hold up the
// vehicle's events.
var planOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 10 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        5 * time.Second,
		MaximumAttempts:        3,
		NonRetryableErrorTypes: []string{ErrTypeReminderRejected},
	},
}

// loadPlan loads the vehicle's plan before a visit is applied, so HQ's
// changes and a model learned since count from the next visit on.
func (l *lifecycle) loadPlan(ctx workflow.Context, env outbox.Envelope) {
	if env.Kind != events.KindRepairOrderClosed && env.Kind != events.KindVehicleDelivered {
		return
	}
	if workflow.GetVersion(ctx, changePlans, workflow.DefaultVersion, VersionPlans) < VersionPlans {
		return
	}
	var a *ReminderActivities
	var p Plan
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, planOptions), a.LoadPlan, l.state.VIN).Get(ctx, &p); err != nil {
		workflow.GetLogger(ctx).Warn("maintenance plan not loaded; the last one stays", "vin", l.state.VIN, "error", err)
		return
	}
	l.plan, l.state.Plan = p, &p
}

// recallType is a recall repair order's type (the archive's RORecall).
const recallType = "recall"

// replan starts a new reminder cycle when the due date or the reminding
// dealer moved. returned: a newer visit closed the cycle, whose campaigns
// count it as their return and whose churn mark is cleared.
func (l *lifecycle) replan(now time.Time, returned bool) {
	if !l.remind || l.state.NextDue == nil {
		return
	}
	old := l.state.Reminders
	if old != nil && old.Due == l.state.NextDue.Date && old.Dealer == l.state.LastVisitDealer {
		return
	}
	if old != nil && returned {
		l.ended = append(l.ended, *old)
	}
	cycle := newCycle(l.state.NextDue.Date, l.state.LastVisitDealer, l.policy, dueZone, now)
	if old != nil && !returned {
		// The same cycle replanned (an older visit moved the estimate):
		// what was done stays done, and the churn mark stays.
		cycle.Done, cycle.Campaigns, cycle.ChurnMarked = old.Done, old.Campaigns, old.ChurnMarked
		cycle.Pending = slices.DeleteFunc(cycle.Pending, func(s Step) bool { return slices.Contains(old.Done, s.Name) })
	}
	l.state.Reminders = &cycle
	l.retries = 0
}

// nextStep is the earliest pending step of the cycle.
func (l *lifecycle) nextStep() (Step, bool) {
	if !l.remind || l.state.Reminders == nil {
		return Step{}, false
	}
	return l.state.Reminders.next()
}

// isNext reports whether s is still the earliest pending step (a visit
// received with the timer may have replanned the cycle).
func (l *lifecycle) isNext(s Step) bool {
	next, ok := l.nextStep()
	return ok && next == s
}

// runStep carries out one step of the cycle.
func (l *lifecycle) runStep(ctx workflow.Context, s Step) {
	r := l.state.Reminders
	log := workflow.GetLogger(ctx)
	actx := workflow.WithActivityOptions(ctx, reminderOptions)
	in := ReminderInput{VIN: l.state.VIN, Dealer: r.Dealer, Due: r.Due.String(), Step: s.Name, At: s.At}
	var a *ReminderActivities
	var err error
	switch s.Name {
	case StepBefore7d, StepBefore1d:
		var res ReminderResult
		if err = workflow.ExecuteActivity(actx, a.SendReminder, in).Get(ctx, &res); err == nil {
			if res.Campaign != "" && !slices.Contains(r.Campaigns, res.Campaign) {
				r.Campaigns = append(r.Campaigns, res.Campaign)
			}
			if !res.NextAttempt.IsZero() && l.retries < maxReminderRetries {
				l.retries++
				r.retry(res.NextAttempt)
				return
			}
		}
	case StepOverdue14d:
		err = workflow.ExecuteActivity(actx, a.OpenOverdueCallback, in).Get(ctx, nil)
	case StepChurn90d:
		if err = workflow.ExecuteActivity(actx, a.MarkChurnRisk, in).Get(ctx, nil); err == nil {
			r.ChurnMarked = true
		}
	}
	l.retries = 0
	if err != nil {
		log.Error("reminder step refused; skipped", "vin", in.VIN, "step", s.Name, "error", err)
		r.Skipped = append(r.Skipped, s.Name)
		r.Pending = r.Pending[1:]
		return
	}
	log.Info("reminder step done", "vin", in.VIN, "step", s.Name, "due", in.Due, "dealer", in.Dealer)
	r.done()
}

// settle closes the cycles a return ended: the reminding campaigns count
// the return, and the churn mark goes.
func (l *lifecycle) settle(ctx workflow.Context) {
	if len(l.ended) == 0 {
		return
	}
	actx := workflow.WithActivityOptions(ctx, reminderOptions)
	var a *ReminderActivities
	clearChurn := false
	for _, c := range l.ended {
		for _, id := range c.Campaigns {
			if err := workflow.ExecuteActivity(actx, a.CountReturn, ReturnInput{Dealer: c.Dealer, Campaign: id}).Get(ctx, nil); err != nil {
				workflow.GetLogger(ctx).Error("count return failed", "campaign", id, "error", err)
			}
		}
		clearChurn = clearChurn || c.ChurnMarked
	}
	l.ended = nil
	if clearChurn {
		if err := workflow.ExecuteActivity(actx, a.MarkChurnRisk, ReminderInput{VIN: l.state.VIN}).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("clear churn mark failed", "vin", l.state.VIN, "error", err)
		}
	}
}

// drain receives every buffered signal without blocking; it returns how
// many.
func (l *lifecycle) drain(ctx workflow.Context, signals workflow.ReceiveChannel) int {
	n := 0
	for {
		var env outbox.Envelope
		if !signals.ReceiveAsync(&env) {
			return n
		}
		n++
		l.receive(ctx, env)
	}
}

// record writes the state onto the archives if it changed.
func (l *lifecycle) record(ctx workflow.Context) {
	if !l.dirty || l.state.NextDue == nil {
		return
	}
	l.dirty = false
	in := RecordServiceStateInput{
		VIN:              l.state.VIN,
		LastVisitTime:    l.state.LastVisitTime,
		LastVisitDealer:  l.state.LastVisitDealer,
		NextDueDate:      l.state.NextDue.Date,
		NextDueMileageKM: l.state.NextDue.MileageKM,
		Readings:         l.state.Visits,
	}
	var a *Activities
	var res RecordServiceStateResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, recordOptions), a.RecordServiceState, in).Get(ctx, &res)
	if err != nil {
		l.state.RecordError = err.Error()
		workflow.GetLogger(ctx).Error("record service state failed", "vin", in.VIN, "error", err)
		return
	}
	l.state.RecordError = ""
	workflow.GetLogger(ctx).Info("recorded service state", "vin", in.VIN,
		"next_due", in.NextDueDate.String(), "next_due_km", in.NextDueMileageKM, "archives", res.UpdatedArchives)
}
