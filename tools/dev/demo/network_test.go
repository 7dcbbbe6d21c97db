package demo

import (
	"regexp"
	"testing"
	"time"
	"unicode/utf8"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/calendar"
)

// codePattern is the API's pattern for region and dealer codes.
var codePattern = regexp.MustCompile(`^[A-Z][A-Z0-9_-]{1,31}$`)

func TestNetworkIsValid(t *testing.T) {
	n := Network()
	if len(n.Regions) < 4 || len(n.Dealers) < 16 {
		t.Errorf("%d regions and %d dealers; the demo promises at least 4 and 16", len(n.Regions), len(n.Dealers))
	}
	regions := map[string]int{}
	for _, r := range n.Regions {
		if !codePattern.MatchString(r.Code) {
			t.Errorf("region code %q does not match %s", r.Code, codePattern)
		}
		if _, dup := regions[r.Code]; dup {
			t.Errorf("region %s listed twice", r.Code)
		}
		if r.Name == "" || utf8.RuneCountInString(r.Name) > 100 {
			t.Errorf("region %s: name %q must have 1-100 characters", r.Code, r.Name)
		}
		regions[r.Code] = 0
	}
	dealers := map[string]bool{}
	for _, d := range n.Dealers {
		if !codePattern.MatchString(d.Code) {
			t.Errorf("dealer code %q does not match %s", d.Code, codePattern)
		}
		if dealers[d.Code] {
			t.Errorf("dealer %s listed twice", d.Code)
		}
		dealers[d.Code] = true
		if _, ok := regions[d.Region]; !ok {
			t.Errorf("dealer %s: region %q is not in the network", d.Code, d.Region)
		}
		regions[d.Region]++
		if d.Name == "" || utf8.RuneCountInString(d.Name) > 200 || d.City == "" {
			t.Errorf("dealer %s: name %q (1-200 characters) and city %q are required", d.Code, d.Name, d.City)
		}
		if _, err := time.LoadLocation(d.TimeZone); err != nil {
			t.Errorf("dealer %s: %v", d.Code, err)
		}
		if _, err := spec(d); err != nil {
			t.Errorf("dealer %s: calendar: %v", d.Code, err)
		}
	}
	for code, count := range regions {
		if count == 0 {
			t.Errorf("region %s has no dealers", code)
		}
	}
}

func TestWorkingDaysAreWeekendDays(t *testing.T) {
	holidays := map[string]bool{}
	for _, h := range holidays2026 {
		if holidays[h] {
			t.Errorf("holiday %s listed twice", h)
		}
		holidays[h] = true
	}
	for _, w := range workingDays2026 {
		d, err := time.Parse(time.DateOnly, w)
		if err != nil {
			t.Fatal(err)
		}
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			t.Errorf("adjusted working day %s is a %s; 调休 moves weekend days", w, wd)
		}
		if holidays[w] {
			t.Errorf("%s is both a holiday and a working day", w)
		}
	}
}

// TestCalendars checks the calendars behave as their comments say, through
// the same calendar package the services use.
func TestCalendars(t *testing.T) {
	tests := []struct {
		dealer string
		local  string // local time of the dealer
		open   bool
	}{
		{"SH001", "2026-03-10 09:00", true},  // Tuesday morning
		{"SH001", "2026-03-10 12:30", false}, // lunch break
		{"SH002", "2026-03-10 12:30", true},  // open through lunch
		{"SH001", "2026-10-01 10:00", false}, // National Day
		{"SH001", "2026-02-14 10:00", true},  // adjusted working Saturday
		{"SY001", "2026-09-13 10:00", false}, // closed on Sundays
		{"SY001", "2026-09-20 10:00", true},  // adjusted working Sunday
		{"URC001", "2026-03-10 08:30", true}, // Urumqi local time
		{"URC001", "2026-03-10 19:00", false},
		{"HL001", "2026-10-01 03:00", true}, // 24x7, holidays included
	}
	n := Network()
	for _, tt := range tests {
		d := find(t, n, tt.dealer)
		s, err := spec(d)
		if err != nil {
			t.Fatal(err)
		}
		cal, err := calendar.New(s)
		if err != nil {
			t.Fatal(err)
		}
		at, err := time.ParseInLocation("2006-01-02 15:04", tt.local, cal.Location())
		if err != nil {
			t.Fatal(err)
		}
		if got := cal.IsOpen(at); got != tt.open {
			t.Errorf("%s at %s: open = %v, want %v", tt.dealer, tt.local, got, tt.open)
		}
	}
}

func TestCalendarProto(t *testing.T) {
	d := find(t, Network(), "SY001")
	cal, err := d.Calendar.proto(d.Code)
	if err != nil {
		t.Fatal(err)
	}
	if cal.GetDealer() != "SY001" || len(cal.GetWeekly()) != 6 {
		t.Fatalf("calendar %v: want SY001 with six weekdays", cal)
	}
	if first, last := cal.GetWeekly()[0], cal.GetWeekly()[5]; first.GetDay() != customerv1.DayOfWeek_DAY_OF_WEEK_MONDAY || last.GetDay() != customerv1.DayOfWeek_DAY_OF_WEEK_SATURDAY {
		t.Errorf("weekdays run %s..%s, want Monday..Saturday", first.GetDay(), last.GetDay())
	}
	if iv := cal.GetWeekly()[0].GetIntervals()[1]; iv.GetStart() != "13:00" || iv.GetEnd() != "17:30" {
		t.Errorf("second interval %s-%s, want 13:00-17:30", iv.GetStart(), iv.GetEnd())
	}
	if len(cal.GetHolidays()) != len(holidays2026) || len(cal.GetAdjustedWorkingDays()) != len(workingDays2026) {
		t.Errorf("%d holidays and %d working days", len(cal.GetHolidays()), len(cal.GetAdjustedWorkingDays()))
	}
	if dayOfWeek(time.Sunday) != customerv1.DayOfWeek_DAY_OF_WEEK_SUNDAY || dayOfWeek(time.Monday) != customerv1.DayOfWeek_DAY_OF_WEEK_MONDAY {
		t.Error("dayOfWeek does not map Go's week to ISO order")
	}
}

// spec parses a demo calendar into the calendar package's form, as the
// customer service does with the API's.
func spec(d Dealer) (calendar.Spec, error) {
	s := calendar.Spec{TimeZone: d.TimeZone, Weekly: map[time.Weekday][]calendar.Interval{}}
	for day, ivs := range d.Calendar.Weekly {
		for _, text := range ivs {
			iv, err := calendar.ParseInterval(text)
			if err != nil {
				return s, err
			}
			s.Weekly[day] = append(s.Weekly[day], iv)
		}
	}
	for _, text := range d.Calendar.Holidays {
		date, err := calendar.ParseDate(text)
		if err != nil {
			return s, err
		}
		s.Holidays = append(s.Holidays, date)
	}
	for _, text := range d.Calendar.WorkingDays {
		date, err := calendar.ParseDate(text)
		if err != nil {
			return s, err
		}
		s.WorkingDays = append(s.WorkingDays, calendar.AdjustedDay{Date: date, HoursOf: time.Monday})
	}
	_, err := calendar.New(s)
	return s, err
}

func find(t *testing.T, n DealerNetwork, code string) Dealer {
	t.Helper()
	for _, d := range n.Dealers {
		if d.Code == code {
			return d
		}
	}
	t.Fatalf("no dealer %s", code)
	return Dealer{}
}
