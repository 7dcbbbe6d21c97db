package demo

import (
	"context"
	"fmt"
	"time"

	evaluationv1 "github.com/dealercare/dealercare/gen/go/dealercare/evaluation/v1"
)

// KpiTargets are HQ's demo standards, so `make run` ranks its dealers
// from the first month of the demo year: callbacks and satisfaction
// weigh most, then the workshop's first-time fix and bookings.
var KpiTargets = []*evaluationv1.KpiTarget{
	{Kpi: "callback_rate_3dc", Target: 0.95, Weight: 3},
	{Kpi: "callback_rate_7dc", Target: 0.95, Weight: 2},
	{Kpi: "ssi", Target: 90, Weight: 2},
	{Kpi: "first_time_fix_rate", Target: 0.95, Weight: 3},
	{Kpi: "appointment_rate", Target: 0.5, Weight: 2},
	{Kpi: "complaint_response_sla_rate", Target: 0.9, Weight: 1},
	{Kpi: "churn_rate", Target: 0.05, Weight: 1},
}

// LoadKpiTargets creates HQ's demo target set, in force from the month a
// year before now, unless HQ already has one; it reports whether it did.
func LoadKpiTargets(ctx context.Context, client evaluationv1.KpiServiceClient, now time.Time) (bool, error) {
	sets, err := client.ListKpiTargetSets(ctx, &evaluationv1.ListKpiTargetSetsRequest{})
	if err != nil {
		return false, fmt.Errorf("list KPI targets: %w", err)
	}
	if len(sets.GetTargetSets()) > 0 {
		return false, nil
	}
	_, err = client.CreateKpiTargetSet(ctx, &evaluationv1.CreateKpiTargetSetRequest{TargetSet: &evaluationv1.KpiTargetSet{
		EffectiveMonth: now.AddDate(-1, 0, 0).Format("2006-01"), Targets: KpiTargets,
	}})
	if err != nil {
		return false, fmt.Errorf("create KPI targets: %w", err)
	}
	return true, nil
}
