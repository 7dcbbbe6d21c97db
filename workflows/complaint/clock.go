package complaint

import (
	"slices"
	"time"

	"github.com/dealercare/dealercare/services/complaint/escalation"
	"go.temporal.io/sdk/workflow"
)

// The run's clock: what the clocks reach and when (package escalation
// counts; the run records each threshold once, at the instant it fell
// due) and the deadlines they show on the complaint.

// targets are those of the complaint's severity in the policy in force.
func (e *run) targets() (escalation.Targets, bool) {
	if e.s.Policy == nil {
		return escalation.Targets{}, false
	}
	return e.s.Policy.For(e.s.Severity)
}

// next is the next threshold and its instant; false when none (or no
// calendar to count on yet).
func (e *run) next() (escalation.Threshold, time.Time, bool) {
	t, ok := e.targets()
	if !ok || e.cal == nil {
		return escalation.Threshold{}, time.Time{}, false
	}
	return escalation.Next(e.s.Clock, t, e.s.Fired, e.cal)
}

// catchUp fires, in order, every threshold the clocks reach by to, each
// with the instant it was due, and moves the clocks to to. Without a
// calendar the checkpoint stays, so the time is counted once one loads.
func (e *run) catchUp(ctx workflow.Context, to time.Time) {
	if e.cal == nil {
		return
	}
	for {
		th, due, ok := e.next()
		if !ok || due.After(to) {
			break
		}
		e.s.Clock = escalation.Advance(e.s.Clock, e.cal, due)
		e.fire(ctx, th, due)
	}
	e.s.Clock = escalation.Advance(e.s.Clock, e.cal, to)
}

// fire records what reaching a threshold does (escalation.Reach), once.
func (e *run) fire(ctx workflow.Context, th escalation.Threshold, due time.Time) {
	recs, level := escalation.Reach(th, e.s.Clock, e.s.Level, e.s.Fired)
	for _, r := range recs {
		e.record(ctx, r, due)
	}
	e.deadline = e.deadline.Breached(th, due)
	e.s.Level = level
}

// record calls RecordClockEvent and remembers the key, also when the
// service refused it for good (State.RecordError): retrying the same call
// cannot succeed, and the ladder must go on.
func (e *run) record(ctx workflow.Context, r escalation.Record, at time.Time) {
	var a *Activities
	key, level := r.Key, r.Level
	in := RecordInput{
		Dealer: e.s.Dealer, Complaint: e.s.ComplaintID, Key: key, Kind: r.Kind, Level: level, Time: at.UTC(), Detail: r.Detail,
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

// counted returns the deadlines as the clocks stand
// (escalation.Deadlines.Count).
func (e *run) counted() Deadlines {
	t, ok := e.targets()
	if !ok || e.cal == nil {
		return e.deadline
	}
	return e.deadline.Count(e.s.Clock, t, e.cal, e.s.Status)
}

// syncDeadlines writes the counted deadlines onto the complaint when they
// changed. A refusal is kept in State.DeadlinesError and not retried until
// they change again: retrying the same call cannot succeed.
func (e *run) syncDeadlines(ctx workflow.Context) {
	d := e.counted()
	e.deadline = d
	if !e.writeDeadlines || e.s.ComplaintID == "" || d.Equal(e.s.Deadlines) {
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

// snapshot is the state for the query: the clocks counted up to now and
// the next threshold.
func (e *run) snapshot(now time.Time) State {
	s := e.s
	s.Fired = slices.Clone(e.s.Fired)
	if e.cal != nil {
		s.Clock = escalation.Advance(s.Clock, e.cal, now)
	}
	if th, due, ok := e.next(); ok {
		s.Next = &Next{Key: th.Key, Kind: th.Kind, Level: th.Level, Due: due}
	}
	return s
}
