package vehicle

import (
	"math"
	"slices"
	"time"

	"github.com/dealercare/dealercare/pkg/calendar"
)

// This file is the maintenance plan as plain rules: no Temporal, no clock,
// no I/O, so the campaign service can reuse it and tests need no workflow.

// VisitDelivery is the Visit.Type of a vehicle's delivery to its buyer,
// which starts the first maintenance cycle (SPEC "campaign").
const VisitDelivery = "delivery"

// Visit is a vehicle's contact with a dealer that starts a maintenance
// cycle: a closed repair order (any type, at any dealer) or a delivery.
type Visit struct {
	Time   time.Time `json:"time"`
	Dealer string    `json:"dealer"`
	// MileageKM is the odometer reading. Zero counts as a reading only on a
	// delivery (a new car); on a repair order it means none was recorded.
	MileageKM int `json:"mileage_km"`
	// Type is the repair order's type, or VisitDelivery.
	Type string `json:"type"`
	// Ref is the repair order or sale id, so a re-closed repair order
	// replaces its earlier visit instead of counting twice.
	Ref string `json:"ref,omitempty"`
}

// hasReading reports whether the visit carries an odometer reading.
func (v Visit) hasReading() bool {
	return v.MileageKM > 0 || v.MileageKM == 0 && v.Type == VisitDelivery
}

// Plan is a maintenance interval and how to estimate a vehicle's use. Zero
// fields take the defaults of DefaultPlan, so HQ's per-model plans (campaign
// service) need only set what differs.
type Plan struct {
	// Months is the time interval in calendar months.
	Months int `json:"months,omitempty"`
	// IntervalKM is the distance interval.
	IntervalKM int `json:"interval_km,omitempty"`
	// DefaultKMPerDay is the rate used until the history allows an estimate.
	DefaultKMPerDay float64 `json:"default_km_per_day,omitempty"`
	// MinKMPerDay and MaxKMPerDay bound the estimate: a car parked for
	// months must not push its service out by years, and a mistyped
	// odometer must not make it due tomorrow.
	MinKMPerDay float64 `json:"min_km_per_day,omitempty"`
	MaxKMPerDay float64 `json:"max_km_per_day,omitempty"`
	// MinRateSpanDays is how far apart two readings must be to estimate a
	// rate from them; closer ones are too noisy.
	MinRateSpanDays int `json:"min_rate_span_days,omitempty"`
	// RateWindowDays prefers readings this recent, so the estimate follows
	// the current owner's habits rather than the car's whole life.
	RateWindowDays int `json:"rate_window_days,omitempty"`
}

// DefaultPlan is the SPEC's default: 6 months or 5,000 km, whichever
// first, 40 km/day until the history says otherwise.
func DefaultPlan() Plan {
	return Plan{
		Months:          6,
		IntervalKM:      5000,
		DefaultKMPerDay: 40,
		MinKMPerDay:     5,
		MaxKMPerDay:     300,
		MinRateSpanDays: 7,
		RateWindowDays:  365,
	}
}

func (p Plan) withDefaults() Plan {
	d := DefaultPlan()
	if p.Months <= 0 {
		p.Months = d.Months
	}
	if p.IntervalKM <= 0 {
		p.IntervalKM = d.IntervalKM
	}
	if p.DefaultKMPerDay <= 0 {
		p.DefaultKMPerDay = d.DefaultKMPerDay
	}
	if p.MinKMPerDay <= 0 {
		p.MinKMPerDay = d.MinKMPerDay
	}
	if p.MaxKMPerDay <= 0 {
		p.MaxKMPerDay = d.MaxKMPerDay
	}
	if p.MaxKMPerDay < p.MinKMPerDay {
		p.MaxKMPerDay = p.MinKMPerDay
	}
	if p.MinRateSpanDays <= 0 {
		p.MinRateSpanDays = d.MinRateSpanDays
	}
	if p.RateWindowDays <= 0 {
		p.RateWindowDays = d.RateWindowDays
	}
	return p
}

// Which limit of the plan comes first (Due.By).
const (
	DueByTime    = "time"
	DueByMileage = "mileage"
)

