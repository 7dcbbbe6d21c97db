// Package evaluation holds the rules of dealer evaluation (评价): the
// facts the KPIs are computed from, the twelve KPIs of SPEC with their
// numerators and denominators, periods in a dealer's time zone, HQ's
// targets, the composite score and the ranking. It imports no database,
// transport or workflow package.
package evaluation

import (
	"fmt"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
)

// The KPIs of SPEC (evaluation: KPIs and rankings), by name.
const (
	CallbackRate3DC            = "callback_rate_3dc"
	CallbackRate7DC            = "callback_rate_7dc"
	NewCustomerCallbackRate    = "new_customer_callback_rate"
	SSI                        = "ssi"
	CSI                        = "csi"
	ComplaintOneTimeClosure    = "complaint_one_time_closure_rate"
	ComplaintResponseSLARate   = "complaint_response_sla_rate"
	ComplaintResolutionSLARate = "complaint_resolution_sla_rate"
	ReturnRate                 = "return_rate"
	ChurnRate                  = "churn_rate"
	CampaignReturnCount        = "campaign_return_count"
	FirstTimeFixRate           = "first_time_fix_rate"
	ArchiveTimelinessRate      = "archive_timeliness_rate"
	ArchiveAccuracyRate        = "archive_accuracy_rate"
	AppointmentRate            = "appointment_rate"
)

// KPIs lists every KPI in the order answers show them.
var KPIs = []string{
	CallbackRate3DC, CallbackRate7DC, NewCustomerCallbackRate, SSI, CSI,
	ComplaintOneTimeClosure, ComplaintResponseSLARate, ComplaintResolutionSLARate,
	ReturnRate, ChurnRate, CampaignReturnCount, FirstTimeFixRate,
	ArchiveTimelinessRate, ArchiveAccuracyRate, AppointmentRate,
	InspectionScore,
}

// IsKPI reports whether name is one of KPIs.
func IsKPI(name string) bool {
	for _, k := range KPIs {
		if k == name {
			return true
		}
	}
	return false
}

// LowerIsBetter reports whether a smaller value of the KPI is the better
// one (its target is a ceiling).
func LowerIsBetter(kpi string) bool { return kpi == ChurnRate }

// ScoreScale is how numerators of mean scores (ssi, csi, inspection_score) are stored:
// hundredths of a point, so sums are exact integers whichever order they
// are added in.
const ScoreScale = 100

// Figure is one KPI's numerator and denominator over a period. Numerator
// is in hundredths of a point for ssi, csi and inspection_score (ScoreScale).
type Figure struct {
	Numerator   int64
	Denominator int64
}

// Add sums two figures.
func (f Figure) Add(g Figure) Figure {
	return Figure{Numerator: f.Numerator + g.Numerator, Denominator: f.Denominator + g.Denominator}
}

// NumeratorValue is the numerator as answered (points for ssi, csi and inspection_score).
func NumeratorValue(kpi string, f Figure) float64 {
	if kpi == SSI || kpi == CSI || kpi == InspectionScore {
		return float64(f.Numerator) / ScoreScale
	}
	return float64(f.Numerator)
}

// Value is the KPI's value: numerator ÷ denominator (a 0-1 rate or a
// 0-100 mean score), the count for campaign_return_count; false without a
// denominator.
func Value(kpi string, f Figure) (float64, bool) {
	if kpi == CampaignReturnCount {
		return float64(f.Numerator), f.Denominator > 0 || f.Numerator > 0
	}
	if f.Denominator == 0 {
		return 0, false
	}
	return NumeratorValue(kpi, f) / float64(f.Denominator), true
}

// Figures are the KPIs of one scope and period, by KPI name.
type Figures map[string]Figure

// Add adds g into f.
func (f Figures) Add(g Figures) {
	for k, v := range g {
		f[k] = f[k].Add(v)
	}
}

// Granularity of a period.
type Granularity string

// Granularities.
const (
	Day   Granularity = "day"
	Week  Granularity = "week"
	Month Granularity = "month"
)

// Granularities lists them.
var Granularities = []Granularity{Day, Week, Month}

// Date is a civil date, held as midnight UTC.
type Date = time.Time

// DateOf is t's calendar date in zone.
func DateOf(t time.Time, zone *time.Location) Date {
	y, m, d := t.In(zone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// StartOf is the instant date begins in zone.
func StartOf(date Date, zone *time.Location) time.Time {
	y, m, d := date.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, zone)
}

// ParseDate reads YYYY-MM-DD; field names the parameter in the error.
func ParseDate(field, s string) (Date, error) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, apperr.Invalid(field, fmt.Sprintf("must be a date YYYY-MM-DD, got %q", s)).ZhReason(fmt.Sprintf("须为日期 YYYY-MM-DD，收到“%s”", s))
	}
	return d, nil
}

// PeriodStart is the first day of the period of granularity g containing
// date: the day itself, the ISO week's Monday, the month's first day.
func PeriodStart(g Granularity, date Date) Date {
	switch g {
	case Week:
		wd := (int(date.Weekday()) + 6) % 7 // Monday 0
		return date.AddDate(0, 0, -wd)
	case Month:
		return time.Date(date.Year(), date.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return date
}

// PeriodEnd is the day after the period starting at start.
func PeriodEnd(g Granularity, start Date) Date {
	switch g {
	case Week:
		return start.AddDate(0, 0, 7)
	case Month:
		return start.AddDate(0, 1, 0)
	}
	return start.AddDate(0, 0, 1)
}

// PreviousStart is the start of the period before the one starting at start.
func PreviousStart(g Granularity, start Date) Date {
	switch g {
	case Week:
		return start.AddDate(0, 0, -7)
	case Month:
		return start.AddDate(0, -1, 0)
	}
	return start.AddDate(0, 0, -1)
}

// Periods returns the starts of n consecutive periods ending with the one
// containing last, oldest first.
func Periods(g Granularity, last Date, n int) []Date {
	out := make([]Date, n)
	s := PeriodStart(g, last)
	for i := n - 1; i >= 0; i-- {
		out[i] = s
		s = PreviousStart(g, s)
	}
	return out
}

// Windows of SPEC's definitions.
const (
	// ReturnWindow: a vehicle came back if it visited within this of its
	// maintenance due time (before or after).
	ReturnWindow = 30 * 24 * time.Hour
	// ChurnHorizon: a vehicle whose last visit is this old has churned;
	// a visit within it makes a vehicle active.
	ChurnHorizon = 365 * 24 * time.Hour
	// FixWindow: a repair-type repair order within this after a closed
	// one means the first did not fix it.
	FixWindow = 30 * 24 * time.Hour
	// ArchiveTimeliness: an archive entered within this of its triggering
	// event is timely.
	ArchiveTimeliness = 24 * time.Hour
)

// Dealer is a dealer as the evaluation sees it: its region and the time
// zone its days are counted in.
type Dealer struct {
	Code     string
	Region   string
	TimeZone string
	// Name is the dealer's (the company's) name, shown in rankings.
	Name string
}
