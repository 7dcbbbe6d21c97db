// Package callback runs a callback (回访) in Temporal: one workflow per
// callback (id callback/<KIND>/<source id>, events.CallbackWorkflowID)
// waits for its source event (a closed repair order, a delivery, a
// resolved complaint), creates the task in the callback service when it
// falls due inside the dealer's calling hours, retries an unreached
// customer, ends the task unreachable or expired, and turns the outcome
// into a complaint (opened, closed or reopened) on the complaint service.
//
// A task takes a handful of events (its source, at most max_attempts plus
// a few call-backs-later, one completion), so a run never continues as
// new; DefaultMaxEvents caps a run that is fed a loop by mistake. The run
// ends with its task, so its Dedup lives as long as the task is open; a
// later start for the same source finds the task ended (EnsureCallbackTask
// returns it) and ends at once.
package callback

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/callhours"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// QueryState is the query that returns the workflow's State.
const QueryState = "state"

// DefaultMaxEvents is how many signals a run takes before it gives up:
// far above any real task, it stops an event loop upstream from growing
// the history without bound. The run then fails with ErrTypeTooManyEvents
// for an operator to look at; the task stays as it is.
const DefaultMaxEvents = 1000

// ErrTypeTooManyEvents is the failure of a run past its event cap.
const ErrTypeTooManyEvents = "TooManyEvents"

// Input of CallbackTask: the relay's events.CallbackStart, whose JSON this
// is; MaxEvents overrides DefaultMaxEvents (tests set it small).
type Input struct {
	events.CallbackStart
	MaxEvents int `json:"max_events,omitempty"`
}

// Result is how the run ended.
type Result struct {
	Task string `json:"task,omitempty"`
	// Outcome is the task's final status (COMPLETED, UNREACHABLE, ...) or,
	// when no task was made, "no_source".
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
	// Complaint opened, closed or reopened by the outcome.
	Complaint string `json:"complaint,omitempty"`
}

// Phases of the run (State.Phase).
const (
	PhaseWaitingForSource = "waiting_for_source"
	PhaseWaitingUntilDue  = "waiting_until_due"
	PhaseOpen             = "open"
	PhaseEnded            = "ended"
)

// State is what the workflow knows; the "state" query returns it.
type State struct {
	Kind       string `json:"kind"`
	Dealer     string `json:"dealer"`
	SourceType string `json:"source_type"`
	SourceID   string `json:"source_id"`
	Phase      string `json:"phase"`
	// From the source event.
	Customer          string    `json:"customer,omitempty"`
	VIN               string    `json:"vin,omitempty"`
	RepairOrderNumber string    `json:"repair_order_number,omitempty"`
	Complaint         string    `json:"complaint,omitempty"`
	EventTime         time.Time `json:"event_time,omitzero"`
	// From the schedule.
	Schedule *Schedule `json:"schedule,omitempty"`
	Due      time.Time `json:"due,omitzero"`
	Deadline time.Time `json:"deadline,omitzero"`
	Task     *Task     `json:"task,omitempty"`
	// Attempts are the attempt numbers handled; Unreached counts the
	// no-answer and busy ones.
	Attempts  []int     `json:"attempts,omitempty"`
	Unreached int       `json:"unreached"`
	NextRetry time.Time `json:"next_retry,omitzero"`
	// Redeliveries counts envelopes dropped as already seen, Ignored
	// those that changed nothing.
	Redeliveries int    `json:"redeliveries"`
	Ignored      int    `json:"ignored"`
	Result       Result `json:"result"`
}

// Register registers the workflow, under events.CallbackWorkflowType, and
// the activities on w, a worker of events.CallbackTaskQueue.
func Register(w worker.Worker, a *Activities) { register(w, a) }

// registry is what a worker.Worker and a test environment share.
type registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
	RegisterActivity(a any)
}

func register(r registry, a *Activities) {
	r.RegisterWorkflowWithOptions(CallbackTask, workflow.RegisterOptions{Name: events.CallbackWorkflowType})
	r.RegisterActivity(a)
}

