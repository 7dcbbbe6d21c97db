package escalation

import (
	"time"

	"github.com/dealercare/dealercare/pkg/calendar"
	"github.com/dealercare/dealercare/pkg/events"
)

// Deadlines are a complaint's deadlines as its clocks count them; a zero
// time is none. The complaint resource shows them.
type Deadlines struct {
	Response   time.Time `json:"response,omitzero"`
	Resolution time.Time `json:"resolution,omitzero"`
}

// Equal reports whether d and o are the same instants.
func (d Deadlines) Equal(o Deadlines) bool {
	return d.Response.Equal(o.Response) && d.Resolution.Equal(o.Resolution)
}

// Count returns the deadlines as clock c stands under targets t on cal,
// for a complaint in state, starting from d, the deadlines counted
// before. A running clock short of its target is due when its elapsed
// business time reaches the target. Once reached, the deadline stays the
// instant of the breach (Breached); once stopped (acknowledged, resolved)
// it stays what it was, which shows whether the complaint was in time. A
// resolution clock paused pending the customer has no deadline: it moves
// by the length of the pause. cal must not be nil.
func (d Deadlines) Count(c Clock, t Targets, cal *calendar.Calendar, state string) Deadlines {
	switch {
	case t.Response <= 0:
		d.Response = time.Time{}
	case c.ResponseRunning && c.ResponseElapsed < t.Response:
		if due, err := Due(cal, c.Since, t.Response-c.ResponseElapsed); err == nil {
			d.Response = due.UTC()
		}
	}
	switch {
	case t.Resolution <= 0, state == events.ComplaintPendingCustomer:
		d.Resolution = time.Time{}
	case c.ResolutionRunning && c.ResolutionElapsed < t.Resolution:
		if due, err := Due(cal, c.Since, t.Resolution-c.ResolutionElapsed); err == nil {
			d.Resolution = due.UTC()
		}
	}
	return d
}

// Breached returns d after th was reached at due: the first response
// breach and the first resolution breach are when their deadline was, and
// it stays so.
func (d Deadlines) Breached(th Threshold, due time.Time) Deadlines {
	switch th.Key {
	case ResponseBreachedKey:
		d.Response = due
	case FirstResolutionBreachedKey:
		d.Resolution = due
	}
	return d
}
