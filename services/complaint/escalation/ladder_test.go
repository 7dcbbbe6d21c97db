package escalation

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/calendar"
	"github.com/dealercare/dealercare/pkg/events"
)

// Calendars of the tests, in the dealers' default zone.

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

func officeHours(t *testing.T, holidays []string, working []string) *calendar.Calendar {
	t.Helper()
	nine2six := calendar.Interval{Start: 9 * time.Hour, End: 18 * time.Hour}
	spec := calendar.Spec{TimeZone: "Asia/Shanghai", Weekly: map[time.Weekday][]calendar.Interval{}}
	for wd := time.Monday; wd <= time.Friday; wd++ {
		spec.Weekly[wd] = []calendar.Interval{nine2six}
	}
	for _, h := range holidays {
		d, err := calendar.ParseDate(h)
		if err != nil {
			t.Fatal(err)
		}
		spec.Holidays = append(spec.Holidays, d)
	}
	for _, w := range working {
		d, err := calendar.ParseDate(w)
		if err != nil {
			t.Fatal(err)
		}
		spec.WorkingDays = append(spec.WorkingDays, calendar.AdjustedDay{Date: d, HoursOf: time.Monday})
	}
	c, err := calendar.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// at reads "2026-03-06 17:55[:05]" in Asia/Shanghai.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	layout := "2006-01-02 15:04"
	if strings.Count(s, ":") == 2 {
		layout += ":05"
	}
	v, err := time.ParseInLocation(layout, s, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// nationalDay2026 is China's 2026 National Day holiday; Saturday 10
// October is worked in exchange (调休).
var nationalDay2026 = []string{"2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07"}

// fired is one threshold reached in a simulation.
type fired struct {
	key   string
	level int
	at    time.Time
}

func (f fired) String() string {
	return fmt.Sprintf("%s L%d at %s", f.key, f.level, f.at.In(shanghai).Format("Mon 2006-01-02 15:04:05"))
}

// change happens to the complaint at a moment: a new state, new targets
// (a severity change), or both.
type change struct {
	at      time.Time
	state   string
	targets *Targets
}

// simulate runs the clocks as the escalation workflow does: it fires every
// threshold at the instant Due gives, in order, applies the changes at
// their moments, and stops at until.
func simulate(t *testing.T, cal *calendar.Calendar, filed time.Time, targets Targets, changes []change, until time.Time) ([]fired, Clock) {
	t.Helper()
	c := Start(filed, events.ComplaintNew)
	level := 0
	var keys []string
	var out []fired
	catchUp := func(to time.Time) {
		for {
			th, ok := NextThreshold(c, targets, keys)
			if !ok {
				break
			}
			due, err := Due(cal, c.Since, th.Remaining)
			if err != nil {
				t.Fatal(err)
			}
			if due.After(to) {
				break
			}
			c = Advance(c, cal, due)
			if th.Kind == KindBreached {
				level = Raise(level, th.Level)
			}
			keys = append(keys, th.Key)
			out = append(out, fired{th.Key, level, due})
		}
		c = Advance(c, cal, to)
	}
	for _, ch := range changes {
		catchUp(ch.at)
		if ch.state != "" {
			var ok bool
			if c, ok = SetState(c, ch.state); !ok {
				t.Fatalf("unknown state %q", ch.state)
			}
		}
		if ch.targets != nil {
			targets = *ch.targets
		}
	}
	catchUp(until)
	return out, c
}

// sameFired compares instants with Equal: Due returns them in the
// calendar's zone.
func sameFired(a, b []fired) bool {
	return slices.EqualFunc(a, b, func(x, y fired) bool { return x.key == y.key && x.level == y.level && x.at.Equal(y.at) })
}

func find(fs []fired, key string) (fired, bool) {
	i := slices.IndexFunc(fs, func(f fired) bool { return f.key == key })
	if i < 0 {
		return fired{}, false
	}
	return fs[i], true
}

func TestBreachInBusinessTime(t *testing.T) {
	twoHours := Targets{Response: 2 * time.Hour, Resolution: 24 * time.Hour}
	for _, tt := range []struct {
		name       string
		cal        *calendar.Calendar
		filed      string
		targets    Targets
		key        string
		want, warn string
	}{
		{
			name: "filed Friday 17:55, breached Monday 10:55", cal: officeHours(t, nil, nil),
			filed: "2026-03-06 17:55", targets: twoHours, key: "response",
			warn: "2026-03-09 10:31", // 96 minutes: 5 on Friday, 91 on Monday
			want: "2026-03-09 10:55",
		},
		{
			name: "over the National Day holiday", cal: officeHours(t, nationalDay2026, []string{"2026-10-10"}),
			filed: "2026-09-30 17:55", targets: twoHours, key: "response",
			warn: "2026-10-08 10:31", want: "2026-10-08 10:55",
		},
		{
			name: "on an adjusted working Saturday", cal: officeHours(t, nationalDay2026, []string{"2026-10-10"}),
			filed: "2026-10-09 17:55", targets: twoHours, key: "response",
			warn: "2026-10-10 10:31", want: "2026-10-10 10:55",
		},
		{
			name: "filed on a Sunday counts from Monday's opening", cal: officeHours(t, nil, nil),
			filed: "2026-03-08 11:00", targets: twoHours, key: "response",
			warn: "2026-03-09 10:36", want: "2026-03-09 11:00",
		},
		{
			name: "resolution over a weekend", cal: officeHours(t, nil, nil),
			filed: "2026-03-06 17:00", targets: Targets{Response: time.Hour, Resolution: 9 * time.Hour}, key: "resolution/1",
			warn: "2026-03-09 15:12", // 7h12m: 1h Friday, 6h12m Monday
			want: "2026-03-09 17:00",
		},
		{
			name: "24x7 with targets in seconds", cal: calendar.AlwaysOpen(shanghai),
			filed: "2026-03-06 17:55", targets: Targets{Response: 10 * time.Second, Resolution: 20 * time.Second}, key: "response",
			warn: "2026-03-06 17:55:08", want: "2026-03-06 17:55:10",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs, _ := simulate(t, tt.cal, at(t, tt.filed), tt.targets, nil, at(t, tt.want).Add(time.Minute))
			w, ok := find(fs, tt.key+"/warned")
			if !ok || !w.at.Equal(at(t, tt.warn)) {
				t.Errorf("warning = %v (found %v), want at %s; all: %v", w, ok, tt.warn, fs)
			}
			b, ok := find(fs, tt.key+"/breached")
			if !ok || !b.at.Equal(at(t, tt.want)) {
				t.Errorf("breach = %v (found %v), want at %s; all: %v", b, ok, tt.want, fs)
			}
			if b.at.Location().String() != "Asia/Shanghai" {
				t.Errorf("due in %v, want the calendar's zone", b.at.Location())
			}
		})
	}
}

func TestLadder24x7(t *testing.T) {
	cal := calendar.AlwaysOpen(time.UTC)
	t0 := time.Date(2026, 3, 6, 9, 0, 0, 0, time.UTC)
	sec := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Second))) }
	targets := Targets{Response: 10 * time.Second, Resolution: 20 * time.Second}
	want := []fired{
		{"response/warned", 0, sec(8)},
		{"response/breached", 1, sec(10)},
		{"resolution/1/warned", 1, sec(16)},
		{"resolution/1/breached", 2, sec(20)},
		{"resolution/2/warned", 2, sec(32)},
		{"resolution/2/breached", 3, sec(40)},
		{"resolution/3/warned", 3, sec(48)},
		{"resolution/3/breached", 4, sec(60)},
	}
	for _, tt := range []struct {
		name    string
		changes []change
		want    []fired
	}{
		{"untouched: the whole ladder to L4", nil, want},
		{
			"acknowledged in time: no response breach, resolution goes on",
			[]change{{at: sec(9), state: events.ComplaintAcknowledged}},
			[]fired{want[0], {"resolution/1/warned", 0, sec(16)}, {"resolution/1/breached", 2, sec(20)}, want[4], want[5], want[6], want[7]},
		},
		{
			"acknowledged late: the breach stays",
			[]change{{at: sec(12), state: events.ComplaintAcknowledged}},
			want,
		},
		{
			"pending customer holds the resolution clock for 100s",
			[]change{
				{at: sec(5), state: events.ComplaintAcknowledged},
				{at: sec(15), state: events.ComplaintPendingCustomer},
				{at: sec(115), state: events.ComplaintInProgress},
			},
			[]fired{
				{"resolution/1/warned", 0, sec(116)},
				{"resolution/1/breached", 2, sec(120)},
				{"resolution/2/warned", 2, sec(132)},
				{"resolution/2/breached", 3, sec(140)},
				{"resolution/3/warned", 3, sec(148)},
				{"resolution/3/breached", 4, sec(160)},
			},
		},
		{
			"resolved stops both clocks",
			[]change{{at: sec(5), state: events.ComplaintAcknowledged}, {at: sec(18), state: events.ComplaintResolved}},
			[]fired{{"resolution/1/warned", 0, sec(16)}},
		},
		{
			"reopened runs the resolution clock again, not the response clock",
			[]change{
				{at: sec(5), state: events.ComplaintAcknowledged},
				{at: sec(15), state: events.ComplaintResolved},
				{at: sec(100), state: events.ComplaintReopened},
			},
			[]fired{
				{"resolution/1/warned", 0, sec(101)},
				{"resolution/1/breached", 2, sec(105)},
				{"resolution/2/warned", 2, sec(117)},
				{"resolution/2/breached", 3, sec(125)},
				{"resolution/3/warned", 3, sec(133)},
				{"resolution/3/breached", 4, sec(145)},
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := simulate(t, cal, t0, targets, tt.changes, sec(1000))
			if !sameFired(got, tt.want) {
				t.Errorf("fired\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

func TestPauseHoldsTheClock(t *testing.T) {
	cal := officeHours(t, nil, nil)
	filed := at(t, "2026-03-09 09:00") // Monday
	c := Start(filed, events.ComplaintNew)
	c = Advance(c, cal, at(t, "2026-03-09 10:00"))
	c, _ = SetState(c, events.ComplaintAcknowledged)
	c = Advance(c, cal, at(t, "2026-03-09 11:00"))
	c, _ = SetState(c, events.ComplaintPendingCustomer)
	paused := Advance(c, cal, at(t, "2026-03-13 17:00")) // a week waiting for the customer
	if paused.ResolutionElapsed != 2*time.Hour || paused.ResponseElapsed != time.Hour {
		t.Errorf("after the pause %+v, want resolution 2h, response 1h", paused)
	}
	targets := Targets{Response: 2 * time.Hour, Resolution: 8 * time.Hour}
	if th, ok := NextThreshold(paused, targets, nil); ok {
		t.Errorf("paused clock has a next threshold %+v", th)
	}
	resumed, _ := SetState(paused, events.ComplaintInProgress)
	th, ok := NextThreshold(resumed, targets, nil)
	if !ok || th.Key != "resolution/1/warned" || th.Remaining != 8*time.Hour*8/10-2*time.Hour {
		t.Fatalf("after resuming: %+v %v", th, ok)
	}
	due, err := Due(cal, resumed.Since, th.Remaining)
	if err != nil {
		t.Fatal(err)
	}
	// Friday 17:00 + 4h24m: one hour on Friday, 3h24m on Monday.
	if want := at(t, "2026-03-16 12:24"); !due.Equal(want) {
		t.Errorf("due %s, want %s", due, want)
	}
}

func TestSeverityChangeRecomputes(t *testing.T) {
	cal := officeHours(t, nil, nil)
	filed := at(t, "2026-03-09 09:00")
	low := Targets{Response: 4 * time.Hour, Resolution: 40 * time.Hour}
	critical := Targets{Response: time.Hour, Resolution: 4 * time.Hour}
	for _, tt := range []struct {
		name    string
		changes []change
		want    []fired
	}{
		{
			"raised to critical at 10:30: the response breach is due at once, its warning skipped",
			[]change{{at: at(t, "2026-03-09 10:30"), targets: &critical}},
			[]fired{
				{"response/breached", 1, at(t, "2026-03-09 10:30")},
				{"resolution/1/warned", 1, at(t, "2026-03-09 12:12")},
				{"resolution/1/breached", 2, at(t, "2026-03-09 13:00")},
			},
		},
		{
			"lowered after the warning: the breach moves later, no second warning",
			[]change{{at: at(t, "2026-03-09 10:40"), targets: &low}},
			[]fired{
				{"response/warned", 0, at(t, "2026-03-09 10:36")},
				{"response/breached", 1, at(t, "2026-03-09 13:00")},
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := simulate(t, cal, filed, Targets{Response: 2 * time.Hour, Resolution: 16 * time.Hour}, tt.changes, at(t, "2026-03-09 13:00"))
			if !sameFired(got, tt.want) {
				t.Errorf("fired\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

func TestNextThreshold(t *testing.T) {
	targets := Targets{Response: 100 * time.Second, Resolution: 1000 * time.Second}
	running := Clock{ResponseRunning: true, ResolutionRunning: true}
	for _, tt := range []struct {
		name    string
		c       Clock
		targets Targets
		fired   []string
		want    Threshold
		ok      bool
	}{
		{"fresh", running, targets, nil, Threshold{"response/warned", KindWarned, 1, 80 * time.Second, 100 * time.Second}, true},
		{"warning fired", running, targets, []string{"response/warned"}, Threshold{ResponseBreachedKey, KindBreached, 1, 100 * time.Second, 100 * time.Second}, true},
		{
			"reached and not fired: due at once", Clock{ResponseElapsed: 150 * time.Second, ResponseRunning: true}, targets,
			[]string{"response/warned"}, Threshold{"response/breached", KindBreached, 1, 0, 100 * time.Second}, true,
		},
		{
			"a warning past its breach is skipped", Clock{ResponseElapsed: 150 * time.Second, ResponseRunning: true}, targets,
			nil, Threshold{"response/breached", KindBreached, 1, 0, 100 * time.Second}, true,
		},
		{
			"no warning for a fired breach after the target grew", Clock{ResponseElapsed: 90 * time.Second, ResponseRunning: true},
			Targets{Response: 200 * time.Second}, []string{"response/breached"}, Threshold{}, false,
		},
		{
			"acknowledged: resolution only", Clock{ResolutionElapsed: 10 * time.Second, ResolutionRunning: true}, targets,
			nil, Threshold{"resolution/1/warned", KindWarned, 2, 790 * time.Second, 1000 * time.Second}, true,
		},
		{
			"first resolution breach", Clock{ResolutionElapsed: 900 * time.Second, ResolutionRunning: true}, targets,
			[]string{"resolution/1/warned"}, Threshold{FirstResolutionBreachedKey, KindBreached, 2, 100 * time.Second, 1000 * time.Second}, true,
		},
		{
			"second multiple", Clock{ResolutionElapsed: 1000 * time.Second, ResolutionRunning: true}, targets,
			[]string{"resolution/1/warned", "resolution/1/breached"}, Threshold{"resolution/2/warned", KindWarned, 3, 600 * time.Second, 2000 * time.Second}, true,
		},
		{
			"ladder done", Clock{ResolutionElapsed: 5000 * time.Second, ResolutionRunning: true}, targets,
			[]string{"resolution/1/breached", "resolution/2/breached", "resolution/3/breached"}, Threshold{}, false,
		},
		{"stopped", Clock{ResponseElapsed: 5, ResolutionElapsed: 5}, targets, nil, Threshold{}, false},
		{
			"custom warning ratio", running, Targets{Response: 100 * time.Second, WarningRatio: 0.5},
			nil, Threshold{"response/warned", KindWarned, 1, 50 * time.Second, 100 * time.Second}, true,
		},
		{
			"ratio 1: no warnings", running, Targets{Response: 100 * time.Second, WarningRatio: 1},
			nil, Threshold{"response/breached", KindBreached, 1, 100 * time.Second, 100 * time.Second}, true,
		},
		{"no targets", running, Targets{}, nil, Threshold{}, false},
		{
			"tie: response first", Clock{ResponseRunning: true, ResolutionRunning: true},
			Targets{Response: 100 * time.Second, Resolution: 100 * time.Second, WarningRatio: 1},
			nil, Threshold{"response/breached", KindBreached, 1, 100 * time.Second, 100 * time.Second}, true,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NextThreshold(tt.c, tt.targets, tt.fired)
			if got != tt.want || ok != tt.ok {
				t.Errorf("NextThreshold = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestAdvance(t *testing.T) {
	cal := officeHours(t, nil, nil)
	c := Start(at(t, "2026-03-09 09:00"), events.ComplaintNew)
	c = Advance(c, cal, at(t, "2026-03-09 10:00"))
	if c.ResponseElapsed != time.Hour || c.ResolutionElapsed != time.Hour || !c.Since.Equal(at(t, "2026-03-09 10:00")) {
		t.Fatalf("after an hour: %+v", c)
	}
	if back := Advance(c, cal, at(t, "2026-03-09 09:30")); back != c {
		t.Errorf("went backwards: %+v", back)
	}
	night := Advance(c, cal, at(t, "2026-03-10 08:00"))
	if night.ResponseElapsed != 9*time.Hour || !night.Since.Equal(at(t, "2026-03-10 08:00")) {
		t.Errorf("overnight: %+v", night)
	}
	stopped, _ := SetState(night, events.ComplaintResolved)
	if s := Advance(stopped, cal, at(t, "2026-03-11 08:00")); s.ResponseElapsed != 9*time.Hour || s.ResolutionElapsed != 9*time.Hour ||
		!s.Since.Equal(at(t, "2026-03-11 08:00")) {
		t.Errorf("resolved clock counted: %+v", s)
	}
}

func TestSetState(t *testing.T) {
	for _, tt := range []struct {
		from                string
		state               string
		response, resolving bool
	}{
		{events.ComplaintNew, events.ComplaintNew, true, true},
		{events.ComplaintNew, events.ComplaintAcknowledged, false, true},
		{events.ComplaintAcknowledged, events.ComplaintInProgress, false, true},
		{events.ComplaintInProgress, events.ComplaintPendingCustomer, false, false},
		{events.ComplaintPendingCustomer, events.ComplaintInProgress, false, true},
		{events.ComplaintInProgress, events.ComplaintResolved, false, false},
		{events.ComplaintResolved, events.ComplaintReopened, false, true},
		{events.ComplaintResolved, events.ComplaintClosed, false, false},
		// The response clock never restarts, whatever the events say.
		{events.ComplaintAcknowledged, events.ComplaintNew, false, true},
	} {
		t.Run(tt.from+"→"+tt.state, func(t *testing.T) {
			c, ok := SetState(Start(time.Time{}, tt.from), tt.state)
			if !ok || c.ResponseRunning != tt.response || c.ResolutionRunning != tt.resolving {
				t.Errorf("got %+v %v", c, ok)
			}
		})
	}
	c := Start(time.Time{}, events.ComplaintNew)
	if got, ok := SetState(c, "archived"); ok || got != c {
		t.Errorf("unknown state: %+v %v", got, ok)
	}
}

func TestLevels(t *testing.T) {
	for _, tt := range []struct{ level, breach, want int }{
		{0, 1, 1}, {2, 1, 2}, {1, 3, 3}, {4, 4, 4}, {3, 5, 4},
	} {
		if got := Raise(tt.level, tt.breach); got != tt.want {
			t.Errorf("Raise(%d, %d) = %d, want %d", tt.level, tt.breach, got, tt.want)
		}
	}
	if k := EscalatedKey(2); k != "escalated/L2" {
		t.Errorf("EscalatedKey(2) = %q", k)
	}
}

func TestPolicyFor(t *testing.T) {
	p := Policy{Targets: map[string]Targets{"high": {Response: time.Hour}}}
	if got, ok := p.For("high"); !ok || got.Response != time.Hour {
		t.Errorf("For(high) = %+v %v", got, ok)
	}
	if _, ok := p.For("low"); ok {
		t.Error("For(low) found targets")
	}
}
