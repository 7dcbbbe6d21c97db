// Package complaint runs a complaint's SLA clocks and escalation ladder in
// Temporal: one workflow per complaint (id complaint/<origin dealer>/<id>,
// events.ComplaintWorkflowID) receives the complaint's events from the
// complaint service's outbox, counts its first-response and resolution
// clocks in the owning dealer's business time, and records each warning,
// breach and escalation on the complaint's timeline exactly once, at the
// instant the clock reached it. The rules (the ladder, its levels and
// recipients, the deadlines) are services/complaint/escalation's; this
// package decides only when.
//
// Files by job: workflow.go is the loop (signals, one timer, continue as
// new, completion), apply.go applies the complaint's events, clock.go
// fires what the clocks reach and writes the deadlines, activities.go
// calls the complaint and customer services.
//
// The workflow ends a grace period (24h) after the complaint is closed:
// closed is final, and a redelivery of the closing event comes within
// minutes (outbox doc), so by then no event is left whose Dedup the run
// would have to remember. A later event would start a fresh run, which
// sees the complaint closed and ends again after the grace period.
package complaint

import (
	"cmp"
	"strings"
	"time"

	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/calendar"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/services/complaint/escalation"
	"github.com/dealercare/dealercare/workflows/network"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// QueryState is the query that returns the workflow's State.
const QueryState = "state"

const (
	// DefaultMaxEvents is how many signals a run takes before it continues
	// as new (sooner if Temporal suggests it), keeping histories short.
	DefaultMaxEvents = 500
	// DefaultGrace is how long the workflow waits for stray events after
	// the complaint is closed before it completes.
	DefaultGrace = 24 * time.Hour
	// loadRetryInterval spaces retries of a load that failed for good (a
	// missing dealer, a refused token): someone has to fix something, and
	// the next event retries too.
	loadRetryInterval = time.Hour
)

// Changes of the workflow's command sequence (workflow.GetVersion): a run
// that started before a change replays its history with the old sequence.
const (
	// changeLocalActivities: the loads and the records run as local
	// activities, inside the workflow task that needs them. Each used to
	// cost an activity task and one more workflow task on the Temporal
	// server, and when thousands of complaints breach in the same minute
	// the server's work per escalation is what makes them late.
	changeLocalActivities  = "local-activities"
	versionLocalActivities = 1
	// changeDeadlines: the run writes the deadlines it counts onto the
	// complaint (SetDeadlines) whenever they change, so the complaint
	// resource shows them.
	changeDeadlines  = "deadlines"
	versionDeadlines = 1
	// changeDeadlinesAtStop: a clock's deadline is counted when an event
	// stops the clock, before it stops. Deadlines used to be counted only
	// between batches of events, so a complaint acknowledged (or resolved)
	// in the batch that started its workflow never got the deadline that
	// clock had.
	changeDeadlinesAtStop  = "deadlines-at-stop"
	versionDeadlinesAtStop = 1
	// changeIgnorePolicyChanged: a policy_changed event no longer reloads
	// the SLA policy. Nothing ever sent one, and a complaint keeps the
	// policy version it was filed under until its severity changes or it
	// is transferred. Asked only when such an event comes, so no other
	// run records the marker; a run that took one before replays the
	// reload.
	changeIgnorePolicyChanged  = "ignore-policy-changed"
	versionIgnorePolicyChanged = 1
)

// Input of ComplaintEscalation. A relay starts the workflow with an
// events.ComplaintStart, whose JSON this is; ContinueAsNew fills in the
// rest.
type Input struct {
	events.ComplaintStart
	// State and Seen are carried over from the previous run.
	State *State       `json:"state,omitempty"`
	Seen  outbox.Dedup `json:"seen"`
	// MaxEvents overrides DefaultMaxEvents and Grace DefaultGrace (tests
	// set them small).
	MaxEvents int           `json:"max_events,omitempty"`
	Grace     time.Duration `json:"grace,omitempty"`
}

// State is what the workflow knows of the complaint; the "state" query
// returns it.
type State struct {
	ComplaintID  string `json:"complaint_id"`
	OriginDealer string `json:"origin_dealer"`
	// Dealer owns the complaint; its calendar counts the clocks.
	Dealer string `json:"dealer"`
	// Status is the complaint's state (events.ComplaintNew, ...).
	Status   string `json:"status"`
	Severity string `json:"severity"`
	Level    int    `json:"level"`
	// Version is the version of the last applied event.
	Version    int64     `json:"version"`
	CreateTime time.Time `json:"create_time,omitzero"`
	// Clock is zero until the first event.
	Clock escalation.Clock `json:"clock"`
	// Policy and Calendar are the SLA policy and the owner's calendar in
	// force; nil until loaded.
	Policy   *escalation.Policy      `json:"policy,omitempty"`
	Calendar *network.DealerCalendar `json:"calendar,omitempty"`
	// Fired are the keys recorded (or refused for good), in order; each
	// fires once ever.
	Fired []string `json:"fired,omitempty"`
	// ReloadPolicy and ReloadCalendar: a load is due (after a severity
	// change or a transfer) or failed for good; LoadError says why and
	// RetryLoadAt when it is retried.
	ReloadPolicy   bool      `json:"reload_policy,omitempty"`
	ReloadCalendar bool      `json:"reload_calendar,omitempty"`
	LoadError      string    `json:"load_error,omitempty"`
	RetryLoadAt    time.Time `json:"retry_load_at,omitzero"`
	// RecordError is why the last RecordClockEvent failed for good.
	RecordError string `json:"record_error,omitempty"`
	// Deadlines are the deadlines last written onto the complaint (or
	// refused for good: DeadlinesError says why).
	Deadlines      Deadlines `json:"deadlines,omitzero"`
	DeadlinesError string    `json:"deadlines_error,omitempty"`
	// CompleteAt is the end of the grace period of a closed complaint.
	CompleteAt time.Time `json:"complete_at,omitzero"`
	// Applied counts events that changed the state; Ignored those that did
	// not (older version, undecodable, another complaint); Redeliveries
	// those dropped as already seen.
	Applied      int `json:"applied"`
	Ignored      int `json:"ignored"`
	Redeliveries int `json:"redeliveries"`
	// Next is the next threshold, for the query; nil when none.
	Next *Next `json:"next,omitempty"`
}

// Next is the threshold the workflow's timer waits for.
type Next struct {
	Key   string          `json:"key"`
	Kind  escalation.Kind `json:"kind"`
	Level int             `json:"level"`
	Due   time.Time       `json:"due"`
}

// Register registers the workflow, under events.ComplaintWorkflowType, and
// its activities on w, a worker of events.ComplaintTaskQueue.
func Register(w worker.Worker, clock complaintv1.ComplaintClockServiceClient, dealers customerv1.DealerNetworkServiceClient) {
	register(w, clock, dealers)
}

// registry is what a worker.Worker and a test environment share.
type registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
	RegisterActivity(a any)
}

