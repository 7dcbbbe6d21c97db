package callback

import (
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
)

// Report periods.
const (
	PeriodDay   = "day"
	PeriodWeek  = "week"
	PeriodMonth = "month"
)

// Period is a report's span of local days: [Start, End) as instants.
type Period struct {
	Kind               string
	Start, End         time.Time
	StartDate, EndDate string // inclusive, YYYY-MM-DD
}

// PeriodOf returns the day, ISO week (Monday first) or month in loc that
// holds date (YYYY-MM-DD; "" is today at now).
func PeriodOf(kind, date string, loc *time.Location, now time.Time) (Period, error) {
	var day time.Time
	if date == "" {
		n := now.In(loc)
		day = time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
	} else {
		d, err := time.ParseInLocation("2006-01-02", date, loc)
		if err != nil {
			return Period{}, apperr.Invalid("date", "must be a date YYYY-MM-DD").ZhReason("须为 YYYY-MM-DD 格式的日期")
		}
		day = d
	}
	var start, end time.Time
	switch kind {
	case PeriodWeek:
		back := (int(day.Weekday()) + 6) % 7 // days since Monday
		start = day.AddDate(0, 0, -back)
		end = start.AddDate(0, 0, 7)
	case PeriodMonth:
		start = time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, loc)
		end = start.AddDate(0, 1, 0)
	default:
		kind = PeriodDay
		start, end = day, day.AddDate(0, 0, 1)
	}
	return Period{Kind: kind, Start: start, End: end, StartDate: start.Format("2006-01-02"), EndDate: end.AddDate(0, 0, -1).Format("2006-01-02")}, nil
}

// Figures of a kind (Kind "" for all kinds) over a period.
type Figures struct {
	Kind             string
	Due              int
	Completed        int
	Unreachable      int
	Refused          int
	Expired          int
	Attempts         int
	ScoreSum         float64
	ProblemsFound    int
	ComplaintsOpened int
}

// AverageScore of the completed callbacks, 0 when none.
func (f Figures) AverageScore() float64 {
	if f.Completed == 0 {
		return 0
	}
	return f.ScoreSum / float64(f.Completed)
}

// CompletionRate is completed over every task that ended in the period
// other than cancelled, 0 when none.
func (f Figures) CompletionRate() float64 {
	n := f.Completed + f.Unreachable + f.Refused + f.Expired
	if n == 0 {
		return 0
	}
	return float64(f.Completed) / float64(n)
}

// Add adds o's counts to f.
func (f *Figures) Add(o Figures) {
	f.Due += o.Due
	f.Completed += o.Completed
	f.Unreachable += o.Unreachable
	f.Refused += o.Refused
	f.Expired += o.Expired
	f.Attempts += o.Attempts
	f.ScoreSum += o.ScoreSum
	f.ProblemsFound += o.ProblemsFound
	f.ComplaintsOpened += o.ComplaintsOpened
}
