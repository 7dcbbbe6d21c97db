// Package sla is a complaint's SLA clocks and escalation ladder (SPEC
// "complaint"): a first-response clock and a resolution clock counted in the
// owning dealer's business time, the warnings and breaches they reach, and
// the escalation levels L0 assignee → L1 dealer CS manager → L2 dealer GM →
// L3 region manager → L4 HQ after-sales.
//
// It is pure: no clock, no I/O, no Temporal. The escalation workflow keeps a
// Clock, moves it with Advance when time passes or an event arrives, asks
// NextThreshold what comes next and turns the remaining business time into
// an instant with Due. Everything here is deterministic, as workflow code
// must be.
package sla

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/dealercare/dealercare/pkg/calendar"
	"github.com/dealercare/dealercare/pkg/events"
)

// DefaultWarningRatio is the share of a target after which a warning goes
// out when the policy sets none (SPEC: default at 80 % of the target).
const DefaultWarningRatio = 0.8

// Escalation levels.
const (
	// LevelResponseBreach is the level a first-response breach raises to.
	LevelResponseBreach = 1
	// MaxLevel is HQ after-sales, the top of the ladder.
	MaxLevel = 4
	// ResolutionBreaches is how many multiples of the resolution target
	// breach: the k-th raises to L1+k, so the third reaches MaxLevel.
	ResolutionBreaches = MaxLevel - LevelResponseBreach
)

// Kinds of clock events, as ComplaintClockService.RecordClockEvent takes
// them.
const (
	KindWarned    = "warned"
	KindBreached  = "breached"
	KindEscalated = "escalated"
)

// Targets are the business-time targets of one severity.
type Targets struct {
	// Response is the first-response target; zero means none.
	Response time.Duration `json:"response"`
	// Resolution is the resolution target; each further multiple of it
	// breaches again, one level higher. Zero means none.
	Resolution time.Duration `json:"resolution"`
	// WarningRatio is the share of a target after which a warning goes out:
	// zero (unset in the proto) means DefaultWarningRatio, 1 or more means
	// no warnings (a warning at the breach warns of nothing).
	WarningRatio float64 `json:"warning_ratio,omitempty"`
}

func (t Targets) ratio() float64 {
	if t.WarningRatio <= 0 || math.IsNaN(t.WarningRatio) {
		return DefaultWarningRatio
	}
	return t.WarningRatio
}

// Policy is an SLA policy in force for a complaint: targets per severity
// (events.ComplaintChanged.Severity: low, medium, high, critical).
type Policy struct {
	Targets map[string]Targets `json:"targets"`
}

// For returns the targets of severity; false when the policy has none.
func (p Policy) For(severity string) (Targets, bool) {
	t, ok := p.Targets[severity]
	return t, ok
}

// Clock is a complaint's two SLA clocks. The elapsed times are business
// time counted up to Since; time after Since is not counted yet.
type Clock struct {
	ResponseElapsed   time.Duration `json:"response_elapsed"`
	ResolutionElapsed time.Duration `json:"resolution_elapsed"`
	ResponseRunning   bool          `json:"response_running"`
	ResolutionRunning bool          `json:"resolution_running"`
	// Since is the checkpoint: the instant up to which the clocks count.
	Since time.Time `json:"since"`
}

// Start returns the clocks of a complaint in state at since, with nothing
// elapsed. A complaint is filed new, with both clocks running.
func Start(since time.Time, state string) Clock {
	c := Clock{ResponseRunning: true, ResolutionRunning: true, Since: since}
	if s, ok := SetState(c, state); ok {
		return s
	}
	return c
}

// Advance counts the business time from c.Since to now on the running
// clocks and moves the checkpoint to now. It never goes backwards: a now
// not after Since changes nothing. cal must not be nil.
func Advance(c Clock, cal *calendar.Calendar, now time.Time) Clock {
	if !now.After(c.Since) {
		return c
	}
	if c.ResponseRunning || c.ResolutionRunning {
		d := cal.Between(c.Since, now)
		if c.ResponseRunning {
			c.ResponseElapsed += d
		}
		if c.ResolutionRunning {
			c.ResolutionElapsed += d
		}
	}
	c.Since = now
	return c
}

// SetState runs or stops the clocks for the complaint's new state; Advance
// to the moment of the change first. Acknowledging stops the response clock
// for good; pending customer pauses only the resolution clock; resolved and
// closed stop both; acknowledged, in progress and reopened run the
// resolution clock. It returns false, and c unchanged, for an unknown state.
func SetState(c Clock, state string) (Clock, bool) {
	switch state {
	case events.ComplaintNew:
		// Response keeps what it was: once stopped it never restarts.
		c.ResolutionRunning = true
	case events.ComplaintAcknowledged, events.ComplaintInProgress, events.ComplaintReopened:
		c.ResponseRunning, c.ResolutionRunning = false, true
	case events.ComplaintPendingCustomer:
		c.ResponseRunning, c.ResolutionRunning = false, false
	case events.ComplaintResolved, events.ComplaintClosed:
		c.ResponseRunning, c.ResolutionRunning = false, false
	default:
		return c, false
	}
	return c, true
}

