package calendar

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// Fixtures, built once per test from plain specs as a service would.

func iv(tb testing.TB, s string) Interval {
	tb.Helper()
	v, err := ParseInterval(s)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func date(tb testing.TB, s string) Date {
	tb.Helper()
	d, err := ParseDate(s)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func dates(tb testing.TB, from, to string) []Date {
	var out []Date
	for d := date(tb, from); d.Compare(date(tb, to)) <= 0; d = d.AddDays(1) {
		out = append(out, d)
	}
	return out
}

func weekdays(ivs ...Interval) map[time.Weekday][]Interval {
	m := map[time.Weekday][]Interval{}
	for wd := time.Monday; wd <= time.Friday; wd++ {
		m[wd] = ivs
	}
	return m
}

func everyDay(ivs ...Interval) map[time.Weekday][]Interval {
	m := map[time.Weekday][]Interval{}
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		m[wd] = ivs
	}
	return m
}

func mustNew(tb testing.TB, spec Spec) *Calendar {
	tb.Helper()
	c, err := New(spec)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func loc(tb testing.TB, name string) *time.Location {
	tb.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// at reads a wall time in c's zone: "2026-03-06 17:55[:05[.5]]".
func at(tb testing.TB, c *Calendar, s string) time.Time {
	tb.Helper()
	layout := "2006-01-02 15:04"
	if strings.Count(s, ":") == 2 {
		layout += ":05"
	}
	t, err := time.ParseInLocation(layout, s, c.Location())
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

type fixtures struct {
	office      *Calendar // Shanghai, Mon-Fri 09:00-18:00
	qingming    *Calendar // office + Qingming 2026: Sat 4 - Mon 6 April off
	nationalDay *Calendar // office + China's 2026 National Day arrangement
	lunch       *Calendar // Mon-Fri 09:00-12:00 + 13:30-18:00
	always      *Calendar // 24x7 Shanghai
	night       *Calendar // every day 20:00-24:00 + 00:00-06:00, Shanghai
	urumqi      *Calendar // office hours in Asia/Urumqi (UTC+6)
	nyOffice    *Calendar // Mon-Fri 09:00-18:00 America/New_York
	nyAlways    *Calendar // 24x7 America/New_York
	nyNight     *Calendar // night shift, America/New_York
	nyGap       *Calendar // Sundays 02:30-03:30: inside the spring-forward gap
	nyFold      *Calendar // Sundays 01:00-02:00: the repeated hour in autumn
}

func newFixtures(tb testing.TB) fixtures {
	nine := iv(tb, "09:00-18:00")
	nights := []Interval{iv(tb, "20:00-24:00"), iv(tb, "00:00-06:00")}
	return fixtures{
		office: mustNew(tb, Spec{TimeZone: "Asia/Shanghai", Weekly: weekdays(nine)}),
		qingming: mustNew(tb, Spec{
			Weekly:   weekdays(nine),
			Holidays: dates(tb, "2026-04-04", "2026-04-06"),
		}),
		// 2026: 1-7 October off; Sunday 20 September and Saturday 10 October
		// are worked with Monday's hours.
		nationalDay: mustNew(tb, Spec{
			Weekly:   weekdays(nine),
			Holidays: dates(tb, "2026-10-01", "2026-10-07"),
			WorkingDays: []AdjustedDay{
				{Date: date(tb, "2026-09-20"), HoursOf: time.Monday},
				{Date: date(tb, "2026-10-10"), HoursOf: time.Monday},
			},
		}),
		lunch:    mustNew(tb, Spec{Weekly: weekdays(iv(tb, "13:30-18:00"), iv(tb, "09:00-12:00"))}),
		always:   AlwaysOpen(loc(tb, "Asia/Shanghai")),
		night:    mustNew(tb, Spec{Weekly: everyDay(nights...)}),
		urumqi:   mustNew(tb, Spec{TimeZone: "Asia/Urumqi", Weekly: weekdays(nine)}),
		nyOffice: mustNew(tb, Spec{TimeZone: "America/New_York", Weekly: weekdays(nine)}),
		nyAlways: AlwaysOpen(loc(tb, "America/New_York")),
		nyNight:  mustNew(tb, Spec{TimeZone: "America/New_York", Weekly: everyDay(nights...)}),
		nyGap: mustNew(tb, Spec{TimeZone: "America/New_York", Weekly: map[time.Weekday][]Interval{
			time.Sunday: {iv(tb, "02:30-03:30")},
		}}),
		nyFold: mustNew(tb, Spec{TimeZone: "America/New_York", Weekly: map[time.Weekday][]Interval{
			time.Sunday: {iv(tb, "01:00-02:00")},
		}}),
	}
}

func TestAdd(t *testing.T) {
	f := newFixtures(t)
	tests := []struct {
		name  string
		cal   *Calendar
		start string
		d     time.Duration
		want  string
	}{
		{"friday evening to monday", f.office, "2026-03-06 17:55", 2 * time.Hour, "2026-03-09 10:55"},
		{"monday holiday to tuesday", f.qingming, "2026-04-03 17:55", 2 * time.Hour, "2026-04-07 10:55"},
		{"adjusted working saturday", f.nationalDay, "2026-10-09 17:55", 2 * time.Hour, "2026-10-10 10:55"},
		{"adjusted working sunday", f.nationalDay, "2026-09-18 17:55", 2 * time.Hour, "2026-09-20 10:55"},
		{"golden week skipped", f.nationalDay, "2026-09-30 17:55", 2 * time.Hour, "2026-10-08 10:55"},
		{"start while closed", f.office, "2026-03-07 12:00", time.Hour, "2026-03-09 10:00"},
		{"lands on closing time", f.office, "2026-03-09 17:00", time.Hour, "2026-03-09 18:00"},
		{"zero while closed stays put", f.office, "2026-03-07 12:00", 0, "2026-03-07 12:00"},
		{"one second", f.office, "2026-03-09 09:00", time.Second, "2026-03-09 09:00:01"},
		{"sub-second carries over night", f.office, "2026-03-09 17:59:59.5", time.Second, "2026-03-10 09:00:00.5"},
		{"a full week", f.office, "2026-03-09 09:00", 45 * time.Hour, "2026-03-13 18:00"},
		{"thirty business days", f.office, "2026-03-02 09:00", 30 * 9 * time.Hour, "2026-04-10 18:00"},
		{"lunch break skipped", f.lunch, "2026-03-09 11:00", 2 * time.Hour, "2026-03-09 14:30"},
		{"start in lunch break", f.lunch, "2026-03-09 12:15", 30 * time.Minute, "2026-03-09 14:00"},
		{"24x7 across midnight", f.always, "2026-03-09 23:30", time.Hour, "2026-03-10 00:30"},
		{"night shift across midnight", f.night, "2026-03-09 23:00", 2 * time.Hour, "2026-03-10 01:00"},
		{"night shift seconds at midnight", f.night, "2026-03-09 23:59:59", 2 * time.Second, "2026-03-10 00:00:01"},
		{"night shift to next evening", f.night, "2026-03-10 05:00", 2 * time.Hour, "2026-03-10 21:00"},
		{"urumqi office", f.urumqi, "2026-03-06 17:55", 2 * time.Hour, "2026-03-09 10:55"},
		{"new york office across spring DST", f.nyOffice, "2026-03-06 17:00", 2 * time.Hour, "2026-03-09 10:00"},
		{"new york 24x7 spring day has 23h", f.nyAlways, "2026-03-07 12:00", 24 * time.Hour, "2026-03-08 13:00"},
		{"new york 24x7 autumn day has 25h", f.nyAlways, "2026-10-31 12:00", 24 * time.Hour, "2026-11-01 11:00"},
		{"new york spring night has 9h", f.nyNight, "2026-03-07 20:00", 9 * time.Hour, "2026-03-08 06:00"},
		{"new york autumn night has 11h", f.nyNight, "2026-10-31 20:00", 11 * time.Hour, "2026-11-01 06:00"},
		{"new york gap keeps existing wall times", f.nyGap, "2026-03-08 00:00", 30 * time.Minute, "2026-03-08 03:30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := at(t, tt.cal, tt.start)
			got, err := tt.cal.Add(start.UTC(), tt.d)
			if err != nil {
				t.Fatal(err)
			}
			if want := at(t, tt.cal, tt.want); !got.Equal(want) {
				t.Errorf("Add(%s, %s) = %s, want %s", start, tt.d, got, want)
			}
			if got.Location() != tt.cal.Location() {
				t.Errorf("Add returned location %s, want %s", got.Location(), tt.cal.Location())
			}
			if b := tt.cal.Between(start, got); b != tt.d {
				t.Errorf("Between(start, Add(start, %s)) = %s", tt.d, b)
			}
		})
	}
}

func TestAddErrors(t *testing.T) {
	f := newFixtures(t)
	if _, err := f.office.Add(at(t, f.office, "2026-03-09 10:00"), -time.Second); err == nil {
		t.Error("Add with a negative duration: want an error")
	}

	// Open on Mondays only, and every Monday for four years is a holiday.
	var holidays []Date
	for d := date(t, "2026-01-05"); d.Year < 2030; d = d.AddDays(7) {
		holidays = append(holidays, d)
	}
	closed := mustNew(t, Spec{Weekly: map[time.Weekday][]Interval{time.Monday: {iv(t, "09:00-18:00")}}, Holidays: holidays})
	start := at(t, closed, "2026-01-01 00:00")
	if _, err := closed.Add(start, time.Hour); err == nil {
		t.Error("Add on a calendar closed for four years: want an error")
	}
	if got := closed.NextOpen(start); !got.IsZero() {
		t.Errorf("NextOpen on a calendar closed for four years = %s, want zero", got)
	}
	// Between has an end, so it needs no horizon: the 52 Mondays of 2030 count.
	if got := closed.Between(start, at(t, closed, "2031-01-01 00:00")); got != 52*9*time.Hour {
		t.Errorf("Between over the closed years and 2030 = %s, want 468h", got)
	}
}

func TestBetween(t *testing.T) {
	f := newFixtures(t)
	tests := []struct {
		name string
		cal  *Calendar
		a, b string
		want time.Duration
	}{
		{"across a weekend", f.office, "2026-03-06 17:00", "2026-03-09 10:00", 2 * time.Hour},
		{"across a weekend and a holiday", f.qingming, "2026-04-03 17:00", "2026-04-07 10:00", 2 * time.Hour},
		{"golden week", f.nationalDay, "2026-09-30 09:00", "2026-10-08 18:00", 18 * time.Hour},
		{"adjusted working days count", f.nationalDay, "2026-09-19 00:00", "2026-10-11 00:00", 12 * 9 * time.Hour},
		{"within one interval", f.office, "2026-03-09 10:00", "2026-03-09 10:00:01", time.Second},
		{"closed span", f.office, "2026-03-07 00:00", "2026-03-09 09:00", 0},
		{"empty", f.office, "2026-03-09 10:00", "2026-03-09 10:00", 0},
		{"reversed", f.office, "2026-03-09 12:00", "2026-03-09 10:00", 0},
		{"lunch break", f.lunch, "2026-03-09 08:00", "2026-03-09 20:00", 7*time.Hour + 30*time.Minute},
		{"night shift across midnight", f.night, "2026-03-09 22:00", "2026-03-10 02:00", 4 * time.Hour},
		{"24x7 day", f.always, "2026-03-09 00:00", "2026-03-10 00:00", 24 * time.Hour},
		{"new york 24x7 spring day", f.nyAlways, "2026-03-08 00:00", "2026-03-09 00:00", 23 * time.Hour},
		{"new york 24x7 autumn day", f.nyAlways, "2026-11-01 00:00", "2026-11-02 00:00", 25 * time.Hour},
		{"new york nights around spring DST", f.nyNight, "2026-03-07 00:00", "2026-03-09 00:00", 6*time.Hour + 4*time.Hour + 5*time.Hour + 4*time.Hour},
		{"new york office DST week", f.nyOffice, "2026-03-06 00:00", "2026-03-10 00:00", 2 * 9 * time.Hour},
		{"new york gap: only 03:00-03:30 exists", f.nyGap, "2026-03-08 00:00", "2026-03-09 00:00", 30 * time.Minute},
		{"new york ordinary sunday", f.nyGap, "2026-03-15 00:00", "2026-03-16 00:00", time.Hour},
		{"new york fold: both 01:00s open", f.nyFold, "2026-11-01 00:00", "2026-11-02 00:00", 2 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := at(t, tt.cal, tt.a), at(t, tt.cal, tt.b)
			if got := tt.cal.Between(a, b); got != tt.want {
				t.Errorf("Between(%s, %s) = %s, want %s", a, b, got, tt.want)
			}
		})
	}
}

func TestIsOpen(t *testing.T) {
	f := newFixtures(t)
	tests := []struct {
		cal  *Calendar
		t    string
		want bool
	}{
		{f.office, "2026-03-09 08:59:59", false},
		{f.office, "2026-03-09 09:00", true}, // start inclusive
		{f.office, "2026-03-09 17:59:59.999999999", true},
		{f.office, "2026-03-09 18:00", false},      // end exclusive
		{f.office, "2026-03-07 10:00", false},      // Saturday
		{f.qingming, "2026-04-06 10:00", false},    // holiday on a Monday
		{f.nationalDay, "2026-10-10 10:00", true},  // adjusted working Saturday
		{f.nationalDay, "2026-10-10 18:00", false}, // with Monday's hours
		{f.nationalDay, "2026-10-01 10:00", false},
		{f.lunch, "2026-03-09 11:59:59", true},
		{f.lunch, "2026-03-09 12:00", false},
		{f.lunch, "2026-03-09 13:30", true},
		{f.night, "2026-03-09 19:59:59", false},
		{f.night, "2026-03-09 20:00", true},
		{f.night, "2026-03-09 23:59:59", true},
		{f.night, "2026-03-10 00:00", true}, // midnight is inside the night
		{f.night, "2026-03-10 05:59:59", true},
		{f.night, "2026-03-10 06:00", false},
		{f.always, "2026-03-08 00:00", true},
		{f.nyGap, "2026-03-08 01:45", false}, // naive time.Date would open at 01:30 EST
		{f.nyGap, "2026-03-08 03:00", true},
		{f.nyGap, "2026-03-08 03:30", false},
	}
	for _, tt := range tests {
		at := at(t, tt.cal, tt.t)
		if got := tt.cal.IsOpen(at); got != tt.want {
			t.Errorf("%s: IsOpen(%s) = %v, want %v", tt.cal.Spec().TimeZone, at, got, tt.want)
		}
	}
}

func TestNextOpen(t *testing.T) {
	f := newFixtures(t)
	tests := []struct {
		name    string
		cal     *Calendar
		t, want string
	}{
		{"open returns t", f.office, "2026-03-09 10:00:01", "2026-03-09 10:00:01"},
		{"saturday", f.office, "2026-03-07 12:00", "2026-03-09 09:00"},
		{"at closing", f.office, "2026-03-09 18:00", "2026-03-10 09:00"},
		{"before holiday", f.qingming, "2026-04-03 18:00", "2026-04-07 09:00"},
		{"adjusted working sunday", f.nationalDay, "2026-09-19 09:00", "2026-09-20 09:00"},
		{"lunch", f.lunch, "2026-03-09 12:00", "2026-03-09 13:30"},
		{"night", f.night, "2026-03-09 06:00", "2026-03-09 20:00"},
		{"new york gap", f.nyGap, "2026-03-08 00:00", "2026-03-08 03:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cal.NextOpen(at(t, tt.cal, tt.t).UTC())
			if want := at(t, tt.cal, tt.want); !got.Equal(want) || got.Location() != tt.cal.Location() {
				t.Errorf("NextOpen(%s) = %s, want %s", tt.t, got, want)
			}
		})
	}
}

// The same instant is 09:30 in Shanghai but 07:30 in Urumqi.
func TestTimeZones(t *testing.T) {
	f := newFixtures(t)
	instant := time.Date(2026, 3, 9, 1, 30, 0, 0, time.UTC) // a Monday
	end := time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		cal      *Calendar
		open     bool
		nextOpen time.Time
		plusHour time.Time
		between  time.Duration
	}{
		{f.office, true, instant, time.Date(2026, 3, 9, 2, 30, 0, 0, time.UTC), 8*time.Hour + 30*time.Minute},
		{f.urumqi, false, time.Date(2026, 3, 9, 3, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 4, 0, 0, 0, time.UTC), 9 * time.Hour},
	}
	for _, tt := range tests {
		name := tt.cal.Location().String()
		if got := tt.cal.IsOpen(instant); got != tt.open {
			t.Errorf("%s: IsOpen = %v, want %v", name, got, tt.open)
		}
		if got := tt.cal.NextOpen(instant); !got.Equal(tt.nextOpen) {
			t.Errorf("%s: NextOpen = %s, want %s", name, got, tt.nextOpen)
		}
		if got, _ := tt.cal.Add(instant, time.Hour); !got.Equal(tt.plusHour) {
			t.Errorf("%s: Add 1h = %s, want %s", name, got, tt.plusHour)
		}
		if got := tt.cal.Between(instant, end); got != tt.between {
			t.Errorf("%s: Between = %s, want %s", name, got, tt.between)
		}
	}
}

