package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/idempotency"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
)

func as(p auth.Principal) context.Context {
	return auth.NewContextWithPrincipal(context.Background(), &p)
}

func wantCode(t *testing.T, err error, code, field string) {
	t.Helper()
	if apperr.Code(err) != code || (field != "" && !strings.Contains(err.Error(), field)) {
		t.Errorf("got %v, want %s naming %q", err, code, field)
	}
}

// TestInspections: HQ admins publish checklists, HQ staff record
// inspections scored (total − deducted) ÷ total × 100; bad input names its
// field and stores nothing; a dealer reads its own inspections and not
// another's; the trend counts a visit in the dealer's local month, and
// the rollup's inspection_score matches it exactly.
func TestInspections(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	dealers := []evaluation.Dealer{
		{Code: "SH001", Region: "EAST", TimeZone: "Asia/Shanghai"},
		{Code: "UR001", Region: "WEST", TimeZone: "Asia/Urumqi"}, // UTC+6
	}
	if err := s.SyncDealers(ctx, dealers, time.Now()); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
	svc := evaluation.NewService(s, tenancy.Access{}, func() time.Time { return now })
	ins := evaluation.NewInspections(svc, s)
	admin := as(auth.Principal{Subject: "hq-admin", Roles: []auth.Role{auth.RoleHQAdmin}})
	analyst := as(auth.Principal{Subject: "inspector-li", Roles: []auth.Role{auth.RoleHQAnalyst}})
	shManager := as(auth.Principal{Subject: "mgr-sh", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: "SH001"})
	urAgent := as(auth.Principal{Subject: "agent-ur", Roles: []auth.Role{auth.RoleAgent}, Dealer: "UR001"})

	items := []evaluation.InspectionItem{
		{Code: "A01", Text: "展厅整洁", Category: "facilities", MaxDeduction: 10},
		{Code: "B01", Text: "预约流程", Category: "process", MaxDeduction: 30},
	}
	// Publishing: HQ admins only, errors name the field, nothing stored.
	_, err := ins.CreateChecklist(analyst, evaluation.Checklist{Title: "2027 售后服务检核", Items: items})
	wantCode(t, err, apperr.EFORBIDDEN, "")
	_, err = ins.CreateChecklist(admin, evaluation.Checklist{Title: "x", Items: []evaluation.InspectionItem{items[0], items[0]}})
	wantCode(t, err, apperr.EINVALID, "checklist.items[1].code")
	_, err = ins.CreateChecklist(admin, evaluation.Checklist{Title: "x", Items: []evaluation.InspectionItem{{Code: "A", Text: "t", MaxDeduction: 101}}})
	wantCode(t, err, apperr.EINVALID, "checklist.items[0].max_deduction")
	// No checklist yet: an inspection cannot be scored.
	_, err = ins.CreateInspection(analyst, "SH001", evaluation.Inspection{VisitTime: now})
	wantCode(t, err, apperr.EFAILEDPRECOND, "")
	c, err := ins.CreateChecklist(admin, evaluation.Checklist{Title: "2027 售后服务检核", Items: items})
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 1 || c.TotalPoints != 40 || c.CreateBy != "hq-admin" {
		t.Errorf("checklist %+v", c)
	}
	if list, err := ins.Checklists(urAgent); err != nil || len(list) != 1 {
		t.Errorf("a dealer reads the checklists: %v %v", list, err)
	}

	// Recording: bad input names the field and stores nothing.
	visit := time.Date(2026, 10, 31, 17, 30, 0, 0, time.UTC) // 01:30 on 1 November in Shanghai
	good := evaluation.Inspection{VisitTime: visit, Summary: "整体良好", Items: []evaluation.ItemResult{
		{Code: "A01", Deduction: 5, EvidenceNote: "展厅地面有污渍"}, {Code: "B01", Deduction: 10, EvidenceNote: "预约未确认"}}}
	for field, bad := range map[string]evaluation.Inspection{
		"inspection.items[1].deduction":     {VisitTime: visit, Items: []evaluation.ItemResult{{Code: "A01"}, {Code: "B01", Deduction: 31, EvidenceNote: "x"}}},
		"inspection.items[0].deduction":     {VisitTime: visit, Items: []evaluation.ItemResult{{Code: "A01", Deduction: -1}}},
		"inspection.items[0].code":          {VisitTime: visit, Items: []evaluation.ItemResult{{Code: "Z99"}}},
		"inspection.items[1].code":          {VisitTime: visit, Items: []evaluation.ItemResult{{Code: "A01"}, {Code: "A01"}}},
		"inspection.items[0].evidence_note": {VisitTime: visit, Items: []evaluation.ItemResult{{Code: "A01", Deduction: 2}}},
		"inspection.visit_time":             {Items: good.Items},
		"inspection.checklist_version":      {ChecklistVersion: 7, VisitTime: visit},
		"inspection.summary":                {VisitTime: visit, Summary: "客户 13912345678 投诉"},
	} {
		_, err := ins.CreateInspection(analyst, "SH001", bad)
		wantCode(t, err, apperr.EINVALID, field)
	}
	future := good
	future.VisitTime = now.Add(time.Hour)
	_, err = ins.CreateInspection(analyst, "SH001", future)
	wantCode(t, err, apperr.EINVALID, "inspection.visit_time")
	note := good
	note.Items = []evaluation.ItemResult{{Code: "A01", Deduction: 1, EvidenceNote: "身份证 110101199003071234 留在前台"}}
	_, err = ins.CreateInspection(analyst, "SH001", note)
	wantCode(t, err, apperr.EINVALID, "inspection.items[0].evidence_note")
	_, err = ins.CreateInspection(shManager, "SH001", good)
	wantCode(t, err, apperr.EFORBIDDEN, "")
	_, err = ins.CreateInspection(urAgent, "SH001", good)
	wantCode(t, err, apperr.ENOTFOUND, "")
	_, err = ins.CreateInspection(analyst, "XX999", good)
	wantCode(t, err, apperr.ENOTFOUND, "")
	if list, err := ins.List(admin, "SH001", 10, nil); err != nil || len(list) != 0 {
		t.Fatalf("refused inspections were stored: %v %v", list, err)
	}

	// Keyed (the gateway forwards the Idempotency-Key): the retry of a
	// create whose answer was lost answers the same inspection and stores
	// no second one (the counts and means below see one).
	keyed := idempotency.NewContext(analyst, idempotency.Request{Key: "k-1", Caller: "inspector-li", Method: "/CreateInspection", Hash: []byte("good")})
	first, err := ins.CreateInspection(keyed, "SH001", good)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := ins.CreateInspection(keyed, "SH001", good); err != nil || again.ID != first.ID || again.Score != first.Score {
		t.Fatalf("keyed retry: %+v, %v; want inspection %s again", again, err, first.ID)
	}
	if list, err := ins.List(admin, "SH001", 10, nil); err != nil || len(list) != 1 {
		t.Fatalf("after a keyed retry: %d inspections (%v), want 1", len(list), err)
	}
	// 40 points, 15 deducted: 62.5.
	if first.Score != 6250 || first.DeductedPoints != 15 || first.TotalPoints != 40 || first.Inspector != "inspector-li" || first.ChecklistVersion != 1 {
		t.Errorf("inspection %+v", first)
	}
	// A second in November (no deduction: 100), and one a minute before
	// Shanghai's November (15:59 UTC on 31 October is 23:59 there).
	second, err := ins.CreateInspection(admin, "SH001", evaluation.Inspection{VisitTime: time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)})
	if err != nil || second.Score != 10000 {
		t.Fatalf("second %+v %v", second, err)
	}
	oct, err := ins.CreateInspection(analyst, "SH001", evaluation.Inspection{VisitTime: time.Date(2026, 10, 31, 15, 59, 0, 0, time.UTC),
		Items: []evaluation.ItemResult{{Code: "B01", Deduction: 30, EvidenceNote: "无预约流程"}}})
	if err != nil || oct.Score != 2500 {
		t.Fatalf("October %+v %v", oct, err)
	}
	ur, err := ins.CreateInspection(analyst, "UR001", evaluation.Inspection{VisitTime: visit, // 23:30 on 31 October in Urumqi
		Items: []evaluation.ItemResult{{Code: "A01", Deduction: 1, EvidenceNote: "灯坏"}}})
	if err != nil || ur.Score != 9750 {
		t.Fatalf("UR001 %+v %v", ur, err)
	}

	// Reading: the dealer's own staff, HQ; another dealer gets ENOTFOUND,
	// also with the other's id under its own code (RLS and the query).
	if got, err := ins.Inspection(shManager, "SH001", first.ID); err != nil || got.Score != 6250 || len(got.Items) != 2 || got.Items[0].EvidenceNote != "展厅地面有污渍" {
		t.Errorf("SH001 reads its inspection: %+v %v", got, err)
	}
	_, err = ins.Inspection(urAgent, "SH001", first.ID)
	wantCode(t, err, apperr.ENOTFOUND, "")
	_, err = ins.Inspection(urAgent, "UR001", first.ID)
	wantCode(t, err, apperr.ENOTFOUND, "")
	_, err = ins.List(urAgent, "SH001", 10, nil)
	wantCode(t, err, apperr.ENOTFOUND, "")
	_, err = ins.Inspection(admin, "SH001", "not-a-uuid")
	wantCode(t, err, apperr.ENOTFOUND, "")
	page1, err := ins.List(shManager, "SH001", 2, nil)
	if err != nil || len(page1) != 2 || page1[0].ID != second.ID || page1[1].ID != first.ID {
		t.Fatalf("page 1: %+v %v", page1, err)
	}
	page2, err := ins.List(shManager, "SH001", 2, &evaluation.InspectionCursor{VisitTime: page1[1].VisitTime, ID: page1[1].ID})
	if err != nil || len(page2) != 1 || page2[0].ID != oct.ID {
		t.Fatalf("page 2: %+v %v", page2, err)
	}

	// The trend, in each dealer's own months.
	trend, err := ins.Scores(shManager, "SH001", evaluation.Query{Granularity: evaluation.Month, Date: "2026-11-15", Periods: 2})
	if err != nil {
		t.Fatal(err)
	}
	if p := trend.Periods; len(p) != 2 || p[0].Figure != (evaluation.Figure{Numerator: 2500, Denominator: 1}) ||
		p[1].Figure != (evaluation.Figure{Numerator: 16250, Denominator: 2}) {
		t.Errorf("SH001 trend %+v", trend.Periods)
	}
	urTrend, err := ins.Scores(urAgent, "UR001", evaluation.Query{Granularity: evaluation.Month, Date: "2026-11-15", Periods: 2})
	if err != nil || urTrend.Periods[0].Figure != (evaluation.Figure{Numerator: 9750, Denominator: 1}) || urTrend.Periods[1].Figure.Denominator != 0 {
		t.Errorf("UR001 trend %+v %v", urTrend, err)
	}
	_, err = ins.Scores(urAgent, "SH001", evaluation.Query{})
	wantCode(t, err, apperr.ENOTFOUND, "")

	// The rollup's inspection_score is the trend's, month and week, and
	// the KPI's value is the mean score.
	rollUp(t, s)
	for _, d := range []string{"SH001", "UR001"} {
		for _, g := range []evaluation.Granularity{evaluation.Month, evaluation.Week, evaluation.Day} {
			q := evaluation.Query{Granularity: g, Date: "2026-11-30", Periods: 70}
			if g == evaluation.Month {
				q.Periods = 3
			}
			trend, err := ins.Scores(admin, d, q)
			if err != nil {
				t.Fatal(err)
			}
			var starts []evaluation.Date
			for _, p := range trend.Periods {
				starts = append(starts, p.Start)
			}
			figs, err := s.Figures(ctx, pg.AllDealers(), []string{d}, g, starts)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range trend.Periods {
				if got := figs[p.Start][evaluation.InspectionScore]; got != p.Figure {
					t.Errorf("%s %s %s: rollup %+v, trend %+v", d, g, p.Start.Format(time.DateOnly), got, p.Figure)
				}
			}
		}
	}
	table, err := svc.DealerKpis(shManager, "SH001", evaluation.Query{Date: "2026-11-15"})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := evaluation.Value(evaluation.InspectionScore, table.Periods[0].Figures[evaluation.InspectionScore]); !ok || v != 81.25 {
		t.Errorf("SH001 November inspection_score %v %v, want 81.25", v, ok)
	}
}