// Due is when a vehicle's next maintenance is due.
type Due struct {
	// Date is the due date, a civil date in the zone NextService was given.
	Date calendar.Date `json:"date"`
	// MileageKM is the odometer reading at which service is due; zero when
	// the history has no reading at all.
	MileageKM int `json:"mileage_km"`
	// By says which limit comes first: DueByTime or DueByMileage.
	By string `json:"by"`
	// KMPerDay is the rate the date assumes; RateEstimated is false when
	// it is the plan's default.
	KMPerDay      float64 `json:"km_per_day"`
	RateEstimated bool    `json:"rate_estimated"`
}

// NextService computes the next maintenance due after the latest visit of
// history (in any order): the earlier of the visit plus plan.Months and the
// day the vehicle, at its estimated rate, covers plan.IntervalKM. Dates are
// civil dates in loc (nil means UTC), so "6 months after 31 August" is the
// last day of February there. ok is false for an empty history.
func NextService(history []Visit, plan Plan, loc *time.Location) (due Due, ok bool) {
	if len(history) == 0 {
		return Due{}, false
	}
	if loc == nil {
		loc = time.UTC
	}
	p := plan.withDefaults()
	visits := slices.Clone(history)
	slices.SortStableFunc(visits, func(a, b Visit) int { return a.Time.Compare(b.Time) })
	start := visits[len(visits)-1]

	var readings []Visit
	for _, v := range visits {
		if v.hasReading() {
			readings = append(readings, v)
		}
	}
	rate, estimated := estimateRate(readings, p)
	due = Due{KMPerDay: rate, RateEstimated: estimated}

	switch {
	case start.hasReading():
		due.MileageKM = start.MileageKM + p.IntervalKM
	case len(readings) > 0:
		// The cycle's start has no reading: extrapolate from the last one.
		last := readings[len(readings)-1]
		days := start.Time.Sub(last.Time).Hours() / 24
		due.MileageKM = last.MileageKM + int(math.Round(rate*days)) + p.IntervalKM
	}

	startDate := calendar.DateOf(start.Time.In(loc))
	byTime := addMonths(startDate, p.Months)
	byMileage := startDate.AddDays(int(float64(p.IntervalKM) / rate))
	due.Date, due.By = byTime, DueByTime
	if byMileage.Compare(byTime) < 0 {
		due.Date, due.By = byMileage, DueByMileage
	}
	return due, true
}

// estimateRate is the km/day between the latest reading and the oldest one
// within the plan's window at least MinRateSpanDays earlier (or, if none is
// that recent, the newest older one), clamped to the plan's bounds. Without
// two such readings, or with an odometer that went backwards (a replaced
// cluster, a typo), it is the plan's default.
func estimateRate(readings []Visit, p Plan) (rate float64, estimated bool) {
	if len(readings) < 2 {
		return p.DefaultKMPerDay, false
	}
	last := readings[len(readings)-1]
	minSpan := time.Duration(p.MinRateSpanDays) * 24 * time.Hour
	window := time.Duration(p.RateWindowDays) * 24 * time.Hour
	var base *Visit
	for i := range readings[:len(readings)-1] { // oldest first
		span := last.Time.Sub(readings[i].Time)
		if span < minSpan {
			break // later readings are closer still
		}
		base = &readings[i]
		if span <= window {
			break // the oldest within the window
		}
	}
	if base == nil || last.MileageKM < base.MileageKM {
		return p.DefaultKMPerDay, false
	}
	days := last.Time.Sub(base.Time).Hours() / 24
	rate = float64(last.MileageKM-base.MileageKM) / days
	return min(max(rate, p.MinKMPerDay), p.MaxKMPerDay), true
}

// addMonths moves d by n calendar months, keeping the day of the month but
// clamping it to the month's length (31 August + 6 months is 28 or 29
// February, not 2 or 3 March as time.AddDate would give).
func addMonths(d calendar.Date, n int) calendar.Date {
	first := time.Date(d.Year, d.Month+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	lastDay := first.AddDate(0, 1, -1).Day()
	return calendar.Date{Year: first.Year(), Month: first.Month(), Day: min(d.Day, lastDay)}
}