func register(r registry, clock complaintv1.ComplaintClockServiceClient, dealers customerv1.DealerNetworkServiceClient) {
	r.RegisterWorkflowWithOptions(ComplaintEscalation, workflow.RegisterOptions{Name: events.ComplaintWorkflowType})
	r.RegisterActivity(&Activities{Clock: clock, Network: &network.Activities{Network: dealers}})
}

// activityOptions: an escalation must be recorded eventually, so transient
// failures (a service down or restarting) are retried without a limit,
// backing off to one attempt every 5 minutes; events and timers wait
// meanwhile, and the clock catches up with exact instants afterwards. A
// refusal (nonRetryable) is not retried: see State.LoadError and
// State.RecordError.
var activityOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        5 * time.Minute,
		MaximumAttempts:        0, // unlimited
		NonRetryableErrorTypes: nonRetryable,
	},
}

// localActivityOptions are activityOptions for local activities. Their
// retries end at ScheduleToCloseTimeout, which defaults to the
// StartToCloseTimeout, so it is set far away to keep retrying without a
// limit; backoffs longer than the workflow task timeout wait on a timer.
var localActivityOptions = workflow.LocalActivityOptions{
	ScheduleToCloseTimeout: 100 * 365 * 24 * time.Hour,
	StartToCloseTimeout:    activityOptions.StartToCloseTimeout,
	RetryPolicy:            activityOptions.RetryPolicy,
}

