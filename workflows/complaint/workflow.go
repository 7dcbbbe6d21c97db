// Package complaint is a complaint's SLA clocks and escalation ladder in
// Temporal: one workflow per complaint (id complaint/<origin dealer>/<id>,
// events.ComplaintWorkflowID) receives the complaint's events from the
// complaint service's outbox, counts its first-response and resolution
// clocks in the owning dealer's business time (pkg/sla, pkg/calendar), and
// records each warning, breach and escalation on the complaint's timeline
// exactly once, at the instant the clock reached it.
//
// The workflow ends a grace period (24h) after the complaint is closed:
// closed is final, and a redelivery of the closing event comes within
// minutes (outbox doc), so by then no event is left whose Dedup the run
// would have to remember. A later event would start a fresh run, which
// sees the complaint closed and ends again after the grace period.
package complaint

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/calendar"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/pkg/sla"
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
)

// Changes (events.ComplaintChanged.Change) that reload the SLA policy even
// when the severity is unchanged.
const (
	changeSeverity = "severity_changed"
	changePolicy   = "policy_changed"
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
	Clock sla.Clock `json:"clock"`
	// Policy and Calendar are the SLA policy and the owner's calendar in
	// force; nil until loaded.
	Policy   *sla.Policy             `json:"policy,omitempty"`
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
	Key   string    `json:"key"`
	Kind  string    `json:"kind"`
	Level int       `json:"level"`
	Due   time.Time `json:"due"`
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

// escalation is one run's working state.
type escalation struct {
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
	e := &escalation{seen: in.Seen, grace: in.Grace}
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
func (e *escalation) identify(workflowID string, start events.ComplaintStart) {
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
func (e *escalation) drain(c workflow.ReceiveChannel) []outbox.Envelope {
	var out []outbox.Envelope
	for {
		var env outbox.Envelope
		if !c.ReceiveAsync(&env) {
			return out
		}
		out = append(out, env)
	}
}

// apply applies a batch of envelopes in Version order, dropping
// redeliveries and events not newer than the state.
func (e *escalation) apply(ctx workflow.Context, batch []outbox.Envelope) {
	log := workflow.GetLogger(ctx)
	type decoded struct {
		env outbox.Envelope
		ev  events.ComplaintChanged
	}
	var evs []decoded
	for _, env := range batch {
		if e.seen.Seen(env.EventID) {
			e.s.Redeliveries++
			log.Info("dropped redelivered event", "event_id", env.EventID, "kind", env.Kind)
			continue
		}
		var ev events.ComplaintChanged
		if env.Kind != events.KindComplaintChanged {
			e.s.Ignored++
			log.Warn("ignored event of unknown kind", "event_id", env.EventID, "kind", env.Kind)
			continue
		}
		if err := env.Decode(&ev); err != nil {
			e.s.Ignored++
			log.Error("ignored undecodable event", "event_id", env.EventID, "error", err)
			continue
		}
		if ev.ComplaintID != e.s.ComplaintID && e.s.ComplaintID != "" {
			e.s.Ignored++
			log.Error("ignored event of another complaint", "event_id", env.EventID, "complaint", ev.ComplaintID)
			continue
		}
		evs = append(evs, decoded{env, ev})
	}
	// Events carry no ordering guarantee; a batch at least is put in order.
	slices.SortStableFunc(evs, func(a, b decoded) int { return cmp.Compare(a.ev.Version, b.ev.Version) })
	for _, d := range evs {
		if d.ev.Version <= e.s.Version {
			e.s.Ignored++
			log.Info("ignored older event", "event_id", d.env.EventID, "version", d.ev.Version, "applied", e.s.Version)
			continue
		}
		e.applyEvent(ctx, d.ev)
	}
}

// applyEvent moves the clocks to the event's moment, firing what fell due
// before it, and adopts the complaint's state after the change.
func (e *escalation) applyEvent(ctx workflow.Context, ev events.ComplaintChanged) {
	log := workflow.GetLogger(ctx)
	now := workflow.Now(ctx)
	// The event's business time, but never in the future of the workflow
	// (a skewed service clock) nor before the checkpoint.
	at := ev.At
	if at.IsZero() || at.After(now) {
		at = now
	}
	began := e.s.Clock.Since.IsZero()
	if began {
		e.begin(ctx, ev, at)
	}
	if at.Before(e.s.Clock.Since) {
		at = e.s.Clock.Since
	}
	e.catchUp(ctx, at)

	e.s.Version = ev.Version
	e.s.Applied++
	if ev.ComplaintID != "" && e.s.ComplaintID == "" {
		e.s.ComplaintID = ev.ComplaintID
	}
	// A manual escalation: the service raised the level and wrote the
	// timeline; the ladder only ever adds on top.
	e.s.Level = min(max(e.s.Level, ev.Level), sla.MaxLevel)
	if ev.Dealer != "" && ev.Dealer != e.s.Dealer && !began {
		// Transfer: the clock so far was counted on the old owner's
		// calendar (catchUp above); it continues on the new owner's, under
		// the new owner's policy (its override or HQ's default).
		log.Info("complaint transferred", "complaint", e.s.ComplaintID, "from", e.s.Dealer, "to", ev.Dealer)
		e.s.Dealer = ev.Dealer
		e.s.ReloadCalendar, e.s.ReloadPolicy = true, true
	}
	if ((ev.Severity != "" && ev.Severity != e.s.Severity) || ev.Change == changeSeverity || ev.Change == changePolicy) && !began {
		e.s.Severity = cmp.Or(ev.Severity, e.s.Severity)
		e.s.ReloadPolicy = true
	}
	if ev.State != "" {
		if e.deadlinesAtStop {
			// The clocks stand at the event's moment: a clock this event
			// stops keeps the deadline it had (see counted).
			e.deadline = e.counted()
		}
		c, ok := sla.SetState(e.s.Clock, ev.State)
		if !ok {
			log.Warn("unknown complaint state; clocks unchanged", "complaint", e.s.ComplaintID, "state", ev.State)
		}
		e.s.Clock = c
		if ev.State == events.ComplaintClosed && e.s.Status != events.ComplaintClosed {
			e.s.CompleteAt = now.Add(e.grace)
		}
		if ev.State != events.ComplaintClosed {
			e.s.CompleteAt = time.Time{}
		}
		e.s.Status = ev.State
	}
	if (e.s.ReloadPolicy || e.s.ReloadCalendar) && !began { // begin has just loaded
		e.load(ctx)
	}
}

// begin starts the clocks with the first event this workflow sees. The
// complaint was new from its creation until at, so a workflow started late
// (Temporal was down) still counts that time and catches up. A first event
// of a resolved or closed complaint starts stopped clocks: it is a stray
// event after an earlier run ended, and recounting from the creation would
// fire thresholds the complaint never reached.
func (e *escalation) begin(ctx workflow.Context, ev events.ComplaintChanged, at time.Time) {
	e.s.ComplaintID = cmp.Or(e.s.ComplaintID, ev.ComplaintID)
	e.s.OriginDealer = cmp.Or(e.s.OriginDealer, ev.OriginDealer)
	e.s.Dealer, e.s.Severity, e.s.CreateTime = ev.Dealer, ev.Severity, ev.CreateTime
	start := ev.CreateTime
	if start.IsZero() || start.After(at) {
		start = at
	}
	switch ev.State {
	case events.ComplaintResolved, events.ComplaintClosed:
		e.s.Clock = sla.Start(at, ev.State)
	default:
		e.s.Clock = sla.Start(start, events.ComplaintNew)
	}
	e.s.ReloadPolicy, e.s.ReloadCalendar = true, true
	e.load(ctx)
}

// load fetches the policy and the owner's calendar where due. A refusal
// keeps what was loaded before (the old owner's calendar after a failed
// transfer) and is retried with the next event or after loadRetryInterval.
func (e *escalation) load(ctx workflow.Context) {
	log := workflow.GetLogger(ctx)
	var a *Activities
	var errs []string
	if e.s.ReloadPolicy {
		var in ClockInput
		if err := e.execute(ctx, a.LoadClockInput, e.s.ComplaintID).Get(ctx, &in); err != nil {
			errs = append(errs, err.Error())
			log.Error("load clock input failed", "complaint", e.s.ComplaintID, "error", err)
		} else {
			e.s.Policy = &in.Policy
			e.s.Level = min(max(e.s.Level, in.Level), sla.MaxLevel)
			e.s.Dealer = cmp.Or(e.s.Dealer, in.Dealer)
			e.s.Severity = cmp.Or(e.s.Severity, in.Severity)
			e.s.ReloadPolicy = false
			if _, ok := e.s.Policy.For(e.s.Severity); !ok {
				log.Error("SLA policy has no targets for the severity; clocks count but nothing fires", "complaint", e.s.ComplaintID, "severity", e.s.Severity)
			}
		}
	}
	if e.s.ReloadCalendar && e.s.Dealer != "" {
		var c network.DealerCalendar
		err := e.execute(ctx, a.LoadCalendar, e.s.Dealer).Get(ctx, &c)
		var cal *calendar.Calendar
		if err == nil {
			cal, err = calendar.New(c.Spec)
		}
		if err != nil {
			errs = append(errs, err.Error())
			log.Error("load calendar failed", "complaint", e.s.ComplaintID, "dealer", e.s.Dealer, "error", err)
		} else {
			e.s.Calendar, e.cal, e.s.ReloadCalendar = &c, cal, false
		}
	}
	if len(errs) > 0 {
		e.s.LoadError = strings.Join(errs, "; ")
		e.s.RetryLoadAt = workflow.Now(ctx).Add(loadRetryInterval)
		return
	}
	e.s.LoadError, e.s.RetryLoadAt = "", time.Time{}
}

// execute runs an activity of Activities, as a local activity in a run
// with changeLocalActivities.
func (e *escalation) execute(ctx workflow.Context, activity, arg any) workflow.Future {
	if e.local {
		return workflow.ExecuteLocalActivity(ctx, activity, arg)
	}
	return workflow.ExecuteActivity(ctx, activity, arg)
}

// targets are those of the complaint's severity in the policy in force.
func (e *escalation) targets() (sla.Targets, bool) {
	if e.s.Policy == nil {
		return sla.Targets{}, false
	}
	return e.s.Policy.For(e.s.Severity)
}

// next is the next threshold and its instant; false when none (or no
// calendar to count on yet).
func (e *escalation) next() (sla.Threshold, time.Time, bool) {
	t, ok := e.targets()
	if !ok || e.cal == nil {
		return sla.Threshold{}, time.Time{}, false
	}
	th, ok := sla.NextThreshold(e.s.Clock, t, e.s.Fired)
	if !ok {
		return sla.Threshold{}, time.Time{}, false
	}
	due, err := sla.Due(e.cal, e.s.Clock.Since, th.Remaining)
	if err != nil { // a calendar closed for years: nothing will fire
		return sla.Threshold{}, time.Time{}, false
	}
	return th, due.UTC(), true
}

// catchUp fires, in order, every threshold the clocks reach by to, each
// with the instant it was due, and moves the clocks to to. Without a
// calendar the checkpoint stays, so the time is counted once one loads.
func (e *escalation) catchUp(ctx workflow.Context, to time.Time) {
	if e.cal == nil {
		return
	}
	for {
		th, due, ok := e.next()
		if !ok || due.After(to) {
			break
		}
		e.s.Clock = sla.Advance(e.s.Clock, e.cal, due)
		e.fire(ctx, th, due)
	}
	e.s.Clock = sla.Advance(e.s.Clock, e.cal, to)
}

// fire records a threshold, and the escalation a breach causes, once.
func (e *escalation) fire(ctx workflow.Context, th sla.Threshold, due time.Time) {
	level := e.s.Level
	if th.Kind == sla.KindBreached {
		level = sla.Raise(level, th.Level)
	}
	elapsed := e.s.Clock.ResponseElapsed
	if strings.HasPrefix(th.Key, "resolution/") {
		elapsed = e.s.Clock.ResolutionElapsed
	}
	e.record(ctx, th.Key, th.Kind, level, due, fmt.Sprintf("%s: %s of business time elapsed, target %s", th.Key, elapsed, th.Target))
	// A breach is when the deadline was: it stays so (see counted).
	switch th.Key {
	case sla.ResponseBreachedKey:
		e.deadline.Response = due
	case sla.FirstResolutionBreachedKey:
		e.deadline.Resolution = due
	}
	if level > e.s.Level {
		e.s.Level = level
		if key := sla.EscalatedKey(level); !slices.Contains(e.s.Fired, key) {
			e.record(ctx, key, sla.KindEscalated, level, due, fmt.Sprintf("escalated to L%d by %s", level, th.Key))
		}
	}
}

// record calls RecordClockEvent and remembers the key, also when the
// service refused it for good (State.RecordError): retrying the same call
// cannot succeed, and the ladder must go on.
func (e *escalation) record(ctx workflow.Context, key, kind string, level int, at time.Time, detail string) {
	var a *Activities
	in := RecordInput{
		Dealer: e.s.Dealer, Complaint: e.s.ComplaintID, Key: key, Kind: kind, Level: level, Time: at.UTC(), Detail: detail,
	}
	var res RecordResult
	err := e.execute(ctx, a.RecordClockEvent, in).Get(ctx, &res)
	e.s.Fired = append(e.s.Fired, key)
	log := workflow.GetLogger(ctx)
	if err != nil {
		e.s.RecordError = err.Error()
		log.Error("record clock event failed", "complaint", in.Complaint, "key", key, "error", err)
		return
	}
	e.s.RecordError = ""
	log.Info("recorded clock event", "complaint", in.Complaint, "key", key, "level", level, "time", in.Time, "recorded", res.Recorded)
}

// counted returns the deadlines as the clocks stand. A running clock short
// of its target is due when its elapsed business time reaches the target.
// Once reached, the deadline stays the instant of the breach (fire); once
// stopped (acknowledged, resolved) it stays what it was, which shows
// whether the complaint was in time. A resolution clock paused pending the
// customer has no deadline: it moves by the length of the pause.
func (e *escalation) counted() Deadlines {
	d := e.deadline
	t, ok := e.targets()
	if !ok || e.cal == nil {
		return d
	}
	c := e.s.Clock
	switch {
	case t.Response <= 0:
		d.Response = time.Time{}
	case c.ResponseRunning && c.ResponseElapsed < t.Response:
		if due, err := sla.Due(e.cal, c.Since, t.Response-c.ResponseElapsed); err == nil {
			d.Response = due.UTC()
		}
	}
	switch {
	case t.Resolution <= 0, e.s.Status == events.ComplaintPendingCustomer:
		d.Resolution = time.Time{}
	case c.ResolutionRunning && c.ResolutionElapsed < t.Resolution:
		if due, err := sla.Due(e.cal, c.Since, t.Resolution-c.ResolutionElapsed); err == nil {
			d.Resolution = due.UTC()
		}
	}
	return d
}

// syncDeadlines writes the counted deadlines onto the complaint when they
// changed. A refusal is kept in State.DeadlinesError and not retried until
// they change again: retrying the same call cannot succeed.
func (e *escalation) syncDeadlines(ctx workflow.Context) {
	d := e.counted()
	e.deadline = d
	if !e.writeDeadlines || e.s.ComplaintID == "" || d.equal(e.s.Deadlines) {
		return
	}
	var a *Activities
	err := e.execute(ctx, a.SetDeadlines, DeadlinesInput{Complaint: e.s.ComplaintID, Deadlines: d}).Get(ctx, nil)
	e.s.Deadlines = d
	if err != nil {
		e.s.DeadlinesError = err.Error()
		workflow.GetLogger(ctx).Error("set deadlines failed", "complaint", e.s.ComplaintID, "error", err)
		return
	}
	e.s.DeadlinesError = ""
}

// complete reports whether the closed complaint's grace period is over.
func (e *escalation) complete(now time.Time) bool {
	return e.s.Status == events.ComplaintClosed && !e.s.CompleteAt.IsZero() && !now.Before(e.s.CompleteAt)
}

// wakeAt is the earliest of the next threshold, the end of the grace
// period and a load retry.
func (e *escalation) wakeAt() (time.Time, bool) {
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

// snapshot is the state for the query: the clocks counted up to now and
// the next threshold.
func (e *escalation) snapshot(now time.Time) State {
	s := e.s
	s.Fired = slices.Clone(e.s.Fired)
	if e.cal != nil {
		s.Clock = sla.Advance(s.Clock, e.cal, now)
	}
	if th, due, ok := e.next(); ok {
		s.Next = &Next{Key: th.Key, Kind: th.Kind, Level: th.Level, Due: due}
	}
	return s
}
