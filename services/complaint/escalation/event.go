package escalation

import (
	"fmt"
	"slices"
	"strings"
)

// Record is a clock event for the complaint's timeline, recorded once per
// Key (ComplaintClockService.RecordClockEvent).
type Record struct {
	Key  string
	Kind Kind
	// Level is the complaint's level after the event; for KindEscalated
	// the new level, whose role is notified.
	Level  int
	Detail string
}

// Reach is what reaching th does to a complaint at level whose clock c
// stands at the threshold, fired being the keys recorded before: the
// records in order (the threshold; then, for a breach that raises the
// level, the escalation to the new level unless recorded before) and the
// level after. A warning keeps the level; a breach raises it to the
// threshold's level at least (Raise).
func Reach(th Threshold, c Clock, level int, fired []string) ([]Record, int) {
	after := level
	if th.Kind == KindBreached {
		after = Raise(level, th.Level)
	}
	elapsed := c.ResponseElapsed
	if strings.HasPrefix(th.Key, "resolution/") {
		elapsed = c.ResolutionElapsed
	}
	out := []Record{{Key: th.Key, Kind: th.Kind, Level: after,
		Detail: fmt.Sprintf("%s: %s of business time elapsed, target %s", th.Key, elapsed, th.Target)}}
	if after > level {
		if key := EscalatedKey(after); !slices.Contains(fired, key) {
			out = append(out, Record{Key: key, Kind: KindEscalated, Level: after,
				Detail: fmt.Sprintf("escalated to L%d by %s", after, th.Key)})
		}
	}
	return out, after
}

// Effect is what a recorded clock event does to the complaint.
type Effect struct {
	// Level is the complaint's level after the event; Raised reports
	// whether it went up, which the store saves.
	Level  int
	Raised bool
	// Notify: a notice goes to the role on the hook at Level, saying Why.
	Notify bool
	Why    string
}

// OnClockEvent is what a clock event of kind, reporting eventLevel, does
// to a complaint at level: an escalation raises the level (never lowers
// one a manual escalation set) and notifies that level's role; a warning
// notifies the role on the hook; a breach is a timeline entry only (its
// escalation is an event of its own).
func OnClockEvent(kind Kind, level, eventLevel int, detail string) Effect {
	e := Effect{Level: level}
	switch kind {
	case KindEscalated:
		if eventLevel > level {
			e.Level, e.Raised = eventLevel, true
		}
		e.Notify, e.Why = true, detail
	case KindWarned:
		e.Notify, e.Why = true, "warning: "+detail
	}
	return e
}