// run is one run's working state.
type run struct {
	s     State
	seen  outbox.Dedup
	grace time.Duration
	cal   *calendar.Calendar // built from s.Calendar
	// local: the run calls its activities as local activities
	// (changeLocalActivities).
	local bool
	// writeDeadlines: the run writes the deadlines (changeDeadlines).
	writeDeadlines bool
	// deadlinesAtStop: a stopping clock's deadline is counted first
	// (changeDeadlinesAtStop).
	deadlinesAtStop bool
	// deadline is the deadlines as counted (s.Deadlines as written).
	deadline Deadlines
}

// ComplaintEscalation is the complaint's workflow, registered as
// events.ComplaintWorkflowType. It takes outbox.Envelope signals of
// events.ComplaintChanged on events.ComplaintSignal; redeliveries and
// events not newer than the last applied Version change nothing. Between
// events a timer waits for the next threshold of the clocks. It answers
// QueryState, completes a grace period after the complaint is closed and
// otherwise continues as new.
func ComplaintEscalation(ctx workflow.Context, in Input) error {
	e := &run{seen: in.Seen, grace: in.Grace}
	e.local = workflow.GetVersion(ctx, changeLocalActivities, workflow.DefaultVersion, versionLocalActivities) >= versionLocalActivities
	e.writeDeadlines = workflow.GetVersion(ctx, changeDeadlines, workflow.DefaultVersion, versionDeadlines) >= versionDeadlines
	e.deadlinesAtStop = e.writeDeadlines &&
		workflow.GetVersion(ctx, changeDeadlinesAtStop, workflow.DefaultVersion, versionDeadlinesAtStop) >= versionDeadlinesAtStop
	if e.grace <= 0 {
		e.grace = DefaultGrace
	}
	if in.State != nil {
		e.s = *in.State
	}
	e.deadline = e.s.Deadlines
	e.identify(workflow.GetInfo(ctx).WorkflowExecution.ID, in.ComplaintStart)
	if e.s.Calendar != nil {
		cal, err := calendar.New(e.s.Calendar.Spec)
		if err != nil { // cannot happen: LoadCalendar checks it
			e.s.ReloadCalendar = true
		}
		e.cal = cal
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) { return e.snapshot(workflow.Now(ctx)), nil }); err != nil {
		return err
	}
	ctx = workflow.WithActivityOptions(ctx, activityOptions)
	ctx = workflow.WithLocalActivityOptions(ctx, localActivityOptions)
	maxEvents := in.MaxEvents
	if maxEvents <= 0 {
		maxEvents = DefaultMaxEvents
	}

	signals := workflow.GetSignalChannel(ctx, events.ComplaintSignal)
	received := 0
	var (
		timer       workflow.Future
		timerAt     time.Time
		cancelTimer = func() {}
	)
	for {
		if at := e.s.RetryLoadAt; !at.IsZero() && !workflow.Now(ctx).Before(at) {
			e.load(ctx)
		}
		e.catchUp(ctx, workflow.Now(ctx))
		e.syncDeadlines(ctx)
		now := workflow.Now(ctx)
		if e.complete(now) {
			// Nothing buffered may be lost: apply it, then decide again.
			batch := e.drain(signals)
			if len(batch) == 0 {
				cancelTimer()
				workflow.GetLogger(ctx).Info("complaint closed; escalation done", "complaint", e.s.ComplaintID, "level", e.s.Level)
				return nil
			}
			received += len(batch)
			e.apply(ctx, batch)
			continue
		}
		// Timers and load retries grow the history too, not only signals.
		if received >= maxEvents || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			break
		}

		// One timer for the earliest wake-up; a new one whenever that moves.
		wake, ok := e.wakeAt()
		if !ok || !wake.Equal(timerAt) {
			cancelTimer()
			timer, timerAt, cancelTimer = nil, time.Time{}, func() {}
			if ok {
				tctx, cancel := workflow.WithCancel(ctx)
				timer, timerAt, cancelTimer = workflow.NewTimer(tctx, max(wake.Sub(now), 0)), wake, cancel
			}
		}
		sel := workflow.NewSelector(ctx)
		var batch []outbox.Envelope
		sel.AddReceive(signals, func(c workflow.ReceiveChannel, _ bool) {
			var env outbox.Envelope
			c.Receive(ctx, &env)
			batch = append([]outbox.Envelope{env}, e.drain(c)...)
		})
		if timer != nil {
			sel.AddFuture(timer, func(f workflow.Future) {
				_ = f.Get(ctx, nil) // fired; the loop's catch-up does the work
				timer, timerAt, cancelTimer = nil, time.Time{}, func() {}
			})
		}
		sel.Select(ctx)
		if batch != nil {
			received += len(batch)
			e.apply(ctx, batch)
		}
	}

	cancelTimer()
	// Nothing buffered may be lost with this run.
	batch := e.drain(signals)
	received += len(batch)
	e.apply(ctx, batch)
	e.syncDeadlines(ctx)
	workflow.GetLogger(ctx).Info("continuing as new", "signals", received, "seen", e.seen.Len())
	return workflow.NewContinueAsNewError(ctx, events.ComplaintWorkflowType, Input{
		ComplaintStart: events.ComplaintStart{ComplaintID: e.s.ComplaintID, OriginDealer: e.s.OriginDealer},
		State:          &e.s,
		Seen:           e.seen,
		MaxEvents:      in.MaxEvents,
		Grace:          in.Grace,
	})
}

