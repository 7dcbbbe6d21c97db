// Package calendar is a dealer's business calendar: weekly opening hours,
// public holidays and China's adjusted working days (调休) in the dealer's
// time zone. Complaint SLA clocks count business time with Add and Between;
// callback calling hours and reminder quiet hours use IsOpen and NextOpen.
//
// A Calendar is immutable and has no clock and no I/O, so it is safe for
// concurrent use and deterministic inside Temporal workflows.
package calendar

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	// Embedded zone data, so dealers' zones load in minimal container images
	// without /usr/share/zoneinfo; the system copy still wins when present.
	_ "time/tzdata"
)

// DefaultTimeZone is used when a Spec leaves TimeZone empty (SPEC: dealers
// default to Asia/Shanghai).
const DefaultTimeZone = "Asia/Shanghai"

// horizonDays bounds every search for open time, so a calendar closed for
// years (say, a mistyped holiday list) fails instead of looping.
const horizonDays = 3 * 366

// Spec is a calendar as plain data, as stored in the database and sent over
// the API. Validation errors name fields by their JSON names.
type Spec struct {
	// TimeZone is an IANA name; empty means DefaultTimeZone.
	TimeZone string `json:"time_zone"`
	// Weekly holds the opening intervals per weekday; several a day allowed.
	Weekly map[time.Weekday][]Interval `json:"weekly"`
	// Holidays are closed all day, even on a weekday.
	Holidays []Date `json:"holidays"`
	// WorkingDays are weekend or holiday dates made working days (调休).
	WorkingDays []AdjustedDay `json:"working_days"`
}

// AdjustedDay is a date that opens with the hours of weekday HoursOf
// (usually Monday) whatever its own weekday is.
type AdjustedDay struct {
	Date    Date         `json:"date"`
	HoursOf time.Weekday `json:"hours_of"`
}

// FieldError is a validation failure of one Spec field; Field uses the
// path syntax of the error text, e.g. "weekly[monday][1]", so the API layer
// can turn it into a field violation without parsing strings.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Calendar answers business-time questions for one dealer. Build it with New
// or AlwaysOpen; all methods accept instants in any location and return them
// in the calendar's location.
type Calendar struct {
	loc      *time.Location
	spec     Spec
	weekly   [7][]Interval // sorted, touching intervals merged
	holidays map[Date]bool
	working  map[Date]time.Weekday
}

// New validates spec and builds its calendar. The error is a *FieldError
// naming the first offending field.
func New(spec Spec) (*Calendar, error) {
	spec = spec.clone()
	if spec.TimeZone == "" {
		spec.TimeZone = DefaultTimeZone
	}
	loc, err := loadLocation(spec.TimeZone)
	if err != nil {
		return nil, err
	}
	c := &Calendar{
		loc:      loc,
		spec:     spec,
		holidays: make(map[Date]bool, len(spec.Holidays)),
		working:  make(map[Date]time.Weekday, len(spec.WorkingDays)),
	}

	for _, wd := range slices.Sorted(maps.Keys(spec.Weekly)) {
		if wd < time.Sunday || wd > time.Saturday {
			return nil, invalid(fmt.Sprintf("weekly[%d]", int(wd)), "unknown weekday")
		}
	}
	open := false
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		ivs, err := normalize(spec.Weekly[wd], "weekly["+weekdayName(wd)+"]")
		if err != nil {
			return nil, err
		}
		c.weekly[wd] = ivs
		open = open || len(ivs) > 0
	}
	if !open {
		return nil, invalid("weekly", "no opening hours on any weekday")
	}

	for i, d := range spec.Holidays {
		field := fmt.Sprintf("holidays[%d]", i)
		if !d.valid() {
			return nil, invalid(field, "invalid date %d-%d-%d", d.Year, int(d.Month), d.Day)
		}
		if c.holidays[d] {
			return nil, invalid(field, "duplicate date %s", d)
		}
		c.holidays[d] = true
	}
	for i, a := range spec.WorkingDays {
		field := fmt.Sprintf("working_days[%d]", i)
		d := a.Date
		switch {
		case !d.valid():
			return nil, invalid(field+".date", "invalid date %d-%d-%d", d.Year, int(d.Month), d.Day)
		case c.holidays[d]:
			return nil, invalid(field+".date", "%s is also listed as a holiday", d)
		case hasKey(c.working, d):
			return nil, invalid(field+".date", "duplicate date %s", d)
		case a.HoursOf < time.Sunday || a.HoursOf > time.Saturday:
			return nil, invalid(field+".hours_of", "unknown weekday %d", int(a.HoursOf))
		case len(c.weekly[a.HoursOf]) == 0:
			// A working day without hours would silently stay closed.
			return nil, invalid(field+".hours_of", "%s has no opening hours", weekdayName(a.HoursOf))
		}
		c.working[d] = a.HoursOf
	}
	return c, nil
}