// TestInspectionWeightMovesRank: with HQ's inspection weight absent or 0
// the ranking is the other KPIs' alone; weighting inspection_score moves
// the dealer inspected well above the one with the better callback rate.
func TestInspectionWeightMovesRank(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	if err := s.SyncDealers(ctx, []evaluation.Dealer{
		{Code: "SH001", Region: "EAST", TimeZone: "Asia/Shanghai"}, {Code: "BJ001", Region: "NORTH", TimeZone: "Asia/Shanghai"},
	}, time.Now()); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
	svc := evaluation.NewService(s, tenancy.Access{}, func() time.Time { return now })
	ins := evaluation.NewInspections(svc, s)
	admin := as(auth.Principal{Subject: "hq-admin", Roles: []auth.Role{auth.RoleHQAdmin}})

	// November 3DC: BJ001 2 of 2, SH001 1 of 2.
	due := time.Date(2026, 11, 10, 2, 0, 0, 0, time.UTC)
	var f evaluation.Facts
	for i, c := range []struct {
		dealer, status string
	}{{"BJ001", "completed"}, {"BJ001", "completed"}, {"SH001", "completed"}, {"SH001", "open"}} {
		fact := evaluation.CallbackFact{Dealer: c.dealer, TaskID: "t" + string(rune('0'+i)), Kind: evaluation.Kind3DC, SourceID: "ro",
			Status: c.status, DueTime: due, Deadline: due.Add(72 * time.Hour)}
		if c.status == "completed" {
			fact.CompleteTime, fact.Score = due.Add(time.Hour), 90
		}
		f.Callbacks = append(f.Callbacks, evaluation.Versioned[evaluation.CallbackFact]{Seq: int64(i + 1), Fact: fact})
	}
	if _, err := s.ApplyFacts(ctx, f, "", ""); err != nil {
		t.Fatal(err)
	}
	c, err := ins.CreateChecklist(admin, evaluation.Checklist{Title: "检核", Items: []evaluation.InspectionItem{{Code: "A01", Text: "t", MaxDeduction: 100}}})
	if err != nil {
		t.Fatal(err)
	}
	visit := time.Date(2026, 11, 12, 2, 0, 0, 0, time.UTC)
	for d, deduct := range map[string]int{"SH001": 0, "BJ001": 80} {
		if _, err := ins.CreateInspection(admin, d, evaluation.Inspection{ChecklistVersion: c.Version, VisitTime: visit,
			Items: []evaluation.ItemResult{{Code: "A01", Deduction: deduct, EvidenceNote: "现场检查"}}}); err != nil {
			t.Fatal(err)
		}
	}
	rollUp(t, s)

	order := func(targets ...evaluation.Target) []string {
		t.Helper()
		if _, err := svc.CreateTargetSet(admin, evaluation.TargetSet{EffectiveMonth: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Targets: targets}); err != nil {
			t.Fatal(err)
		}
		res, err := svc.Rank(admin, evaluation.Query{Date: "2026-11-15"}, "")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range res.Ranks {
			out = append(out, r.Dealer)
		}
		return out
	}
	rate := evaluation.Target{KPI: evaluation.CallbackRate3DC, Target: 1, Weight: 1}
	if got := strings.Join(order(rate), ","); got != "BJ001,SH001" {
		t.Errorf("without an inspection target: %s", got)
	}
	if got := strings.Join(order(rate, evaluation.Target{KPI: evaluation.InspectionScore, Target: 90, Weight: 0}), ","); got != "BJ001,SH001" {
		t.Errorf("inspection weight 0: %s", got)
	}
	// SH001: (1 × 0.5 + 3 × 1) ÷ 4 = 87.5; BJ001: (1 × 1 + 3 × 20/90) ÷ 4 ≈ 41.7.
	if got := strings.Join(order(rate, evaluation.Target{KPI: evaluation.InspectionScore, Target: 90, Weight: 3}), ","); got != "SH001,BJ001" {
		t.Errorf("inspection weight 3: %s", got)
	}
	res, _ := svc.Rank(admin, evaluation.Query{Date: "2026-11-15"}, "")
	if res.Ranks[0].Score != 87.5 {
		t.Errorf("SH001's composite %v, want 87.5", res.Ranks[0].Score)
	}
}