// activityOptions: every call is idempotent, and a callback must go on
// once a service is back, so transient failures are retried without a
// limit, backing off to one attempt every 5 minutes (signals wait in the
// channel meanwhile). A refusal (nonRetryable) is not retried.
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

// run is one run's working state.
type run struct {
	s         State
	seen      outbox.Dedup
	received  int
	maxEvents int
	hours     callhours.Window
	loc       *time.Location
	signals   workflow.ReceiveChannel
	// pending are envelopes received before the task existed.
	pending []outbox.Envelope
	// awaitCompletion: ending the task found it completed, so the
	// completion event is on its way and must still be acted on.
	awaitCompletion bool
}

// errTooManyEvents ends a run past its cap.
var errTooManyEvents = errors.New("too many events")

// CallbackTask is the callback's workflow, registered as
// events.CallbackWorkflowType. It takes outbox.Envelope signals on
// events.CallbackSignal, each acted on once by event id, answers
// QueryState and ends with its task.
func CallbackTask(ctx workflow.Context, in Input) (Result, error) {
	r := &run{maxEvents: cmp.Or(in.MaxEvents, DefaultMaxEvents)}
	r.identify(workflow.GetInfo(ctx).WorkflowExecution.ID, in.CallbackStart)
	r.s.Phase = PhaseWaitingForSource
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) { return r.snapshot(), nil }); err != nil {
		return Result{}, err
	}
	ctx = workflow.WithActivityOptions(ctx, activityOptions)
	r.signals = workflow.GetSignalChannel(ctx, events.CallbackSignal)
	res, err := r.run(ctx)
	if errors.Is(err, errTooManyEvents) {
		workflow.GetLogger(ctx).Error("event cap reached; the run stops and the task stays as it is", "events", r.received, "task", r.taskID())
		err = temporal.NewNonRetryableApplicationError(fmt.Sprintf("callback workflow took %d events", r.received), ErrTypeTooManyEvents, nil)
	}
	r.s.Phase, r.s.Result = PhaseEnded, res
	return res, err
}

func (r *run) run(ctx workflow.Context) (Result, error) {
	log := workflow.GetLogger(ctx)
	// 1. The source event.
	if why, err := r.awaitSource(ctx); err != nil || why != "" {
		if why != "" {
			log.Warn("no source event; the callback ends without a task", "kind", r.s.Kind, "source", r.s.SourceID, "reason", why)
		}
		return Result{Outcome: "no_source", Reason: why}, err
	}

	// 2-3. The schedule, and the due time inside calling hours.
	var a *Activities
	var sched Schedule
	if err := workflow.ExecuteActivity(ctx, a.GetCallbackSchedule, ScheduleInput{Dealer: r.s.Dealer, Kind: r.s.Kind}).Get(ctx, &sched); err != nil {
		return Result{}, err
	}
	hours, loc, err := sched.hours()
	if err != nil { // checked by the activity
		return Result{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalidSchedule, err)
	}
	r.s.Schedule, r.hours, r.loc = &sched, hours, loc
	r.s.Due = callhours.Next(r.s.EventTime.Add(sched.Delay), hours, loc).UTC()
	r.s.Deadline = r.s.Due.Add(sched.Window)
	if !r.s.Deadline.After(workflow.Now(ctx)) {
		// A source recorded after the fact (a backfilled or imported visit):
		// its callback window closed before it reached us, so no task.
		log.Info("callback window already over; no task", "kind", r.s.Kind, "source", r.s.SourceID, "deadline", r.s.Deadline)
		return Result{Outcome: "too_late", Reason: "the callback window ended before the event arrived"}, nil
	}
	r.s.Phase = PhaseWaitingUntilDue
	log.Info("callback scheduled", "kind", r.s.Kind, "source", r.s.SourceID, "due", r.s.Due, "deadline", r.s.Deadline)
	if err := r.sleepUntil(ctx, r.s.Due); err != nil {
		return Result{}, err
	}

	// 4. Consent, then the task.
	dnc, err := r.doNotCall(ctx)
	if err != nil {
		return Result{}, err
	}
	var task Task
	if err := workflow.ExecuteActivity(ctx, a.EnsureCallbackTask, EnsureInput{
		Dealer: r.s.Dealer, Kind: r.s.Kind, SourceType: r.s.SourceType, SourceID: r.s.SourceID,
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
		Customer:   r.s.Customer, VIN: r.s.VIN, RepairOrderNumber: r.s.RepairOrderNumber, Complaint: r.s.Complaint,
		Due: r.s.Due, Deadline: r.s.Deadline, DoNotCall: dnc,
	}).Get(ctx, &task); err != nil {
		return Result{}, err
	}
	r.s.Task = &task
	if task.Ended() {
		log.Info("callback task already ended", "task", task.ID, "status", task.Status)
		return Result{Task: task.ID, Outcome: task.Status, Reason: "already ended"}, nil
	}
	r.s.Phase = PhaseOpen

	// 5. Attempts, the completion, a cancellation or the deadline.
	return r.loop(ctx)
}

