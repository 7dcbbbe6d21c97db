package complaint

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/calendar"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/services/complaint/escalation"
	"github.com/dealercare/dealercare/workflows/network"
	"go.temporal.io/sdk/workflow"
)

// The run's event application: the complaint service's events, in
// version order, move the clocks to their moment and adopt the
// complaint's state, loading the SLA policy and the owner's calendar when
// they change.

// Changes (events.ComplaintChanged.Change) that reload the SLA policy even
// when the severity is unchanged: a severity change, and policy_changed in
// runs from before changeIgnorePolicyChanged.
const (
	changeSeverity = "severity_changed"
	changePolicy   = "policy_changed"
)

// apply applies a batch of envelopes in Version order, dropping
// redeliveries and events not newer than the state.
func (e *run) apply(ctx workflow.Context, batch []outbox.Envelope) {
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
func (e *run) applyEvent(ctx workflow.Context, ev events.ComplaintChanged) {
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
	e.s.Level = escalation.Raise(e.s.Level, ev.Level)
	if ev.Dealer != "" && ev.Dealer != e.s.Dealer && !began {
		// Transfer: the clock so far was counted on the old owner's
		// calendar (catchUp above); it continues on the new owner's, under
		// the new owner's policy (its override or HQ's default).
		log.Info("complaint transferred", "complaint", e.s.ComplaintID, "from", e.s.Dealer, "to", ev.Dealer)
		e.s.Dealer = ev.Dealer
		e.s.ReloadCalendar, e.s.ReloadPolicy = true, true
	}
	policyChanged := ev.Change == changePolicy &&
		workflow.GetVersion(ctx, changeIgnorePolicyChanged, workflow.DefaultVersion, versionIgnorePolicyChanged) == workflow.DefaultVersion
	if ((ev.Severity != "" && ev.Severity != e.s.Severity) || ev.Change == changeSeverity || policyChanged) && !began {
		e.s.Severity = cmp.Or(ev.Severity, e.s.Severity)
		e.s.ReloadPolicy = true
	}
	if ev.State != "" {
		if e.deadlinesAtStop {
			// The clocks stand at the event's moment: a clock this event
			// stops keeps the deadline it had (see counted).
			e.deadline = e.counted()
		}
		c, ok := escalation.SetState(e.s.Clock, ev.State)
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
func (e *run) begin(ctx workflow.Context, ev events.ComplaintChanged, at time.Time) {
	e.s.ComplaintID = cmp.Or(e.s.ComplaintID, ev.ComplaintID)
	e.s.OriginDealer = cmp.Or(e.s.OriginDealer, ev.OriginDealer)
	e.s.Dealer, e.s.Severity, e.s.CreateTime = ev.Dealer, ev.Severity, ev.CreateTime
	start := ev.CreateTime
	if start.IsZero() || start.After(at) {
		start = at
	}
	switch ev.State {
	case events.ComplaintResolved, events.ComplaintClosed:
		e.s.Clock = escalation.Start(at, ev.State)
	default:
		e.s.Clock = escalation.Start(start, events.ComplaintNew)
	}
	e.s.ReloadPolicy, e.s.ReloadCalendar = true, true
	e.load(ctx)
}

// load fetches the policy and the owner's calendar where due. A refusal
// keeps what was loaded before (the old owner's calendar after a failed
// transfer) and is retried with the next event or after loadRetryInterval.
func (e *run) load(ctx workflow.Context) {
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
			e.s.Level = escalation.Raise(e.s.Level, in.Level)
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
