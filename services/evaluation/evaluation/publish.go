package evaluation

import (
	"time"
)

// Publishing a dealer's KPI period (the kpi_period.published webhook
// event, SPEC: events for DMS/BI):
//   - A week or month is published once it has ended in the dealer's
//     time zone: by the first rollup of the dealer after its last local
//     day, whether or not that rollup had new facts. Only the period that
//     ended last is published for the first time (a new installation does
//     not publish its history).
//   - A later rollup that changes the figures of a period already
//     published (a late fact, a correction at the source) publishes it
//     again with the next Revision; a rollup that changes nothing
//     publishes nothing, however often it reruns.
//   - A period without any figure is not published.
//
// A revision is the same event type: a receiver keeps, per Resource, the
// highest revision, and one that subscribes to kpi_period.published
// cannot miss a correction by not knowing a second type.

// PublishedPeriod is the event's data: aggregates only, never a fact or
// anything about a person.
type PublishedPeriod struct {
	Dealer      string `json:"dealer"`
	Granularity string `json:"granularity"`
	// PeriodStart and PeriodEnd are local dates (YYYY-MM-DD, the end
	// inclusive) in TimeZone, the dealer's.
	PeriodStart string `json:"period_start"`
	PeriodEnd   string `json:"period_end"`
	TimeZone    string `json:"time_zone"`
	// Revision is 1 when first published, then 2, 3, ... per correction.
	Revision int            `json:"revision"`
	KPIs     []PublishedKPI `json:"kpis"`
	// CompositeScore (0-100) against the targets in force, version
	// TargetSetVersion; absent without targets.
	CompositeScore   *float64 `json:"composite_score,omitempty"`
	TargetSetVersion int      `json:"target_set_version,omitempty"`
}

// PublishedKPI is one KPI's figure in a published period.
type PublishedKPI struct {
	KPI string `json:"kpi"`
	// Numerator as the API answers it (points for ssi and csi).
	Numerator   float64  `json:"numerator"`
	Denominator int64    `json:"denominator"`
	Value       *float64 `json:"value,omitempty"`
}

// PeriodResource is the published period's resource name, e.g.
// dealers/SH001/kpis/month/2026-11-01: its events are delivered in order.
func PeriodResource(dealer string, g Granularity, start Date) string {
	return "dealers/" + dealer + "/kpis/" + string(g) + "/" + start.Format(time.DateOnly)
}

// LastEnded is the start of the latest period of g that has ended by
// today (a local date).
func LastEnded(g Granularity, today Date) Date {
	return PreviousStart(g, PeriodStart(g, today))
}

// Ended reports whether the period of g starting at start has ended by
// today (a local date).
func Ended(g Granularity, start, today Date) bool { return !PeriodEnd(g, start).After(today) }

// Publication is the event data of dealer's period with figures f, the
// target sets sets and revision rev.
func Publication(dealer, zone string, g Granularity, start Date, rev int, f Figures, sets []TargetSet) PublishedPeriod {
	p := PublishedPeriod{Dealer: dealer, Granularity: string(g), PeriodStart: start.Format(time.DateOnly),
		PeriodEnd: PeriodEnd(g, start).AddDate(0, 0, -1).Format(time.DateOnly), TimeZone: zone, Revision: rev,
		KPIs: []PublishedKPI{}}
	for _, k := range KPIs {
		fig, ok := f[k]
		if !ok {
			continue
		}
		pk := PublishedKPI{KPI: k, Numerator: NumeratorValue(k, fig), Denominator: fig.Denominator}
		if v, ok := Value(k, fig); ok {
			pk.Value = &v
		}
		p.KPIs = append(p.KPIs, pk)
	}
	if set := InForce(sets, start); set != nil {
		if score, ok := Composite(f, set); ok {
			p.CompositeScore, p.TargetSetVersion = &score, set.Version
		}
	}
	return p
}