// identify fills the complaint's ids from the input or, for a start without
// input, from the workflow id complaint/<origin dealer>/<id>.
func (e *run) identify(workflowID string, start events.ComplaintStart) {
	if e.s.ComplaintID == "" {
		e.s.ComplaintID = start.ComplaintID
	}
	if e.s.OriginDealer == "" {
		e.s.OriginDealer = start.OriginDealer
	}
	if e.s.ComplaintID != "" {
		return
	}
	// Complaint ids have no slash; dealer codes might.
	rest, ok := strings.CutPrefix(workflowID, strings.TrimSuffix(events.ComplaintWorkflowID("", ""), "/"))
	if i := strings.LastIndex(rest, "/"); ok && i > 0 {
		e.s.OriginDealer, e.s.ComplaintID = cmp.Or(e.s.OriginDealer, rest[:i]), rest[i+1:]
	}
}

// drain receives every buffered signal without blocking.
func (e *run) drain(c workflow.ReceiveChannel) []outbox.Envelope {
	var out []outbox.Envelope
	for {
		var env outbox.Envelope
		if !c.ReceiveAsync(&env) {
			return out
		}
		out = append(out, env)
	}
}

// execute runs an activity of Activities, as a local activity in a run
// with changeLocalActivities.
func (e *run) execute(ctx workflow.Context, activity, arg any) workflow.Future {
	if e.local {
		return workflow.ExecuteLocalActivity(ctx, activity, arg)
	}
	return workflow.ExecuteActivity(ctx, activity, arg)
}

// complete reports whether the closed complaint's grace period is over.
func (e *run) complete(now time.Time) bool {
	return e.s.Status == events.ComplaintClosed && !e.s.CompleteAt.IsZero() && !now.Before(e.s.CompleteAt)
}

// wakeAt is the earliest of the next threshold, the end of the grace
// period and a load retry.
func (e *run) wakeAt() (time.Time, bool) {
	var at time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	if _, due, ok := e.next(); ok {
		earliest(due)
	}
	if e.s.Status == events.ComplaintClosed {
		earliest(e.s.CompleteAt)
	}
	earliest(e.s.RetryLoadAt)
	return at, !at.IsZero()
}