// identify fills kind and source from the input or, for a start without
// input, from the workflow id callback/<KIND>/<source id>.
func (r *run) identify(workflowID string, start events.CallbackStart) {
	r.s.Kind, r.s.Dealer, r.s.SourceType, r.s.SourceID = start.Kind, start.Dealer, start.SourceType, start.SourceID
	rest, ok := strings.CutPrefix(workflowID, "callback/")
	if kind, source, found := strings.Cut(rest, "/"); ok && found {
		r.s.Kind = cmp.Or(r.s.Kind, kind)
		r.s.SourceID = cmp.Or(r.s.SourceID, source)
	}
}

// receive takes one envelope from c; fresh is false for a redelivery.
// Envelopes beyond the cap are errTooManyEvents.
func (r *run) receive(ctx workflow.Context, c workflow.ReceiveChannel) (env outbox.Envelope, fresh bool, err error) {
	c.Receive(ctx, &env)
	r.received++
	if r.received > r.maxEvents {
		return env, false, errTooManyEvents
	}
	if r.seen.Seen(env.EventID) {
		r.s.Redeliveries++
		workflow.GetLogger(ctx).Info("dropped redelivered event", "event_id", env.EventID, "kind", env.Kind)
		return env, false, nil
	}
	return env, true, nil
}

// awaitSource waits for the first new event and takes the callback's
// facts from it; why says why it is not this callback's source.
func (r *run) awaitSource(ctx workflow.Context) (why string, err error) {
	var env outbox.Envelope
	for {
		e, fresh, err := r.receive(ctx, r.signals)
		if err != nil {
			return "", err
		}
		if fresh {
			env = e
			break
		}
	}
	want := map[string]string{
		events.Callback3DC:               events.KindRepairOrderClosed,
		events.Callback7DC:               events.KindVehicleDelivered,
		events.CallbackNewCustomer:       events.KindVehicleDelivered,
		events.CallbackComplaintFollowUp: events.KindComplaintResolved,
	}[r.s.Kind]
	if want == "" {
		return fmt.Sprintf("kind %q has no source event", r.s.Kind), nil
	}
	if env.Kind != want {
		return fmt.Sprintf("first event %s is %s, not the %s source event %s", env.EventID, env.Kind, r.s.Kind, want), nil
	}
	var (
		sourceType, sourceID, dealer string
		at                           time.Time
	)
	switch env.Kind {
	case events.KindRepairOrderClosed:
		var ev events.RepairOrderClosed
		if err := env.Decode(&ev); err != nil {
			return err.Error(), nil
		}
		sourceType, sourceID, dealer, at = events.SourceRepairOrder, ev.RepairOrderID, ev.Dealer, ev.CloseTime
		r.s.Customer, r.s.VIN, r.s.RepairOrderNumber = ev.CustomerID, ev.VIN, ev.Number
	case events.KindVehicleDelivered:
		var ev events.VehicleDelivered
		if err := env.Decode(&ev); err != nil {
			return err.Error(), nil
		}
		sourceType, sourceID, dealer, at = events.SourceSale, ev.SaleID, ev.Dealer, ev.DeliveredTime
		if r.s.Kind == events.CallbackNewCustomer { // once per customer
			sourceType, sourceID = events.SourceCustomer, ev.CustomerID
		}
		r.s.Customer, r.s.VIN = ev.CustomerID, ev.VIN
	case events.KindComplaintResolved:
		var ev events.ComplaintResolution
		if err := env.Decode(&ev); err != nil {
			return err.Error(), nil
		}
		sourceType, sourceID, dealer, at = events.SourceComplaint, events.FollowUpSourceID(ev.ComplaintID, ev.Round), ev.Dealer, ev.ResolveTime
		r.s.Customer, r.s.VIN, r.s.Complaint = ev.Customer, ev.VIN, ev.ComplaintID
	}
	if r.s.SourceID != "" && sourceID != r.s.SourceID {
		return fmt.Sprintf("event %s is of source %s, not %s", env.EventID, sourceID, r.s.SourceID), nil
	}
	r.s.SourceType = cmp.Or(r.s.SourceType, sourceType)
	r.s.SourceID = sourceID
	r.s.Dealer = cmp.Or(dealer, env.DealerID, r.s.Dealer)
	r.s.EventTime = cmp.Or(at, env.OccurredAt, workflow.Now(ctx)).UTC()
	if r.s.Dealer == "" {
		return fmt.Sprintf("event %s names no dealer", env.EventID), nil
	}
	return "", nil
}

