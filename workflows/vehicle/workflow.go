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
}

// VehicleLifecycle is the vehicle's workflow, registered as
// events.VehicleWorkflowType. It takes outbox.Envelope signals on
// events.VehicleSignal: every RepairOrderClosed (at any dealer) and
// VehicleDelivered newer than the last visit starts a new maintenance cycle
// and is recorded with RecordServiceState; redeliveries and older events
// change nothing. It answers QueryState and returns only a ContinueAsNew.
func VehicleLifecycle(ctx workflow.Context, in Input) error {
	log := workflow.GetLogger(ctx)
	l := &lifecycle{seen: in.Seen, plan: DefaultPlan()}
	if in.State != nil {
		l.state = *in.State
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
		// Reminders (campaign issue): add the timer of the next reminder of
		// l.state.NextDue here (sel.AddFuture), on a context cancelled when
		// a new visit moves NextDue, and keep what was sent in State.
		sel.Select(ctx)
		// Take what else is buffered, so a burst is recorded once.
		received += l.drain(ctx, signals)
		l.record(ctx)
	}

	// Nothing buffered may be lost with this run.
	received += l.drain(ctx, signals)
	l.record(ctx)
	log.Info("continuing as new", "signals", received, "seen", l.seen.Len())
	return workflow.NewContinueAsNewError(ctx, events.VehicleWorkflowType, Input{
		VehicleStart: events.VehicleStart{VIN: l.state.VIN},
		State:        &l.state,
		Seen:         l.seen,
		MaxEvents:    in.MaxEvents,
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
	keepOlder := workflow.GetVersion(ctx, changeKeepOlderVisits, workflow.DefaultVersion, VersionKeepOlderVisits) >= VersionKeepOlderVisits
	changed, why := l.state.apply(env, l.plan, dueZone, workflow.Now(ctx), keepOlder)
	if !changed {
		log.Warn("ignored event", "event_id", env.EventID, "kind", env.Kind, "reason", why)
		return
	}
	l.dirty = true
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