func TestNewValidation(t *testing.T) {
	nine := Interval{9 * time.Hour, 18 * time.Hour}
	monday := func(ivs ...Interval) map[time.Weekday][]Interval {
		return map[time.Weekday][]Interval{time.Monday: ivs}
	}
	oct1 := Date{2026, time.October, 1}
	tests := []struct {
		name  string
		spec  Spec
		field string
		want  string
	}{
		{"unknown zone", Spec{TimeZone: "Mars/Base", Weekly: monday(nine)},
			"time_zone", `time_zone: unknown time zone "Mars/Base"`},
		{"machine-local zone", Spec{TimeZone: "Local", Weekly: monday(nine)},
			"time_zone", `time_zone: unknown time zone "Local"`},
		{"no opening time", Spec{Weekly: map[time.Weekday][]Interval{time.Monday: nil}},
			"weekly", "weekly: no opening hours on any weekday"},
		{"overlap", Spec{Weekly: monday(Interval{9 * time.Hour, 12 * time.Hour}, Interval{11 * time.Hour, 13 * time.Hour})},
			"weekly[monday][1]", "weekly[monday][1]: intervals overlap: 09:00-12:00 and 11:00-13:00"},
		{"overlap unsorted", Spec{Weekly: monday(Interval{11 * time.Hour, 13 * time.Hour}, Interval{9 * time.Hour, 12 * time.Hour})},
			"weekly[monday][0]", "weekly[monday][0]: intervals overlap: 09:00-12:00 and 11:00-13:00"},
		{"start after end", Spec{Weekly: map[time.Weekday][]Interval{time.Tuesday: {{18 * time.Hour, 9 * time.Hour}}}},
			"weekly[tuesday][0]", "weekly[tuesday][0]: start 18:00 not before end 09:00"},
		{"end after midnight", Spec{Weekly: map[time.Weekday][]Interval{time.Friday: {nine, {20 * time.Hour, 25 * time.Hour}}}},
			"weekly[friday][1]", "weekly[friday][1]: end 25h0m0s out of range 00:00-24:00"},
		{"sub-second", Spec{Weekly: monday(Interval{9*time.Hour + time.Millisecond, 18 * time.Hour})},
			"weekly[monday][0]", "weekly[monday][0]: 9h0m0.001s-18:00: not whole seconds"},
		{"unknown weekday", Spec{Weekly: map[time.Weekday][]Interval{time.Monday: {nine}, 7: {nine}}},
			"weekly[7]", "weekly[7]: unknown weekday"},
		{"invalid holiday", Spec{Weekly: monday(nine), Holidays: []Date{oct1, {2026, time.October, 2}, {2026, time.February, 30}}},
			"holidays[2]", "holidays[2]: invalid date 2026-2-30"},
		{"duplicate holiday", Spec{Weekly: monday(nine), Holidays: []Date{oct1, oct1}},
			"holidays[1]", "holidays[1]: duplicate date 2026-10-01"},
		{"holiday and working day", Spec{Weekly: monday(nine), Holidays: []Date{oct1}, WorkingDays: []AdjustedDay{{oct1, time.Monday}}},
			"working_days[0].date", "working_days[0].date: 2026-10-01 is also listed as a holiday"},
		{"duplicate working day", Spec{Weekly: monday(nine), WorkingDays: []AdjustedDay{{oct1, time.Monday}, {oct1, time.Monday}}},
			"working_days[1].date", "working_days[1].date: duplicate date 2026-10-01"},
		{"invalid working day", Spec{Weekly: monday(nine), WorkingDays: []AdjustedDay{{Date{}, time.Monday}}},
			"working_days[0].date", "working_days[0].date: invalid date 0-0-0"},
		{"working day without hours", Spec{Weekly: monday(nine), WorkingDays: []AdjustedDay{{oct1, time.Sunday}}},
			"working_days[0].hours_of", "working_days[0].hours_of: sunday has no opening hours"},
		{"working day unknown weekday", Spec{Weekly: monday(nine), WorkingDays: []AdjustedDay{{oct1, 9}}},
			"working_days[0].hours_of", "working_days[0].hours_of: unknown weekday 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.spec)
			if err == nil {
				t.Fatalf("New: want error %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("New: error %q, want %q", err, tt.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Errorf("New: error %#v, want a *FieldError for %s", err, tt.field)
			}
		})
	}
}