// sleepUntil waits on a durable timer; events arriving meanwhile are
// deduplicated and kept for the loop.
func (r *run) sleepUntil(ctx workflow.Context, at time.Time) error {
	timer := workflow.NewTimer(ctx, max(at.Sub(workflow.Now(ctx)), 0))
	for done := false; !done; {
		var err error
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(timer, func(f workflow.Future) { err, done = f.Get(ctx, nil), true })
		sel.AddReceive(r.signals, func(c workflow.ReceiveChannel, _ bool) {
			env, fresh, rerr := r.receive(ctx, c)
			if fresh {
				r.pending = append(r.pending, env)
			}
			err = rerr
		})
		sel.Select(ctx)
		if err != nil {
			return err
		}
	}
	return nil
}

// doNotCall asks the archive whether the customer refuses calls.
func (r *run) doNotCall(ctx workflow.Context) (bool, error) {
	var a *Activities
	var c Consent
	err := workflow.ExecuteActivity(ctx, a.CheckCallConsent, ConsentInput{Dealer: r.s.Dealer, Customer: r.s.Customer}).Get(ctx, &c)
	return c.DoNotCall, err
}

// loop acts on the task's events until it ends, or the deadline.
func (r *run) loop(ctx workflow.Context) (Result, error) {
	tctx, cancelDeadline := workflow.WithCancel(ctx)
	defer cancelDeadline()
	deadline := workflow.NewTimer(tctx, max(r.s.Deadline.Sub(workflow.Now(ctx)), 0))
	for {
		var (
			env     outbox.Envelope
			fresh   bool
			err     error
			expired bool
		)
		if len(r.pending) > 0 {
			env, fresh, r.pending = r.pending[0], true, r.pending[1:]
		} else {
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(r.signals, func(c workflow.ReceiveChannel, _ bool) { env, fresh, err = r.receive(ctx, c) })
			if !r.awaitCompletion {
				sel.AddFuture(deadline, func(f workflow.Future) { expired = f.Get(ctx, nil) == nil })
			}
			sel.Select(ctx)
		}
		if err != nil {
			return r.result(), err
		}
		var done bool
		switch {
		case expired:
			done, err = r.end(ctx, StatusExpired, "not done by the deadline")
		case fresh:
			done, err = r.handle(ctx, env)
		}
		if err != nil || done {
			return r.result(), err
		}
	}
}