// The keys of the breaches at which a deadline falls: the first response's
// and the first resolution's.
const (
	ResponseBreachedKey        = "response/" + KindBreached
	FirstResolutionBreachedKey = "resolution/1/" + KindBreached
)

// Threshold is a warning or breach a running clock will reach.
type Threshold struct {
	// Key is unique per complaint and fires once ever: "response/warned",
	// "response/breached", "resolution/<k>/warned",
	// "resolution/<k>/breached".
	Key string
	// Kind is KindWarned or KindBreached.
	Kind string
	// Level is the level the breach raises to at least (for a warning: the
	// level its breach will raise to).
	Level int
	// Remaining is the business time until the clock reaches it; zero when
	// it is already reached.
	Remaining time.Duration
	// Target is the elapsed business time the breach is due at (for a
	// warning: its breach's), e.g. 2 × Resolution for "resolution/2/...".
	Target time.Duration
}

type clockID int

const (
	response clockID = iota
	resolution
)

// point is one threshold of the ladder: at Elapsed on clock.
type point struct {
	key, kind string
	level     int
	clock     clockID
	elapsed   time.Duration
	breachKey string        // the breach: itself, or the warning's
	breachAt  time.Duration // the breach's elapsed time
}

// ladder lists the thresholds of t in ladder order, which breaks ties in
// NextThreshold: response before resolution, a warning before its breach.
// The warning of the k-th resolution breach comes at WarningRatio of k ×
// Resolution, the elapsed time that breach is due at.
func ladder(t Targets) []point {
	r := t.ratio()
	var out []point
	add := func(c clockID, name string, level int, at time.Duration) {
		breach := name + "/" + KindBreached
		if r < 1 {
			out = append(out, point{key: name + "/" + KindWarned, kind: KindWarned, level: level, clock: c,
				elapsed: time.Duration(math.Round(r * float64(at))), breachKey: breach, breachAt: at})
		}
		out = append(out, point{key: breach, kind: KindBreached, level: level, clock: c, elapsed: at, breachKey: breach, breachAt: at})
	}
	if t.Response > 0 {
		add(response, "response", LevelResponseBreach, t.Response)
	}
	if t.Resolution > 0 {
		for k := 1; k <= ResolutionBreaches; k++ {
			add(resolution, fmt.Sprintf("resolution/%d", k), LevelResponseBreach+k, time.Duration(k)*t.Resolution)
		}
	}
	return out
}

// NextThreshold returns the nearest threshold in business time that a
// running clock will reach and whose key is not in fired; false when there
// is none (both clocks stopped, or the ladder done). A warning is skipped
// once its breach is reached or fired: it would warn of the past, as after
// a severity change shortens the targets.
func NextThreshold(c Clock, t Targets, fired []string) (Threshold, bool) {
	var best Threshold
	found := false
	for _, p := range ladder(t) {
		elapsed, running := c.ResponseElapsed, c.ResponseRunning
		if p.clock == resolution {
			elapsed, running = c.ResolutionElapsed, c.ResolutionRunning
		}
		if !running || slices.Contains(fired, p.key) {
			continue
		}
		if p.kind == KindWarned && (elapsed >= p.breachAt || slices.Contains(fired, p.breachKey)) {
			continue
		}
		rem := max(p.elapsed-elapsed, 0)
		if !found || rem < best.Remaining {
			best = Threshold{Key: p.key, Kind: p.kind, Level: p.level, Remaining: rem, Target: p.breachAt}
			found = true
		}
	}
	return best, found
}

// Due is the instant at which remaining business time has elapsed after
// now: calendar.Calendar.Add. The error comes only from a calendar with no
// opening time within years.
func Due(cal *calendar.Calendar, now time.Time, remaining time.Duration) (time.Time, error) {
	return cal.Add(now, remaining)
}

// Raise returns the level after a breach of breachLevel: at least both,
// at most MaxLevel. Breaches never lower a level a manual escalation set.
func Raise(level, breachLevel int) int {
	return min(max(level, breachLevel), MaxLevel)
}

// EscalatedKey is the idempotency key of the escalation to level, e.g.
// "escalated/L2": each level is notified once per complaint.
func EscalatedKey(level int) string {
	return fmt.Sprintf("%s/L%d", KindEscalated, level)
}
