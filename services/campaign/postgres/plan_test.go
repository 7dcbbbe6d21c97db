package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/campaign/campaign"
	"github.com/jackc/pgx/v5"
)

func TestMaintenancePlans(t *testing.T) {
	e := setup(t)
	admin := as([]auth.Role{auth.RoleHQAdmin}, "")
	e.dir.contacts["SH001"][0].VIN, e.dir.contacts["SH001"][0].Model = recallVIN(1), "帕萨特"
	e.dir.contacts["SH001"][1].VIN, e.dir.contacts["SH001"][1].Model = recallVIN(2), "途观"

	ps, err := e.svc.Plans(agent1)
	if err != nil || len(ps) != 1 || ps[0] != (campaign.Plan{Model: "default", Months: 6, IntervalKM: 5000, KMPerDay: 40, UpdateTime: ps[0].UpdateTime}) {
		t.Fatalf("plans = %+v, %v; want the default", ps, err)
	}
	if _, err := e.svc.SetPlan(manager, campaign.Plan{Model: "帕萨特", Months: 3}, []string{"months"}); apperr.Code(err) != apperr.EFORBIDDEN {
		t.Errorf("a dealer manager sets a plan: %v", err)
	}
	if _, err := e.svc.SetPlan(admin, campaign.Plan{Model: "帕萨特", Months: 61}, []string{"months"}); apperr.Code(err) != apperr.EINVALID || !strings.Contains(err.Error(), "plan.months") {
		t.Errorf("61 months: %v", err)
	}
	if _, err := e.svc.SetPlan(admin, campaign.Plan{Model: "帕萨特"}, []string{"colour"}); apperr.Code(err) != apperr.EINVALID || !strings.Contains(err.Error(), "update_mask") {
		t.Errorf("unknown mask field: %v", err)
	}
	// A new model's plan: the mask's fields, the rest from the default.
	p, err := e.svc.SetPlan(admin, campaign.Plan{Model: "帕萨特", Months: 3}, []string{"months"})
	if err != nil || p.Months != 3 || p.IntervalKM != 5000 || p.KMPerDay != 40 {
		t.Fatalf("set = %+v, %v", p, err)
	}
	if _, err := e.svc.SetPlan(admin, campaign.Plan{Model: campaign.DefaultModel, Months: 6, IntervalKM: 7500, KMPerDay: 30}, nil); err != nil {
		t.Fatal(err)
	}
	for vin, want := range map[string]campaign.Plan{
		recallVIN(1): {Model: "帕萨特", Months: 3, IntervalKM: 5000, KMPerDay: 40},
		recallVIN(2): {Model: "default", Months: 6, IntervalKM: 7500, KMPerDay: 30}, // 途观 has no plan
		recallVIN(3): {Model: "default", Months: 6, IntervalKM: 7500, KMPerDay: 30}, // no archive knows it
	} {
		got, err := e.svc.VehiclePlan(worker, vin)
		got.UpdateTime = want.UpdateTime
		if err != nil || got != want {
			t.Errorf("plan of %s = %+v, %v; want %+v", vin, got, err, want)
		}
	}
	if ps, _ := e.svc.Plans(hq); len(ps) != 2 || ps[0].Model != "default" || ps[1].Model != "帕萨特" {
		t.Errorf("plans = %+v", ps)
	}
	if err := e.svc.DeletePlan(admin, campaign.DefaultModel); apperr.Code(err) != apperr.ECONFLICT {
		t.Errorf("delete the default: %v", err)
	}
	if err := e.svc.DeletePlan(admin, "帕萨特"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Plan(hq, "帕萨特"); apperr.Code(err) != apperr.ENOTFOUND {
		t.Errorf("deleted plan: %v", err)
	}
	if got, _ := e.svc.VehiclePlan(worker, recallVIN(1)); got.Model != "default" {
		t.Errorf("after delete, plan of 帕萨特's VIN = %+v", got)
	}
}

func TestEnsureHolidayGreeting(t *testing.T) {
	e := setup(t)
	start := t0.Add(30 * 24 * time.Hour)
	a, err := e.svc.EnsureHolidayGreeting(worker, "spring_festival", "春节", "2027-02-06", start)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.svc.EnsureHolidayGreeting(worker, "spring_festival", "春节", "2027-02-06", start)
	if err != nil || b.ID != a.ID || a.State != campaign.StateScheduled || !a.StartTime.Equal(start) || a.Owner != campaign.HQOwner || a.Kind != campaign.KindHolidayGreeting {
		t.Fatalf("ensured %+v then %+v (%v)", a, b, err)
	}
	if !strings.Contains(a.Template.Body, "春节快乐") {
		t.Errorf("template = %q", a.Template.Body)
	}
	var events int
	if err := pg.InReadOnlyTx(context.Background(), e.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM outbox_events WHERE workflow_id = $1`, campaign.WorkflowID("", a.ID)).Scan(&events)
	}); err != nil || events != 1 {
		t.Errorf("%d workflow events (%v), want 1", events, err)
	}
	if _, err := e.svc.EnsureHolidayGreeting(worker, "x", "x", "2027-13-01", start); apperr.Code(err) != apperr.EINVALID {
		t.Errorf("bad date: %v", err)
	}
}