// handle acts on one new event; done when the task ended.
func (r *run) handle(ctx workflow.Context, env outbox.Envelope) (done bool, err error) {
	log := workflow.GetLogger(ctx)
	ignore := func(why string, args ...any) (bool, error) {
		r.s.Ignored++
		log.Info("ignored event: "+why, append([]any{"event_id", env.EventID, "kind", env.Kind}, args...)...)
		return false, nil
	}
	switch env.Kind {
	case events.KindCallbackAttempted:
		var ev events.CallbackAttempted
		if err := env.Decode(&ev); err != nil {
			return ignore("undecodable", "error", err)
		}
		if ev.TaskID != r.s.Task.ID {
			return ignore("another task", "task", ev.TaskID)
		}
		if slices.Contains(r.s.Attempts, ev.Number) {
			return ignore("attempt already handled", "number", ev.Number)
		}
		r.s.Attempts = append(r.s.Attempts, ev.Number)
		return r.attempted(ctx, env, ev)
	case events.KindCallbackCompleted:
		var ev events.CallbackCompleted
		if err := env.Decode(&ev); err != nil {
			return ignore("undecodable", "error", err)
		}
		if ev.TaskID != r.s.Task.ID {
			return ignore("another task", "task", ev.TaskID)
		}
		return true, r.completed(ctx, ev)
	case events.KindCallbackCancelled:
		var ev events.CallbackCancelled
		if err := env.Decode(&ev); err != nil {
			return ignore("undecodable", "error", err)
		}
		if ev.TaskID != r.s.Task.ID {
			return ignore("another task", "task", ev.TaskID)
		}
		r.s.Task.Status = StatusCancelled
		log.Info("callback task cancelled", "task", r.s.Task.ID)
		return true, nil
	case events.KindRepairOrderClosed, events.KindVehicleDelivered, events.KindComplaintResolved:
		return ignore("the task exists already")
	}
	return ignore("unknown kind")
}

// attempted acts on an attempt's outcome.
func (r *run) attempted(ctx workflow.Context, env outbox.Envelope, ev events.CallbackAttempted) (bool, error) {
	log := workflow.GetLogger(ctx)
	at := cmp.Or(ev.At, env.OccurredAt, workflow.Now(ctx))
	switch ev.Outcome {
	case "no_answer", "busy":
		r.s.Unreached++
		if r.s.Unreached >= r.s.Schedule.MaxAttempts {
			return r.end(ctx, StatusUnreachable, fmt.Sprintf("not reached after %d attempts", r.s.Unreached))
		}
		return r.retry(ctx, ev.Number, at.Add(r.s.Schedule.RetryInterval))
	case "call_back_later":
		when := ev.CallBackTime
		if when.IsZero() { // the service requires it; be safe anyway
			when = at.Add(r.s.Schedule.RetryInterval)
		}
		return r.retry(ctx, ev.Number, when)
	case "answered":
		return false, nil // the completion follows
	case "wrong_number", "refused":
		log.Info("callback task ended by the service", "task", r.s.Task.ID, "outcome", ev.Outcome)
		r.s.Task.Status = map[string]string{"wrong_number": StatusUnreachable, "refused": StatusRefused}[ev.Outcome]
		r.s.Result.Reason = strings.ReplaceAll(ev.Outcome, "_", " ")
		return true, nil
	}
	r.s.Ignored++
	log.Warn("ignored attempt of unknown outcome", "task", r.s.Task.ID, "number", ev.Number, "outcome", ev.Outcome)
	return false, nil
}

// retry plans the next attempt at the first calling-hours instant from
// at, unless the customer withdrew consent meanwhile. A retry after the
// deadline is planned all the same: the deadline expires the task first.
func (r *run) retry(ctx workflow.Context, after int, at time.Time) (bool, error) {
	dnc, err := r.doNotCall(ctx)
	if err != nil {
		return false, err
	}
	if dnc {
		return r.end(ctx, StatusCancelled, "do not call")
	}
	next := callhours.Next(at, r.hours, r.loc).UTC()
	var a *Activities
	var task Task
	err = workflow.ExecuteActivity(ctx, a.ScheduleCallbackRetry, RetryInput{Dealer: r.s.Dealer, Task: r.s.Task.ID, AfterAttempt: after, Next: next}).Get(ctx, &task)
	if err != nil {
		// Refused for good: the agent's queue misses the time, but the
		// task stays open and the deadline still ends it.
		workflow.GetLogger(ctx).Error("schedule callback retry failed", "task", r.s.Task.ID, "after_attempt", after, "error", err)
		return false, nil
	}
	r.s.NextRetry = next
	r.s.Task.Status = task.Status
	return false, nil
}

