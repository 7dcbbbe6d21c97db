package evaluation

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	pg "github.com/dealercare/dealercare/pkg/postgres"
)

// KPIFact is one fact behind a dealer's KPI in a period: in the
// denominator, and in the numerator when Counted. It carries ids and
// times, never a customer's name, mobile or VIN. What the times mean per
// source: a callback task's due time, deadline and completion; a
// complaint's creation and closing; a repair order's opening and closing;
// an archive's triggering event (due), 24 h after it (deadline) and its
// entry (complete).
type KPIFact struct {
	// Kind of source object: callback_task, delivery, complaint,
	// repair_order or archive.
	Kind string
	ID   string
	// Time is the instant that puts the fact in the period (the one the
	// KPI's definition names).
	Time    time.Time
	Counted bool
	Status  string
	// Score is a completed callback's 0-100 score (ssi, csi).
	Score                           *float64
	DueTime, Deadline, CompleteTime time.Time
}

// DrillKPIs are the KPIs whose facts a dealer can list: each counts one
// of the dealer's own source objects per denominator unit, decided by the
// dealer's own facts. first_time_fix_rate, return_rate, churn_rate and
// campaign_return_count depend on the vehicle's visits at other dealers,
// which the dealer's row-level security rightly hides, so their lists
// would not add up to the figure: not offered.
var DrillKPIs = []string{
	CallbackRate3DC, CallbackRate7DC, NewCustomerCallbackRate, SSI, CSI,
	ComplaintOneTimeClosure, ComplaintResponseSLARate, ComplaintResolutionSLARate,
	ArchiveTimelinessRate, ArchiveAccuracyRate, AppointmentRate,
}

// FactQuery selects a page of the facts behind one dealer's KPI in one
// local period [From, To).
type FactQuery struct {
	Dealer, KPI string
	From, To    time.Time
	// MissedOnly keeps the facts not counted in the numerator (the 3DC
	// calls not completed, the complaints reopened, ...).
	MissedOnly bool
	// After is the keyset position: facts after (AfterTime, AfterID).
	AfterTime time.Time
	AfterID   string
	Limit     int
}

// FactStore lists the facts behind a KPI.
type FactStore interface {
	KPIFacts(ctx context.Context, scope pg.Scope, q FactQuery) ([]KPIFact, error)
}

// FactPage is a page of facts.
type FactPage struct {
	Start, End Date // End inclusive
	Facts      []KPIFact
	// More: a next page exists (continue after the last fact).
	More bool
}

// Page sizes of ListKPIFacts.
const (
	DefaultFactPage = 100
	MaxFactPage     = 1000
)

// KPIFacts lists the facts that made a dealer's KPI in one period: its
// own staff only, since the facts are the dealer's own customers'
// business. HQ and region roles are EFORBIDDEN (they read aggregates);
// another dealer is ENOTFOUND; a KPI without a drill-down ENOTFOUND
// naming it; a bad query EINVALID naming the field.
func (s *Service) KPIFacts(ctx context.Context, facts FactStore, q FactQuery, period Query) (*FactPage, error) {
	p, scope, err := s.access.Scope(ctx, q.Dealer)
	if err != nil {
		return nil, err
	}
	if !p.IsDealer() {
		return nil, apperr.Errorf(apperr.EFORBIDDEN, "only the dealer's own staff may list the facts behind its KPIs; HQ and regions read the aggregates").
			Zh("只有经销商本店员工可以查看指标明细；总部和大区只能查看汇总数据")
	}
	if !slices.Contains(DrillKPIs, q.KPI) {
		return nil, apperr.NotFound("kpi", "指标明细", q.KPI)
	}
	switch {
	case q.Limit == 0:
		q.Limit = DefaultFactPage
	case q.Limit < 0 || q.Limit > MaxFactPage:
		return nil, apperr.Invalid("page_size", fmt.Sprintf("must be between 1 and %d", MaxFactPage)).ZhReason(fmt.Sprintf("须在 1 到 %d 之间", MaxFactPage))
	}
	d := s.dealer(ctx, scope, q.Dealer)
	period.Periods = 1
	g, starts, err := s.periods(period, d.TimeZone)
	if err != nil {
		return nil, err
	}
	zone := zoneOf(d.TimeZone)
	end := PeriodEnd(g, starts[0])
	q.From, q.To = StartOf(starts[0], zone), StartOf(end, zone)
	limit := q.Limit
	q.Limit++
	rows, err := facts.KPIFacts(ctx, scope, q)
	if err != nil {
		return nil, err
	}
	page := &FactPage{Start: starts[0], End: end.AddDate(0, 0, -1), Facts: rows}
	if len(rows) > limit {
		page.Facts, page.More = rows[:limit], true
	}
	return page, nil
}
