package vehicle

import (
	"math"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/calendar"
)

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s+"T02:00:00Z") // 10:00 in Shanghai
	if err != nil {
		panic(err)
	}
	return t
}

func date(s string) calendar.Date {
	d, err := calendar.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func delivery(at string, km int) Visit {
	return Visit{Time: day(at), Dealer: "D001", MileageKM: km, Type: VisitDelivery, Ref: "S-" + at}
}

func ro(at string, km int) Visit {
	return Visit{Time: day(at), Dealer: "D001", MileageKM: km, Type: "maintenance", Ref: "RO-" + at}
}

func TestNextService(t *testing.T) {
	shanghai, err := time.LoadLocation(calendar.DefaultTimeZone)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		history   []Visit
		plan      Plan
		loc       *time.Location
		want      Due
		wantNoDue bool
	}{
		{
			name:      "no history",
			wantNoDue: true,
		},
		{
			name:    "new car: default rate, 5000 km in 125 days comes first",
			history: []Visit{delivery("2026-01-10", 0)},
			want:    Due{Date: date("2026-05-15"), MileageKM: 5000, By: DueByMileage, KMPerDay: 40},
		},
		{
			name:    "low use: 6 months come first",
			history: []Visit{delivery("2026-01-10", 0), ro("2026-07-10", 1810)}, // 181 days, 10 km/day
			want:    Due{Date: date("2027-01-10"), MileageKM: 6810, By: DueByTime, KMPerDay: 10, RateEstimated: true},
		},
		{
			name:    "high use: 100 km/day is due in 50 days",
			history: []Visit{delivery("2026-01-01", 10), ro("2026-04-01", 9010)}, // 90 days
			want:    Due{Date: date("2026-05-21"), MileageKM: 14010, By: DueByMileage, KMPerDay: 100, RateEstimated: true},
		},
		{
			name:    "implausible rate clamped to the maximum",
			history: []Visit{delivery("2026-01-01", 0), ro("2026-01-31", 30000)}, // 1000 km/day
			want:    Due{Date: date("2026-02-16"), MileageKM: 35000, By: DueByMileage, KMPerDay: 300, RateEstimated: true},
		},
		{
			name:    "parked car clamped to the minimum, time comes first",
			history: []Visit{ro("2026-01-01", 1000), ro("2026-07-20", 1010)},
			want:    Due{Date: date("2027-01-20"), MileageKM: 6010, By: DueByTime, KMPerDay: 5, RateEstimated: true},
		},
		{
			name:    "readings too close together: default rate",
			history: []Visit{ro("2026-03-01", 1000), ro("2026-03-04", 2000)},
			want:    Due{Date: date("2026-07-07"), MileageKM: 7000, By: DueByMileage, KMPerDay: 40},
		},
		{
			name:    "odometer went backwards: default rate",
			history: []Visit{ro("2026-01-01", 20000), ro("2026-03-01", 500)},
			want:    Due{Date: date("2026-07-04"), MileageKM: 5500, By: DueByMileage, KMPerDay: 40},
		},
		{
			name: "last visit without a reading: mileage extrapolated",
			history: []Visit{
				delivery("2026-01-01", 0),
				ro("2026-03-02", 3000), // 60 days, 50 km/day
				ro("2026-04-01", 0),    // no reading; 30 days later
			},
			want: Due{Date: date("2026-07-10"), MileageKM: 3000 + 1500 + 5000, By: DueByMileage, KMPerDay: 50, RateEstimated: true},
		},
		{
			name:    "no reading at all: mileage unknown",
			history: []Visit{ro("2026-04-01", 0)},
			want:    Due{Date: date("2026-08-04"), MileageKM: 0, By: DueByMileage, KMPerDay: 40},
		},
		{
			name: "recent readings preferred over the window",
			history: []Visit{
				ro("2024-01-01", 0),     // outside the 365-day window
				ro("2025-06-01", 3000),  // oldest inside: 30 km/day since
				ro("2026-03-28", 12000), // 300 days later
			},
			want: Due{Date: date("2026-09-10"), MileageKM: 17000, By: DueByMileage, KMPerDay: 30, RateEstimated: true},
		},
		{
			name: "only old readings: the newest older one",
			history: []Visit{
				ro("2023-01-01", 0),
				ro("2024-01-01", 2000),
				ro("2025-12-27", 9300), // 726 days after 2024-01-01: ~10.05 km/day
			},
			want: Due{Date: date("2026-06-27"), MileageKM: 14300, By: DueByTime, KMPerDay: 7300.0 / 726, RateEstimated: true},
		},
		{
			name:    "history in any order",
			history: []Visit{ro("2026-07-10", 1810), delivery("2026-01-10", 0)},
			want:    Due{Date: date("2027-01-10"), MileageKM: 6810, By: DueByTime, KMPerDay: 10, RateEstimated: true},
		},
		{
			name:    "31 August plus 6 months is the end of February",
			history: []Visit{ro("2026-08-31", 1000)},
			plan:    Plan{DefaultKMPerDay: 10},
			want:    Due{Date: date("2027-02-28"), MileageKM: 6000, By: DueByTime, KMPerDay: 10},
		},
		{
			name:    "end of February in a leap year",
			history: []Visit{ro("2027-08-31", 1000)},
			plan:    Plan{DefaultKMPerDay: 10},
			want:    Due{Date: date("2028-02-29"), MileageKM: 6000, By: DueByTime, KMPerDay: 10},
		},
		{
			name:    "a per-model plan",
			history: []Visit{delivery("2026-01-10", 0)},
			plan:    Plan{Months: 12, IntervalKM: 10000},
			want:    Due{Date: date("2026-09-17"), MileageKM: 10000, By: DueByMileage, KMPerDay: 40},
		},
		{
			name:    "dates are civil dates in the given zone",
			history: []Visit{{Time: time.Date(2026, 3, 31, 17, 0, 0, 0, time.UTC), MileageKM: 100, Type: "repair"}},
			plan:    Plan{DefaultKMPerDay: 10},
			loc:     shanghai, // 1 April, 01:00
			want:    Due{Date: date("2026-10-01"), MileageKM: 5100, By: DueByTime, KMPerDay: 10},
		},
		{
			name:    "nil zone is UTC",
			history: []Visit{{Time: time.Date(2026, 3, 31, 17, 0, 0, 0, time.UTC), MileageKM: 100, Type: "repair"}},
			plan:    Plan{DefaultKMPerDay: 10},
			want:    Due{Date: date("2026-09-30"), MileageKM: 5100, By: DueByTime, KMPerDay: 10},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NextService(tt.history, tt.plan, tt.loc)
			if ok == tt.wantNoDue {
				t.Fatalf("ok = %v, want %v", ok, !tt.wantNoDue)
			}
			if math.Abs(got.KMPerDay-tt.want.KMPerDay) > 1e-9 {
				t.Errorf("KMPerDay = %v, want %v", got.KMPerDay, tt.want.KMPerDay)
			}
			got.KMPerDay = tt.want.KMPerDay
			if got != tt.want {
				t.Errorf("NextService =\n  %+v\nwant\n  %+v", got, tt.want)
			}
		})
	}
}

func TestNextServiceDoesNotReorderTheCallersHistory(t *testing.T) {
	h := []Visit{ro("2026-07-10", 1810), delivery("2026-01-10", 0)}
	NextService(h, Plan{}, nil)
	if h[0].Ref != "RO-2026-07-10" {
		t.Errorf("history reordered: %+v", h)
	}
}

func TestAddMonths(t *testing.T) {
	for _, tt := range []struct {
		from string
		n    int
		want string
	}{
		{"2026-01-15", 6, "2026-07-15"},
		{"2026-08-31", 6, "2027-02-28"},
		{"2027-08-31", 6, "2028-02-29"},
		{"2026-12-31", 6, "2027-06-30"},
		{"2026-07-31", 6, "2027-01-31"},
		{"2026-10-15", 3, "2027-01-15"},
		{"2026-05-31", 1, "2026-06-30"},
	} {
		if got := addMonths(date(tt.from), tt.n); got != date(tt.want) {
			t.Errorf("addMonths(%s, %d) = %s, want %s", tt.from, tt.n, got, tt.want)
		}
	}
}
