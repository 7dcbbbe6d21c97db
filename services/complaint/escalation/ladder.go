package escalation

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/dealercare/dealercare/pkg/calendar"
)

// DefaultWarningRatio is the share of a target after which a warning goes
// out when the policy sets none (SPEC: default at 80 % of the target).
const DefaultWarningRatio = 0.8

// Kind is a kind of clock event, as ComplaintClockService.RecordClockEvent
// takes them.
type Kind string

// Kinds of clock events.
const (
	KindWarned    Kind = "warned"
	KindBreached  Kind = "breached"
	KindEscalated Kind = "escalated"
)

// Valid reports whether k is one of the kinds above.
func (k Kind) Valid() bool {
	return k == KindWarned || k == KindBreached || k == KindEscalated
}

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

// The keys of the breaches at which a deadline falls: the first response's
// and the first resolution's.
const (
	ResponseBreachedKey        = "response/" + string(KindBreached)
	FirstResolutionBreachedKey = "resolution/1/" + string(KindBreached)
)

// Threshold is a warning or breach a running clock will reach.
type Threshold struct {
	// Key is unique per complaint and fires once ever: "response/warned",
	// "response/breached", "resolution/<k>/warned",
	// "resolution/<k>/breached".
	Key string
	// Kind is KindWarned or KindBreached.
	Kind Kind
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
	key       string
	kind      Kind
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
		breach := name + "/" + string(KindBreached)
		if r < 1 {
			out = append(out, point{key: name + "/" + string(KindWarned), kind: KindWarned, level: level, clock: c,
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

// Next is the next threshold a running clock will reach and the instant
// it falls due on cal; false when there is none, or when cal has no
// opening time within years (nothing will fire).
func Next(c Clock, t Targets, fired []string, cal *calendar.Calendar) (Threshold, time.Time, bool) {
	th, ok := NextThreshold(c, t, fired)
	if !ok {
		return Threshold{}, time.Time{}, false
	}
	due, err := Due(cal, c.Since, th.Remaining)
	if err != nil {
		return Threshold{}, time.Time{}, false
	}
	return th, due.UTC(), true
}
