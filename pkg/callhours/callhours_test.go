package callhours

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParse(t *testing.T) {
	ok := []struct {
		start, end string
		want       Window
	}{
		{"09:00", "21:00", Window{9 * time.Hour, 21 * time.Hour}},
		{"00:00", "24:00", Window{0, 24 * time.Hour}},
		{"08:30", "12:45", Window{8*time.Hour + 30*time.Minute, 12*time.Hour + 45*time.Minute}},
	}
	for _, c := range ok {
		got, err := Parse(c.start, c.end)
		if err != nil || got != c.want {
			t.Errorf("Parse(%q, %q) = %v, %v; want %v", c.start, c.end, got, err, c.want)
		}
		if got.String() != c.start+"-"+c.end {
			t.Errorf("String() = %q", got.String())
		}
	}
	bad := []struct{ start, end, msg string }{
		{"9:00", "21:00", "start: \"9:00\": want HH:MM"},
		{"09:00", "2100", "end: \"2100\": want HH:MM"},
		{"24:00", "24:00", "start: \"24:00\" out of range 00:00-23:59"},
		{"09:00", "24:01", "end: \"24:01\" out of range 00:00-24:00"},
		{"09:60", "21:00", "out of range"},
		{"+9:00", "21:00", "want HH:MM"},
		{"21:00", "09:00", "21:00-09:00: start not before end"},
		{"09:00", "09:00", "start not before end"},
		{"", "21:00", "want HH:MM"},
	}
	for _, c := range bad {
		_, err := Parse(c.start, c.end)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Parse(%q, %q) error %v, want one containing %q", c.start, c.end, err, c.msg)
		}
	}
}

func TestNext(t *testing.T) {
	shanghai, ny, urumqi := zone(t, "Asia/Shanghai"), zone(t, "America/New_York"), zone(t, "Asia/Urumqi")
	nineToNine := MustParse("09:00", "21:00")
	at := func(loc *time.Location, s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name string
		loc  *time.Location
		w    Window
		t    time.Time
		want time.Time
	}{
		{"inside", shanghai, nineToNine, at(shanghai, "2026-03-10 10:15"), at(shanghai, "2026-03-10 10:15")},
		{"at the start", shanghai, nineToNine, at(shanghai, "2026-03-10 09:00"), at(shanghai, "2026-03-10 09:00")},
		{"before the start", shanghai, nineToNine, at(shanghai, "2026-03-10 06:00"), at(shanghai, "2026-03-10 09:00")},
		{"at the end", shanghai, nineToNine, at(shanghai, "2026-03-10 21:00"), at(shanghai, "2026-03-11 09:00")},
		{"after the end", shanghai, nineToNine, at(shanghai, "2026-03-10 22:30"), at(shanghai, "2026-03-11 09:00")},
		{"last day of the year", shanghai, nineToNine, at(shanghai, "2026-12-31 23:59"), at(shanghai, "2027-01-01 09:00")},
		{"a UTC instant in the Shanghai night", shanghai, nineToNine,
			time.Date(2026, 3, 10, 14, 30, 0, 0, time.UTC), at(shanghai, "2026-03-11 09:00")},
		{"Urumqi is UTC+6", urumqi, nineToNine, time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC), at(urumqi, "2026-03-10 09:00")},
		{"Urumqi evening", urumqi, nineToNine, time.Date(2026, 3, 10, 15, 30, 0, 0, time.UTC), at(urumqi, "2026-03-11 09:00")},
		{"until midnight", shanghai, MustParse("09:00", "24:00"), at(shanghai, "2026-03-10 23:59"), at(shanghai, "2026-03-10 23:59")},
		{"midnight after a 24:00 end", shanghai, MustParse("09:00", "24:00"), at(shanghai, "2026-03-11 00:00"), at(shanghai, "2026-03-11 09:00")},
		{"all day", shanghai, MustParse("00:00", "24:00"), at(shanghai, "2026-03-11 03:00"), at(shanghai, "2026-03-11 03:00")},
		// America/New_York: 2026-03-08 02:00 EST jumps to 03:00 EDT;
		// 2026-11-01 02:00 EDT falls back to 01:00 EST.
		{"spring forward: start in the gap is the jump", ny, MustParse("02:30", "21:00"),
			at(ny, "2026-03-08 01:00"), time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)},
		{"spring forward: 09:00 EDT", ny, nineToNine, at(ny, "2026-03-07 22:00"), time.Date(2026, 3, 8, 13, 0, 0, 0, time.UTC)},
		{"fall back: 09:00 EST", ny, nineToNine, at(ny, "2026-10-31 22:00"), time.Date(2026, 11, 1, 14, 0, 0, 0, time.UTC)},
		{"fall back: the repeated hour is inside twice", ny, MustParse("01:30", "21:00"),
			time.Date(2026, 11, 1, 6, 15, 0, 0, time.UTC),  // 01:15 EST, after 01:30 EDT
			time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC)}, // 01:30 EST
		{"fall back: the end repeats", ny, MustParse("00:00", "01:30"),
			time.Date(2026, 11, 1, 6, 15, 0, 0, time.UTC), time.Date(2026, 11, 1, 6, 15, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Next(c.t, c.w, c.loc)
			if !got.Equal(c.want) {
				t.Errorf("Next(%v, %v) = %v, want %v", c.t.In(c.loc), c.w, got, c.want.In(c.loc))
			}
			if got.Location() != c.loc {
				t.Errorf("result in %v, want %v", got.Location(), c.loc)
			}
		})
	}
}

