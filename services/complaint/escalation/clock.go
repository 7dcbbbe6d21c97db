package escalation

import (
	"time"

	"github.com/dealercare/dealercare/pkg/calendar"
	"github.com/dealercare/dealercare/pkg/events"
)

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