func TestNewDefaultsAndSpec(t *testing.T) {
	weekly := weekdays(Interval{9 * time.Hour, 12 * time.Hour}, Interval{12 * time.Hour, 18 * time.Hour})
	c := mustNew(t, Spec{Weekly: weekly})
	if got := c.Location().String(); got != "Asia/Shanghai" {
		t.Errorf("default zone %s, want Asia/Shanghai", got)
	}
	// Touching intervals are one period: nothing closes at noon.
	if got := c.Between(at(t, c, "2026-03-09 11:00"), at(t, c, "2026-03-09 13:00")); got != 2*time.Hour {
		t.Errorf("Between over touching intervals = %s", got)
	}
	// The calendar keeps its own copy of the spec.
	weekly[time.Monday][0].End = 10 * time.Hour
	spec := c.Spec()
	if spec.TimeZone != "Asia/Shanghai" || spec.Weekly[time.Monday][0].End != 12*time.Hour {
		t.Errorf("Spec() = %+v, want the spec as given with the zone filled in", spec)
	}
	spec.Weekly[time.Monday] = nil
	if !c.IsOpen(at(t, c, "2026-03-09 10:00")) || c.Spec().Weekly[time.Monday] == nil {
		t.Error("changing the returned Spec changed the calendar")
	}
}