// end ends the task with status. A task that ended otherwise meanwhile
// keeps its status; a completed one still has its completion to act on,
// so the run waits for that event (without a deadline).
func (r *run) end(ctx workflow.Context, status, reason string) (bool, error) {
	var a *Activities
	var task Task
	err := workflow.ExecuteActivity(ctx, a.EndCallbackTask, EndInput{
		Dealer: r.s.Dealer, Task: r.s.Task.ID, Status: status, Reason: reason, Time: workflow.Now(ctx).UTC(),
	}).Get(ctx, &task)
	if err != nil {
		return true, err
	}
	r.s.Task.Status = task.Status
	if task.Status == StatusCompleted {
		workflow.GetLogger(ctx).Info("callback task completed before it could end; waiting for the completion", "task", r.s.Task.ID, "wanted", status)
		r.awaitCompletion = true
		return false, nil
	}
	r.s.Result.Reason = reason
	workflow.GetLogger(ctx).Info("callback task ended", "task", r.s.Task.ID, "status", task.Status, "reason", reason)
	return true, nil
}

// completed turns the questionnaire's outcome into the complaint's next
// step: a follow-up closes or reopens the complaint it follows; any other
// kind opens a complaint when the customer is not satisfied. Satisfied is
// the callback service's verdict (score threshold, problem reported).
func (r *run) completed(ctx workflow.Context, ev events.CallbackCompleted) error {
	log := workflow.GetLogger(ctx)
	var a *Activities
	r.s.Task.Status = StatusCompleted
	if r.s.Kind == events.CallbackComplaintFollowUp {
		in := FollowUpInput{Dealer: r.s.Dealer, Complaint: cmp.Or(ev.Complaint, r.s.Complaint), Task: r.s.Task.ID}
		act, what := a.CloseComplaint, "closed"
		if !ev.Satisfied {
			act, what = a.ReopenComplaint, "reopened"
		}
		if err := workflow.ExecuteActivity(ctx, act, in).Get(ctx, nil); err != nil {
			return err
		}
		r.s.Result.Complaint = in.Complaint
		log.Info("complaint "+what+" by its follow-up", "task", r.s.Task.ID, "complaint", in.Complaint, "score", ev.Score)
		return nil
	}
	if ev.Satisfied {
		log.Info("callback completed; customer satisfied", "task", r.s.Task.ID, "score", ev.Score)
		return nil
	}
	var complaint string
	if err := workflow.ExecuteActivity(ctx, a.OpenComplaint, OpenInput{Dealer: r.s.Dealer, Task: r.s.Task.ID, Kind: r.s.Kind, Score: ev.Score}).Get(ctx, &complaint); err != nil {
		return err
	}
	if err := workflow.ExecuteActivity(ctx, a.LinkCallbackComplaint, LinkInput{Dealer: r.s.Dealer, Task: r.s.Task.ID, Complaint: complaint}).Get(ctx, nil); err != nil {
		return err
	}
	r.s.Task.Complaint, r.s.Result.Complaint = complaint, complaint
	log.Info("complaint opened by callback", "task", r.s.Task.ID, "complaint", complaint, "score", ev.Score)
	return nil
}

func (r *run) taskID() string {
	if r.s.Task == nil {
		return ""
	}
	return r.s.Task.ID
}

// result is the run's Result from the task's status.
func (r *run) result() Result {
	res := r.s.Result
	res.Task = r.taskID()
	if r.s.Task != nil {
		res.Outcome = r.s.Task.Status
	}
	return res
}

// snapshot is the state for the query.
func (r *run) snapshot() State {
	s := r.s
	s.Attempts = slices.Clone(r.s.Attempts)
	if r.s.Task != nil {
		t := *r.s.Task
		s.Task = &t
	}
	return s
}
