// Package callhours is the daily window in which a dealer may call its
// customers (SPEC "callback": never 21:00-09:00 local), and Next, which
// moves a planned call into it.
//
// A window is wall-clock time in the dealer's zone, the same every day: an
// instant is inside when its local time of day is in [Start, End). Unlike
// pkg/calendar it knows no weekdays or holidays (customers are called on
// Sundays too), and across DST it follows the wall clock exactly: the
// first in-window instant after a spring-forward gap is the jump itself,
// and a wall time repeated in the autumn is inside both times.
//
// Everything here is pure and deterministic, so it is safe in Temporal
// workflow code.
package callhours

import (
	"fmt"
	"strconv"
	"time"

	// Embedded zone data, so dealers' zones load in minimal images; the
	// system copy still wins when present.
	_ "time/tzdata"
)

const day = 24 * time.Hour

// Window is a daily calling window: [Start, End) as wall-clock offsets
// from local midnight, 0 <= Start < End <= 24h, in whole minutes.
type Window struct {
	Start, End time.Duration
}

// Parse parses a window from its start and end, `HH:MM` each; end may be
// `24:00` (midnight at the end of the day). The error names the bad value.
func Parse(start, end string) (Window, error) {
	s, err := parseClock(start, false)
	if err != nil {
		return Window{}, fmt.Errorf("calling hours start: %w", err)
	}
	e, err := parseClock(end, true)
	if err != nil {
		return Window{}, fmt.Errorf("calling hours end: %w", err)
	}
	w := Window{Start: s, End: e}
	if err := w.Validate(); err != nil {
		return Window{}, err
	}
	return w, nil
}

// MustParse is Parse for constants; it panics on a bad window.
func MustParse(start, end string) Window {
	w, err := Parse(start, end)
	if err != nil {
		panic(err)
	}
	return w
}

// Validate reports a window that is empty or outside a day.
func (w Window) Validate() error {
	switch {
	case w.Start < 0 || w.Start >= day || w.Start%time.Minute != 0:
		return fmt.Errorf("calling hours start %v: want whole minutes in 00:00-23:59", w.Start)
	case w.End <= 0 || w.End > day || w.End%time.Minute != 0:
		return fmt.Errorf("calling hours end %v: want whole minutes in 00:01-24:00", w.End)
	case w.Start >= w.End:
		return fmt.Errorf("calling hours %s: start not before end", w)
	}
	return nil
}

// String is `HH:MM-HH:MM`.
func (w Window) String() string { return clock(w.Start) + "-" + clock(w.End) }

// Contains reports whether t's wall-clock time in loc is inside w.
func (w Window) Contains(t time.Time, loc *time.Location) bool {
	h, m, s := t.In(loc).Clock()
	off := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second + time.Duration(t.Nanosecond())
	return off >= w.Start && off < w.End
}

// Next is the earliest instant at or after t inside w in loc: t itself if
// inside; the same day's start if before it; the next day's start if after
// the end. The result is in loc. A zero or invalid window returns t.
func Next(t time.Time, w Window, loc *time.Location) time.Time {
	t = t.In(loc)
	if w.Validate() != nil || w.Contains(t, loc) {
		return t
	}
	// Inside becomes true only where the wall clock reaches Start (once, or
	// twice on a day whose hour repeats) or jumps into the window at a zone
	// transition. The answer is the earliest such candidate at or after t;
	// the start of the day after next bounds the search.
	var best time.Time
	consider := func(c time.Time) {
		if !c.Before(t) && w.Contains(c, loc) && (best.IsZero() || c.Before(best)) {
			best = c
		}
	}
	y, mo, d := t.Date()
	for i := range 3 {
		for _, c := range occurrences(y, mo, d+i, w.Start, loc) {
			consider(c)
		}
	}
	limit := time.Date(y, mo, d+3, 0, 0, 0, 0, loc)
	for z := t; ; {
		_, end := z.ZoneBounds()
		if end.IsZero() || end.After(limit) || !end.After(z) {
			break
		}
		consider(end)
		z = end
	}
	if best.IsZero() { // cannot happen for a valid window
		return t
	}
	return best
}

// occurrences are the instants whose wall clock in loc reads the date and
// offset: none in a DST gap, two in a repeated hour, one otherwise.
func occurrences(y int, mo time.Month, d int, off time.Duration, loc *time.Location) []time.Time {
	wall := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).Add(off)
	var out []time.Time
	// The zone offsets in force around that wall time: a day either side
	// covers every real transition.
	for _, probe := range []time.Time{wall.Add(-day), wall.Add(day)} {
		_, o := probe.In(loc).Zone()
		c := wall.Add(-time.Duration(o) * time.Second).In(loc)
		cy, cm, cd := c.Date()
		ch, cmi, cs := c.Clock()
		if time.Date(cy, cm, cd, ch, cmi, cs, c.Nanosecond(), time.UTC).Equal(wall) &&
			(len(out) == 0 || !out[0].Equal(c)) {
			out = append(out, c)
		}
	}
	return out
}

// parseClock parses `HH:MM`; `24:00` only when end is true.
func parseClock(s string, end bool) (time.Duration, error) {
	if len(s) != 5 || s[2] != ':' || !digits(s[:2]) || !digits(s[3:]) {
		return 0, fmt.Errorf("%q: want HH:MM", s)
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%q: want HH:MM", s)
	}
	switch {
	case h == 24 && m == 0 && end:
		return day, nil
	case h > 23 || m > 59:
		if end {
			return 0, fmt.Errorf("%q out of range 00:00-24:00", s)
		}
		return 0, fmt.Errorf("%q out of range 00:00-23:59", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", d/time.Hour, d%time.Hour/time.Minute)
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