func TestSpecJSON(t *testing.T) {
	f := newFixtures(t)
	b, err := json.Marshal(f.nationalDay.Spec())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"time_zone":"Asia/Shanghai"`, `"09:00-18:00"`, `"2026-10-01"`, `{"date":"2026-10-10","hours_of":1}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
	var spec Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	c := mustNew(t, spec)
	if !c.IsOpen(at(t, c, "2026-10-10 10:00")) || c.IsOpen(at(t, c, "2026-10-01 10:00")) {
		t.Error("calendar from JSON lost its holidays or working days")
	}
	if err := json.Unmarshal([]byte(`{"weekly":{"1":["18:00-09:00"]}}`), &spec); err == nil {
		t.Error("JSON with a reversed interval: want an error")
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in      string
		want    Date
		wantErr bool
	}{
		{"2026-10-01", Date{2026, time.October, 1}, false},
		{"2028-02-29", Date{2028, time.February, 29}, false},
		{"2026-02-29", Date{}, true},
		{"2026-13-01", Date{}, true},
		{"2026-1-01", Date{}, true},
		{"01/10/2026", Date{}, true},
		{"", Date{}, true},
	}
	for _, tt := range tests {
		got, err := ParseDate(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseDate(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("ParseDate(%q).String() = %q", tt.in, got)
		}
	}
	if got := DateOf(time.Date(2026, 9, 30, 20, 0, 0, 0, time.UTC).In(loc(t, "Asia/Shanghai"))); got != (Date{2026, time.October, 1}) {
		t.Errorf("DateOf in Shanghai = %s, want 2026-10-01", got)
	}
}

func TestParseInterval(t *testing.T) {
	tests := []struct {
		in      string
		want    Interval
		wantErr bool
	}{
		{"09:00-18:00", Interval{9 * time.Hour, 18 * time.Hour}, false},
		{"00:00-24:00", Interval{0, 24 * time.Hour}, false},
		{"09:00:30-12:00", Interval{9*time.Hour + 30*time.Second, 12 * time.Hour}, false},
		{"20:00-24:00:00", Interval{20 * time.Hour, 24 * time.Hour}, false},
		{"18:00-09:00", Interval{}, true},
		{"09:00-09:00", Interval{}, true},
		{"9:00-18:00", Interval{}, true},
		{"09:00", Interval{}, true},
		{"09:60-10:00", Interval{}, true},
		{"24:00-24:00", Interval{}, true},
		{"00:00-24:01", Interval{}, true},
		{"-09:00-10:00", Interval{}, true},
	}
	for _, tt := range tests {
		got, err := ParseInterval(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseInterval(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	for _, s := range []string{"09:00-18:00", "00:00-24:00", "09:00:30-12:00"} {
		if got := iv(t, s).String(); got != s {
			t.Errorf("ParseInterval(%q).String() = %q", s, got)
		}
	}
}

// openAt is an independent reference for IsOpen: it reads the wall clock
// instead of building instants. It is exact except in a repeated DST hour,
// which the fixtures it checks avoid.
func openAt(spec Spec, l *time.Location, t time.Time) bool {
	lt := t.In(l)
	d := DateOf(lt)
	wd := d.Weekday()
	for _, h := range spec.Holidays {
		if h == d {
			return false
		}
	}
	for _, a := range spec.WorkingDays {
		if a.Date == d {
			wd = a.HoursOf
		}
	}
	off := time.Duration(lt.Hour())*time.Hour + time.Duration(lt.Minute())*time.Minute +
		time.Duration(lt.Second())*time.Second + time.Duration(lt.Nanosecond())
	for _, iv := range spec.Weekly[wd] {
		if iv.Start <= off && off < iv.End {
			return true
		}
	}
	return false
}

// TestProperties checks Add and Between against each other and IsOpen
// against the wall-clock reference, from many random starts.
func TestProperties(t *testing.T) {
	f := newFixtures(t)
	cals := map[string]*Calendar{
		"office": f.office, "qingming": f.qingming, "nationalDay": f.nationalDay, "lunch": f.lunch,
		"always": f.always, "night": f.night, "urumqi": f.urumqi, "nyOffice": f.nyOffice,
		"nyAlways": f.nyAlways, "nyNight": f.nyNight, "nyGap": f.nyGap, "nyFold": f.nyFold,
	}
	rng := rand.New(rand.NewPCG(2026, 10))
	base := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	for name, c := range cals {
		t.Run(name, func(t *testing.T) {
			spec := c.Spec()
			for i := 0; i < 2000; i++ {
				start := base.Add(time.Duration(rng.Int64N(int64(400 * day))))
				if i%2 == 0 {
					start = start.Truncate(time.Minute) // hit interval edges too
				}
				var d time.Duration
				switch i % 3 {
				case 0:
					d = time.Duration(rng.Int64N(int64(30 * day))).Truncate(time.Second)
				case 1:
					d = time.Duration(rng.Int64N(int64(3 * time.Hour)))
				}
				end, err := c.Add(start, d)
				if err != nil {
					t.Fatalf("Add(%s, %s): %v", start, d, err)
				}
				if end.Before(start) || end.Location() != c.Location() {
					t.Fatalf("Add(%s, %s) = %s: before start or in the wrong zone", start, d, end)
				}
				if got := c.Between(start, end); got != d {
					t.Fatalf("Between(%s, Add(%s, %s) = %s) = %s", start, start, d, end, got)
				}
				if d > 0 && !c.IsOpen(end) && !c.IsOpen(end.Add(-time.Nanosecond)) {
					t.Fatalf("Add(%s, %s) = %s: neither open nor a closing time", start, d, end)
				}
				mid := time.Duration(rng.Int64N(int64(d) + 1))
				step, _ := c.Add(start, mid)
				if again, _ := c.Add(step, d-mid); !again.Equal(end) {
					t.Fatalf("Add(Add(%s, %s), %s) = %s, want %s", start, mid, d-mid, again, end)
				}
				if got := c.Between(start, step) + c.Between(step, end); got != d {
					t.Fatalf("Between split at %s = %s, want %s", step, got, d)
				}
				if open := c.NextOpen(start); !c.IsOpen(open) || c.Between(start, open) != 0 {
					t.Fatalf("NextOpen(%s) = %s: closed, or open time skipped", start, open)
				}
				if name != "nyFold" && c.IsOpen(start) != openAt(spec, c.Location(), start) {
					t.Fatalf("IsOpen(%s) = %v, reference disagrees", start.In(c.Location()), c.IsOpen(start))
				}
			}
			// Between against minute-by-minute counting by the reference.
			if name == "nyFold" {
				return
			}
			for i := 0; i < 20; i++ {
				a := base.Add(time.Duration(rng.Int64N(int64(400 * day)))).Truncate(time.Minute)
				b := a.Add(time.Duration(rng.Int64N(3*24*60)) * time.Minute)
				var want time.Duration
				for m := a; m.Before(b); m = m.Add(time.Minute) {
					if openAt(spec, c.Location(), m) {
						want += time.Minute
					}
				}
				if got := c.Between(a, b); got != want {
					t.Fatalf("Between(%s, %s) = %s, minute count %s", a, b, got, want)
				}
			}
		})
	}
}

func BenchmarkAdd(b *testing.B) {
	f := newFixtures(b)
	start := at(b, f.nationalDay, "2026-09-15 17:55")
	for b.Loop() {
		// 30 business days across the golden week: about 44 calendar days.
		if _, err := f.nationalDay.Add(start, 30*9*time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBetween(b *testing.B) {
	f := newFixtures(b)
	start := at(b, f.nationalDay, "2026-09-15 17:55")
	end := start.AddDate(0, 0, 44)
	for b.Loop() {
		f.nationalDay.Between(start, end)
	}
}

func TestZone(t *testing.T) {
	at := time.Date(2026, 11, 22, 18, 30, 0, 0, time.UTC)
	for name, want := range map[string]string{
		"":              "2026-11-23 02:30 CST",
		"Asia/Shanghai": "2026-11-23 02:30 CST",
		"Asia/Urumqi":   "2026-11-23 00:30 +06",
		"UTC":           "2026-11-22 18:30 UTC",
		"Local":         "2026-11-23 02:30 CST", // never the machine's zone
		"Mars/Olympus":  "2026-11-23 02:30 CST",
	} {
		if got := at.In(Zone(name)).Format("2006-01-02 15:04 MST"); got != want {
			t.Errorf("Zone(%q): %s, want %s", name, got, want)
		}
	}
}

// TestZoneKept: a zone is loaded once and then shared; "Local" and unknown
// names still fall back to China Standard Time, and are not kept.
func TestZoneKept(t *testing.T) {
	a, b := Zone("Asia/Urumqi"), Zone("Asia/Urumqi")
	if a != b {
		t.Errorf("Zone loaded Asia/Urumqi twice: %p, %p", a, b)
	}
	if _, off := time.Date(2026, 12, 7, 0, 0, 0, 0, a).Zone(); off != 6*3600 {
		t.Errorf("Asia/Urumqi offset %d", off)
	}
	for _, name := range []string{"Local", "Nowhere/Zone"} {
		if _, off := time.Date(2026, 12, 7, 0, 0, 0, 0, Zone(name)).Zone(); off != 8*3600 {
			t.Errorf("Zone(%q) offset %d, want the UTC+8 fallback", name, off)
		}
		if _, kept := zones.Load(name); kept {
			t.Errorf("Zone(%q) was kept", name)
		}
	}
}

// BenchmarkZone: a recipient's zone from the kept locations against
// loading it each time (what Audience.SendTime did per recipient).
// go test ./calendar/ -run '^$' -bench Zone
func BenchmarkZone(b *testing.B) {
	names := []string{"Asia/Shanghai", "Asia/Urumqi", "Pacific/Kiritimati", "Europe/Berlin"}
	b.Run("kept", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			_ = Zone(names[i%len(names)])
		}
	})
	b.Run("load", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := time.LoadLocation(names[i%len(names)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