// AlwaysOpen returns a 24x7 calendar, for demos and tests that run a whole
// policy in minutes. A nil loc means UTC. Its Spec names loc.String(), which
// New accepts only for IANA zones (not time.FixedZone).
func AlwaysOpen(loc *time.Location) *Calendar {
	if loc == nil {
		loc = time.UTC
	}
	c := &Calendar{loc: loc, spec: Spec{TimeZone: loc.String(), Weekly: map[time.Weekday][]Interval{}}}
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		c.weekly[wd] = []Interval{{0, day}}
		c.spec.Weekly[wd] = []Interval{{0, day}}
	}
	return c
}

// Zone is a dealer's time zone by IANA name: DefaultTimeZone's when the
// name is empty, and China Standard Time (UTC+8) when the name cannot be
// loaded (the network stores only names New accepted).
func Zone(name string) *time.Location {
	if name == "" {
		name = DefaultTimeZone
	}
	if loc, err := loadLocation(name); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}

// loadLocation refuses "Local": it would make a dealer's hours depend on the
// machine that happens to run the code. Loaded zones are kept (a
// *time.Location is immutable), so a campaign resolving thousands of
// recipients reads and parses each zone's tzdata once, not per recipient.
func loadLocation(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	if name == "Local" {
		return nil, invalid("time_zone", "unknown time zone %q", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, invalid("time_zone", "unknown time zone %q", name)
	}
	zones.Store(name, loc)
	return loc, nil
}

// zones are the locations loadLocation loaded, by name. Only valid names
// are kept, and there are a few hundred IANA names at most.
var zones sync.Map

// normalize validates one weekday's intervals and returns them sorted with
// touching intervals merged, so 09:00-12:00 + 12:00-18:00 is one period.
func normalize(ivs []Interval, field string) ([]Interval, error) {
	order := make([]int, len(ivs))
	for i, iv := range ivs {
		if err := iv.check(); err != nil {
			return nil, invalid(fmt.Sprintf("%s[%d]", field, i), "%v", err)
		}
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(ivs[a].Start, ivs[b].Start) })
	var out []Interval
	for k, i := range order {
		iv := ivs[i]
		if k > 0 {
			prev := ivs[order[k-1]]
			if iv.Start < prev.End {
				return nil, invalid(fmt.Sprintf("%s[%d]", field, i), "intervals overlap: %s and %s", prev, iv)
			}
			if last := &out[len(out)-1]; iv.Start == last.End {
				last.End = iv.End
				continue
			}
		}
		out = append(out, iv)
	}
	return out, nil
}

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// Spec returns a copy of the spec the calendar was built from, with
// TimeZone filled in.
func (c *Calendar) Spec() Spec { return c.spec.clone() }

// IsOpen reports whether t falls in an opening interval; starts are
// inclusive and ends exclusive.
func (c *Calendar) IsOpen(t time.Time) bool {
	d := c.dateOf(t)
	w := c.walk(d.AddDays(-1), d.AddDays(1))
	for {
		sp, ok := w.next()
		if !ok {
			return false
		}
		if sp.end.After(t) {
			return !sp.start.After(t)
		}
	}
}

// NextOpen returns the first open instant at or after t: t itself when open.
// It returns the zero Time when nothing opens within 3 years, which only a
// holiday list closing every opening day for years can cause.
func (c *Calendar) NextOpen(t time.Time) time.Time {
	d := c.dateOf(t)
	w := c.walk(d.AddDays(-1), d.AddDays(horizonDays))
	for {
		sp, ok := w.next()
		if !ok {
			return time.Time{}
		}
		if sp.end.After(t) {
			return later(sp.start, t).In(c.loc)
		}
	}
}

// Add returns the instant at which d of business time has elapsed after t.
// When that lands exactly on a closing time, Add returns the closing time,
// not the next opening, so a deadline is never pushed over a night. A zero d
// returns t unchanged (in the calendar's location): nothing has to elapse,
// so a zero SLA target is due at once even when closed. A negative d, or no
// open time within 3 years of the last opening, is an error.
func (c *Calendar) Add(t time.Time, d time.Duration) (time.Time, error) {
	if d < 0 {
		return time.Time{}, fmt.Errorf("calendar add: negative duration %s", d)
	}
	if d == 0 {
		return t.In(c.loc), nil
	}
	start := c.dateOf(t)
	w := c.walk(start.AddDays(-1), start.AddDays(horizonDays))
	for {
		sp, ok := w.next()
		if !ok {
			return time.Time{}, fmt.Errorf("calendar add: no opening time within %d days after %s", horizonDays, w.limit.AddDays(-horizonDays))
		}
		if !sp.end.After(t) {
			continue
		}
		s := later(sp.start, t)
		if avail := sp.end.Sub(s); d > avail {
			d -= avail
			w.limit = w.day.AddDays(horizonDays)
			continue
		}
		return s.Add(d).In(c.loc), nil
	}
}