// TestNextProperty checks, for random instants and windows in zones with
// and without DST, that Next is inside the window, not before t, and that
// no minute between t and it is inside.
func TestNextProperty(t *testing.T) {
	zones := []*time.Location{zone(t, "America/New_York"), zone(t, "Asia/Shanghai"), zone(t, "Asia/Urumqi"), zone(t, "Europe/London"), zone(t, "Australia/Lord_Howe")}
	r := rand.New(rand.NewPCG(1, 2))
	// Around the 2026 transitions of the zones, and anywhere in the year.
	anchors := []time.Time{
		time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC),
		time.Date(2026, 4, 4, 15, 0, 0, 0, time.UTC), time.Date(2026, 10, 3, 15, 30, 0, 0, time.UTC),
	}
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := range n {
		loc := zones[r.IntN(len(zones))]
		start := time.Duration(r.IntN(24*60)) * time.Minute
		end := start + time.Duration(1+r.IntN(int((day-start)/time.Minute)))*time.Minute
		w := Window{start, end}
		var t0 time.Time
		if i%2 == 0 {
			t0 = anchors[r.IntN(len(anchors))].Add(time.Duration(r.IntN(48*3600)-24*3600) * time.Second)
		} else {
			t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(365 * day))))
		}
		got := Next(t0, w, loc)
		if got.Before(t0) {
			t.Fatalf("Next(%v, %v, %v) = %v, before t", t0, w, loc, got)
		}
		if !w.Contains(got, loc) {
			t.Fatalf("Next(%v, %v, %v) = %v, outside the window", t0, w, loc, got.In(loc))
		}
		if got.Sub(t0) > 2*day {
			t.Fatalf("Next(%v, %v, %v) = %v, more than two days later", t0, w, loc, got.In(loc))
		}
		if w.Contains(t0, loc) && !got.Equal(t0) {
			t.Fatalf("Next(%v, %v, %v) = %v, want t itself", t0, w, loc, got.In(loc))
		}
		for m := t0.Truncate(time.Minute); m.Before(got); m = m.Add(time.Minute) {
			if !m.Before(t0) && w.Contains(m, loc) {
				t.Fatalf("Next(%v, %v, %v) = %v, but %v is inside and earlier", t0, w, loc, got.In(loc), m.In(loc))
			}
		}
	}
}

func TestInvalidWindowReturnsT(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 14, 30, 0, 0, time.UTC)
	if got := Next(t0, Window{}, time.UTC); !got.Equal(t0) {
		t.Errorf("Next with a zero window = %v", got)
	}
}
