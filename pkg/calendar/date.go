package calendar

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Date is a civil date in the calendar's zone. Holidays are dates, not
// instants, so that "1 October" means the dealer's local 1 October.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses "2026-10-01".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("invalid date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// DateOf returns the date of t in t's location; convert t with In first to
// get the date in another zone.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// MarshalText and UnmarshalText let a Spec travel as JSON with readable dates.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday { return d.utc().Weekday() }

// AddDays returns d moved by n days, normalising months and years.
func (d Date) AddDays(n int) Date { return DateOf(d.utc().AddDate(0, 0, n)) }

// Compare returns -1, 0 or +1 as d is before, equal to or after o.
func (d Date) Compare(o Date) int {
	if c := cmp.Compare(d.Year, o.Year); c != 0 {
		return c
	}
	if c := cmp.Compare(d.Month, o.Month); c != 0 {
		return c
	}
	return cmp.Compare(d.Day, o.Day)
}

// valid rejects dates such as 2026-02-30 that time.Date would silently
// normalise, and years that String cannot print as four digits.
func (d Date) valid() bool {
	return d.Year >= 1 && d.Year <= 9999 && DateOf(d.utc()) == d
}

func (d Date) utc() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)
}

const day = 24 * time.Hour

// Interval is an opening interval within one day: [Start, End) as offsets
// from local midnight, 0 <= Start < End <= 24h. The offsets are wall-clock
// times, so 09:00 stays 09:00 on a DST day.
type Interval struct {
	Start, End time.Duration
}

// ParseInterval parses "09:00-18:00", "00:00-24:00" or "09:00:30-12:00".
func ParseInterval(s string) (Interval, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return Interval{}, fmt.Errorf("invalid interval %q: want HH:MM-HH:MM", s)
	}
	start, err := parseClock(a)
	if err != nil {
		return Interval{}, fmt.Errorf("invalid interval %q: %w", s, err)
	}
	end, err := parseClock(b)
	if err != nil {
		return Interval{}, fmt.Errorf("invalid interval %q: %w", s, err)
	}
	iv := Interval{Start: start, End: end}
	if err := iv.check(); err != nil {
		return Interval{}, fmt.Errorf("invalid interval %q: %w", s, err)
	}
	return iv, nil
}

// parseClock parses HH:MM or HH:MM:SS; 24:00 is allowed as an end of day.
func parseClock(s string) (time.Duration, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 2 && len(parts) != 3 {
		return 0, fmt.Errorf("time %q: want HH:MM or HH:MM:SS", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if len(p) != 2 || err != nil {
			return 0, fmt.Errorf("time %q: want HH:MM or HH:MM:SS", s)
		}
		n[i] = v
	}
	if n[0] > 24 || n[1] > 59 || n[2] > 59 || n[0] == 24 && n[1]+n[2] != 0 {
		return 0, fmt.Errorf("time %q out of range 00:00-24:00", s)
	}
	return time.Duration(n[0])*time.Hour + time.Duration(n[1])*time.Minute + time.Duration(n[2])*time.Second, nil
}

// check is shared by ParseInterval and New. Whole seconds keep String and
// ParseInterval a lossless round trip.
func (iv Interval) check() error {
	switch {
	case iv.Start < 0 || iv.Start >= day:
		return fmt.Errorf("start %s out of range 00:00-24:00", clock(iv.Start))
	case iv.End <= 0 || iv.End > day:
		return fmt.Errorf("end %s out of range 00:00-24:00", clock(iv.End))
	case iv.Start >= iv.End:
		return fmt.Errorf("start %s not before end %s", clock(iv.Start), clock(iv.End))
	case iv.Start%time.Second != 0 || iv.End%time.Second != 0:
		return fmt.Errorf("%s: not whole seconds", iv)
	}
	return nil
}

func (iv Interval) String() string { return clock(iv.Start) + "-" + clock(iv.End) }

func (iv Interval) MarshalText() ([]byte, error) { return []byte(iv.String()), nil }

func (iv *Interval) UnmarshalText(b []byte) error {
	v, err := ParseInterval(string(b))
	if err != nil {
		return err
	}
	*iv = v
	return nil
}

// clock prints an offset as HH:MM, or HH:MM:SS when it has seconds; values
// outside a day or finer than a second print as a duration so error
// messages stay truthful.
func clock(d time.Duration) string {
	if d < 0 || d > day || d%time.Second != 0 {
		return d.String()
	}
	h, m, s := d/time.Hour, d%time.Hour/time.Minute, d%time.Minute/time.Second
	if s != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", h, m)
}