// Between returns the business time in [a, b), 0 when b is not after a.
func (c *Calendar) Between(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	var sum time.Duration
	w := c.walk(c.dateOf(a).AddDays(-1), c.dateOf(b).AddDays(1))
	for {
		sp, ok := w.next()
		if !ok || !sp.start.Before(b) {
			return sum
		}
		if sp.end.After(a) {
			sum += earlier(sp.end, b).Sub(later(sp.start, a))
		}
	}
}

func (c *Calendar) dateOf(t time.Time) Date { return DateOf(t.In(c.loc)) }

// hoursOn applies the precedence holiday > adjusted working day > weekday.
func (c *Calendar) hoursOn(d Date) []Interval {
	if c.holidays[d] {
		return nil
	}
	if wd, ok := c.working[d]; ok {
		return c.weekly[wd]
	}
	return c.weekly[d.Weekday()]
}

// instant converts a wall-clock offset on date d into an instant. A wall
// time skipped by a DST jump maps to the jump itself, so an interval keeps
// exactly the wall times that exist; a repeated wall time maps to its first
// occurrence (time.Date's choice).
func (c *Calendar) instant(d Date, off time.Duration) time.Time {
	if off == day {
		d, off = d.AddDays(1), 0
	}
	h, m, s := int(off/time.Hour), int(off%time.Hour/time.Minute), int(off%time.Minute/time.Second)
	ns := int(off % time.Second)
	t := time.Date(d.Year, d.Month, d.Day, h, m, s, ns, c.loc)
	y2, m2, d2 := t.Date()
	h2, mi2, s2 := t.Clock()
	if y2 == d.Year && m2 == d.Month && d2 == d.Day && h2 == h && mi2 == m && s2 == s {
		return t
	}
	// In a gap: time.Date moved the wall time by the jump, in a direction
	// it does not promise. The jump is the edge of the zone period it chose.
	got := time.Date(y2, m2, d2, h2, mi2, s2, ns, time.UTC)
	want := time.Date(d.Year, d.Month, d.Day, h, m, s, ns, time.UTC)
	zoneStart, zoneEnd := t.ZoneBounds()
	switch {
	case got.Before(want) && !zoneEnd.IsZero():
		return zoneEnd
	case got.After(want) && !zoneStart.IsZero():
		return zoneStart
	}
	return t
}

type span struct{ start, end time.Time }

// walker yields the open spans in time order, one day at a time, up to and
// including day limit. Every caller walks with the same rules, which is what
// keeps Between(t, Add(t, d)) == d.
type walker struct {
	c     *Calendar
	day   Date
	limit Date
	ivs   []Interval // of day, from index i on still to yield
	i     int
	last  time.Time // end of the last span; spans never go back before it
}

func (c *Calendar) walk(from, limit Date) walker {
	return walker{c: c, day: from.AddDays(-1), limit: limit}
}

func (w *walker) next() (span, bool) {
	for {
		for w.i < len(w.ivs) {
			iv := w.ivs[w.i]
			w.i++
			s, e := w.c.instant(w.day, iv.Start), w.c.instant(w.day, iv.End)
			// Defensive: a zone rule that folds wall times must not make
			// spans overlap, or Between would count time twice.
			s = later(s, w.last)
			if e.After(s) {
				w.last = e
				return span{s, e}, true
			}
		}
		if w.day.Compare(w.limit) >= 0 {
			return span{}, false
		}
		w.day = w.day.AddDays(1)
		w.ivs, w.i = w.c.hoursOn(w.day), 0
	}
}

func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if a.After(b) {
		return b
	}
	return a
}

func (s Spec) clone() Spec {
	out := Spec{
		TimeZone:    s.TimeZone,
		Holidays:    slices.Clone(s.Holidays),
		WorkingDays: slices.Clone(s.WorkingDays),
	}
	if s.Weekly != nil {
		out.Weekly = make(map[time.Weekday][]Interval, len(s.Weekly))
		for wd, ivs := range s.Weekly {
			out.Weekly[wd] = slices.Clone(ivs)
		}
	}
	return out
}

func weekdayName(wd time.Weekday) string { return strings.ToLower(wd.String()) }

func hasKey[K comparable, V any](m map[K]V, k K) bool {
	_, ok := m[k]
	return ok
}
