package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/pgtest"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
	"github.com/dealercare/dealercare/services/evaluation/postgres"
)

func open(t *testing.T) *postgres.Store {
	t.Helper()
	db := pgtest.NewFrom(t, postgres.Schema, postgres.Migrations)
	if err := pg.VerifyTenantTables(context.Background(), db.Pool, postgres.Schema); err != nil {
		t.Fatal(err)
	}
	return postgres.NewStore(db.AppPool(t, pg.Config{}))
}

// world is the latest copy of every fact, as the naive reference reads
// them: straight from SPEC's definitions, period by period, with no day
// figures, no dirty marks and no SQL.
type world struct {
	dealers   []evaluation.Dealer
	callbacks map[string]evaluation.Versioned[evaluation.CallbackFact]
	sales     map[string]evaluation.Versioned[evaluation.DeliveryFact]
	cases     map[string]evaluation.Versioned[evaluation.ComplaintFact]
	orders    map[string]evaluation.Versioned[evaluation.RepairOrderFact]
	dues      map[string]evaluation.Versioned[evaluation.ServiceDueFact]
	archives  map[string]evaluation.Versioned[evaluation.ArchiveFact]
	targets   map[string]evaluation.Versioned[evaluation.CampaignTargetFact]
}

func newWorld(dealers []evaluation.Dealer) *world {
	return &world{dealers: dealers,
		callbacks: map[string]evaluation.Versioned[evaluation.CallbackFact]{}, sales: map[string]evaluation.Versioned[evaluation.DeliveryFact]{},
		cases: map[string]evaluation.Versioned[evaluation.ComplaintFact]{}, orders: map[string]evaluation.Versioned[evaluation.RepairOrderFact]{},
		dues: map[string]evaluation.Versioned[evaluation.ServiceDueFact]{}, archives: map[string]evaluation.Versioned[evaluation.ArchiveFact]{},
		targets: map[string]evaluation.Versioned[evaluation.CampaignTargetFact]{}}
}

// keep stores v under key unless the stored copy is as new (what the
// store must do too).
func keep[T any](m map[string]evaluation.Versioned[T], key string, v evaluation.Versioned[T]) {
	if old, ok := m[key]; ok && old.Seq >= v.Seq {
		return
	}
	m[key] = v
}

func (w *world) add(f evaluation.Facts) {
	for _, v := range f.Callbacks {
		keep(w.callbacks, v.Fact.Dealer+"/"+v.Fact.TaskID, v)
	}
	for _, v := range f.Deliveries {
		keep(w.sales, v.Fact.Dealer+"/"+v.Fact.SaleID, v)
	}
	for _, v := range f.Complaints {
		keep(w.cases, v.Fact.ComplaintID, v)
	}
	for _, v := range f.RepairOrders {
		keep(w.orders, v.Fact.Dealer+"/"+v.Fact.RepairOrderID, v)
	}
	for _, v := range f.ServiceDues {
		keep(w.dues, v.Fact.Dealer+"/"+v.Fact.VIN+"/"+v.Fact.DueTime.String(), v)
	}
	for _, v := range f.Archives {
		keep(w.archives, v.Fact.Dealer+"/"+v.Fact.ArchiveID, v)
	}
	for _, v := range f.CampaignTargets {
		keep(w.targets, v.Fact.Dealer+"/"+v.Fact.CampaignID+"/"+v.Fact.CustomerID, v)
	}
}

func in(t, lo, hi time.Time) bool { return !t.IsZero() && !t.Before(lo) && t.Before(hi) }

// before orders visits as the rollup does: by open time, dealer, id.
func before(a, b evaluation.RepairOrderFact) bool {
	if !a.OpenTime.Equal(b.OpenTime) {
		return a.OpenTime.Before(b.OpenTime)
	}
	if a.Dealer != b.Dealer {
		return a.Dealer < b.Dealer
	}
	return a.RepairOrderID < b.RepairOrderID
}

// naive computes one dealer's figures over [lo, hi) from SPEC's words.
func (w *world) naive(dealer string, lo, hi time.Time) evaluation.Figures {
	f := evaluation.Figures{}
	inc := func(kpi string, num, den int64) {
		f[kpi] = f[kpi].Add(evaluation.Figure{Numerator: num, Denominator: den})
	}
	b := func(ok bool) int64 {
		if ok {
			return 1
		}
		return 0
	}
	for _, v := range w.callbacks {
		c := v.Fact
		if c.Dealer != dealer || (c.Kind != "3DC" && c.Kind != "7DC") {
			continue
		}
		rate, mean := "callback_rate_3dc", "ssi"
		if c.Kind == "7DC" {
			rate, mean = "callback_rate_7dc", "csi"
		}
		if c.Status != "cancelled" && in(c.DueTime, lo, hi) {
			inc(rate, b(c.Status == "completed"), 1)
		}
		if c.Status == "completed" && in(c.CompleteTime, lo, hi) {
			inc(mean, c.ScoreHundredths(), 1)
		}
	}
	for _, v := range w.sales {
		d := v.Fact
		if d.Dealer != dealer || !in(d.DeliveredTime, lo, hi) {
			continue
		}
		done := false
		for _, c := range w.callbacks {
			if c.Fact.Dealer == dealer && c.Fact.Kind == "7DC" && c.Fact.SourceID == d.SaleID && c.Fact.Status == "completed" && !c.Fact.CompleteTime.After(c.Fact.Deadline) {
				done = true
			}
		}
		inc("new_customer_callback_rate", b(done), 1)
	}
	for _, v := range w.cases {
		c := v.Fact
		if c.Dealer != dealer {
			continue
		}
		if in(c.CloseTime, lo, hi) {
			inc("complaint_one_time_closure_rate", b(c.ReopenCount == 0), 1)
		}
		if in(c.CreateTime, lo, hi) {
			inc("complaint_response_sla_rate", b(c.ResponseMet), 1)
			inc("complaint_resolution_sla_rate", b(c.ResolutionMet), 1)
		}
	}
	for _, v := range w.dues {
		d := v.Fact
		if d.Dealer != dealer || !in(d.DueTime, lo, hi) {
			continue
		}
		back := false
		for _, r := range w.orders {
			if r.Fact.VIN == d.VIN && !r.Fact.OpenTime.Before(d.DueTime.Add(-evaluation.ReturnWindow)) && !r.Fact.OpenTime.After(d.DueTime.Add(evaluation.ReturnWindow)) {
				back = true
			}
		}
		inc("return_rate", b(back), 1)
	}
	// Churn: a visit here whose 365th day falls in the period with no
	// later visit by then; active: the vehicle's latest visit before the
	// period, here, within 365 days of its start.
	latest := map[string]evaluation.RepairOrderFact{}
	for _, v := range w.orders {
		r := v.Fact
		if r.OpenTime.Before(lo) {
			if l, ok := latest[r.VIN]; !ok || before(l, r) {
				latest[r.VIN] = r
			}
		}
		if r.Dealer != dealer {
			continue
		}
		if old := r.OpenTime.Add(evaluation.ChurnHorizon); in(old, lo, hi) {
			again := false
			for _, n := range w.orders {
				if n.Fact.VIN == r.VIN && before(r, n.Fact) && !n.Fact.OpenTime.After(old) {
					again = true
				}
			}
			inc("churn_rate", b(!again), 0)
		}
	}
	for _, l := range latest {
		if l.Dealer == dealer && !lo.After(l.OpenTime.Add(evaluation.ChurnHorizon)) {
			inc("churn_rate", 0, 1)
		}
	}
	for _, v := range w.targets {
		t := v.Fact
		if t.Dealer != dealer {
			continue
		}
		if in(t.WindowStart, lo, hi) {
			inc("campaign_return_count", 0, 1)
		}
		var first time.Time
		for _, r := range w.orders {
			if r.Fact.VIN == t.VIN && in(r.Fact.OpenTime, t.WindowStart, t.WindowEnd) && t.Returns(r.Fact.Type, r.Fact.CampaignCode) &&
				(first.IsZero() || r.Fact.OpenTime.Before(first)) {
				first = r.Fact.OpenTime
			}
		}
		if in(first, lo, hi) {
			inc("campaign_return_count", 1, 0)
		}
	}
	for _, v := range w.orders {
		r := v.Fact
		if r.Dealer != dealer {
			continue
		}
		if in(r.CloseTime, lo, hi) {
			fixed := true
			for _, n := range w.orders {
				if n.Fact.VIN == r.VIN && n.Fact.Type == "repair" && n.Fact.OpenTime.After(r.CloseTime) && !n.Fact.OpenTime.After(r.CloseTime.Add(evaluation.FixWindow)) {
					fixed = false
				}
			}
			inc("first_time_fix_rate", b(fixed), 1)
		}
		if in(r.OpenTime, lo, hi) {
			inc("appointment_rate", b(r.ByAppointment), 1)
		}
	}
	for _, v := range w.archives {
		a := v.Fact
		if a.Dealer != dealer || !in(a.EnteredTime, lo, hi) {
			continue
		}
		inc("archive_timeliness_rate", b(a.EnteredTime.Sub(a.TriggerTime) <= evaluation.ArchiveTimeliness), 1)
		inc("archive_accuracy_rate", b(a.Valid), 1)
	}
	for k, v := range f {
		if v == (evaluation.Figure{}) {
			delete(f, k)
		}
	}
	return f
}

// generator makes random facts around month ends and midnights.
type generator struct {
	r       *rand.Rand
	dealers []evaluation.Dealer
	from    time.Time
	span    time.Duration
	seq     int64
	vins    []string
}

func (g *generator) instant() time.Time {
	t := g.from.Add(time.Duration(g.r.Int64N(int64(g.span))))
	if g.r.IntN(3) == 0 {
		// Near a midnight somewhere: the zones disagree about its day.
		t = t.Truncate(24 * time.Hour).Add(time.Duration(g.r.IntN(240)-120) * time.Minute)
	}
	return t.Truncate(time.Second)
}

func (g *generator) dealer() string { return g.dealers[g.r.IntN(len(g.dealers))].Code }
func (g *generator) next() int64    { g.seq++; return g.seq }
func (g *generator) id(p string, n int) string {
	return fmt.Sprintf("%s-%d", p, n)
}

func (g *generator) callback(i int) evaluation.Versioned[evaluation.CallbackFact] {
	kinds := []string{"3DC", "7DC", "7DC", "NEW_CUSTOMER"}
	statuses := []string{"completed", "completed", "completed", "cancelled", "expired", "unreachable", "pending"}
	due := g.instant()
	c := evaluation.CallbackFact{Dealer: g.dealer(), TaskID: g.id("task", i), Kind: kinds[g.r.IntN(len(kinds))],
		SourceID: g.id("sale", g.r.IntN(40)), Status: statuses[g.r.IntN(len(statuses))], DueTime: due, Deadline: due.Add(48 * time.Hour)}
	if c.Status == "completed" {
		c.CompleteTime = due.Add(time.Duration(g.r.IntN(80)) * time.Hour)
		c.Score = float64(g.r.IntN(10001)) / 100
	}
	return evaluation.Versioned[evaluation.CallbackFact]{Seq: g.next(), Fact: c}
}

func (g *generator) order(i int) evaluation.Versioned[evaluation.RepairOrderFact] {
	types := []string{"maintenance", "repair", "repair", "warranty", "accident", "recall"}
	open := g.instant()
	r := evaluation.RepairOrderFact{Dealer: g.dealer(), RepairOrderID: g.id("ro", i), VIN: g.vins[g.r.IntN(len(g.vins))],
		Type: types[g.r.IntN(len(types))], OpenTime: open, ByAppointment: g.r.IntN(2) == 0}
	if r.Type == "recall" {
		r.CampaignCode = []string{"RC-0", "RC-9"}[g.r.IntN(2)] // the recall campaign's code, or another recall's
	}
	if g.r.IntN(6) > 0 {
		r.CloseTime = open.Add(time.Duration(g.r.IntN(72)) * time.Hour)
	}
	return evaluation.Versioned[evaluation.RepairOrderFact]{Seq: g.next(), Fact: r}
}

func (g *generator) facts(n int) evaluation.Facts {
	var f evaluation.Facts
	for i := range n {
		f.Callbacks = append(f.Callbacks, g.callback(i))
		f.RepairOrders = append(f.RepairOrders, g.order(i))
		if i < 40 {
			f.Deliveries = append(f.Deliveries, evaluation.Versioned[evaluation.DeliveryFact]{Seq: g.next(),
				Fact: evaluation.DeliveryFact{Dealer: g.dealer(), SaleID: g.id("sale", i), DeliveredTime: g.instant()}})
		}
		if i%2 == 0 {
			c := evaluation.ComplaintFact{Dealer: g.dealer(), ComplaintID: g.id("complaint", i), Severity: "low", CreateTime: g.instant(),
				ResponseMet: g.r.IntN(3) > 0, ResolutionMet: g.r.IntN(2) > 0, ReopenCount: g.r.IntN(3) / 2}
			if g.r.IntN(3) > 0 {
				c.CloseTime = c.CreateTime.Add(time.Duration(g.r.IntN(400)) * time.Hour)
			}
			f.Complaints = append(f.Complaints, evaluation.Versioned[evaluation.ComplaintFact]{Seq: g.next(), Fact: c})
			f.ServiceDues = append(f.ServiceDues, evaluation.Versioned[evaluation.ServiceDueFact]{Seq: g.next(),
				Fact: evaluation.ServiceDueFact{Dealer: g.dealer(), VIN: g.vins[g.r.IntN(len(g.vins))], DueTime: g.instant()}})
			entered := g.instant()
			f.Archives = append(f.Archives, evaluation.Versioned[evaluation.ArchiveFact]{Seq: g.next(),
				Fact: evaluation.ArchiveFact{Dealer: g.dealer(), ArchiveID: g.id("archive", i), EnteredTime: entered,
					TriggerTime: entered.Add(-time.Duration(g.r.IntN(48*60)) * time.Minute), Valid: g.r.IntN(4) > 0}})
		}
		if i%5 == 0 {
			ws := g.instant()
			f.CampaignTargets = append(f.CampaignTargets, evaluation.Versioned[evaluation.CampaignTargetFact]{Seq: g.next(),
				Fact: evaluation.CampaignTargetFact{Dealer: g.dealer(), CampaignID: g.id("campaign", i%3), CustomerID: g.id("customer", i),
					Kind: []string{evaluation.KindRecall, "maintenance_promotion", "care_event"}[i%3], Code: []string{"RC-0", "", "CE-1"}[i%3],
					VIN: g.vins[g.r.IntN(len(g.vins))], WindowStart: ws, WindowEnd: ws.Add(time.Duration(10+g.r.IntN(30)) * 24 * time.Hour)}})
		}
	}
	return f
}

// late returns new versions of some facts (moved times, changed outcomes),
// copies of others with their old sequence (duplicates), and stale copies
// older than what is stored.
func (g *generator) late(f evaluation.Facts) evaluation.Facts {
	var out evaluation.Facts
	for _, v := range f.Callbacks {
		switch g.r.IntN(6) {
		case 0:
			n := g.callback(0)
			n.Fact.TaskID, n.Fact.Dealer, n.Fact.Kind, n.Fact.SourceID = v.Fact.TaskID, v.Fact.Dealer, v.Fact.Kind, v.Fact.SourceID
			out.Callbacks = append(out.Callbacks, n)
		case 1:
			out.Callbacks = append(out.Callbacks, v)
		case 2:
			stale := v
			stale.Seq = v.Seq - 1
			stale.Fact.Status = "completed"
			stale.Fact.CompleteTime = v.Fact.DueTime
			out.Callbacks = append(out.Callbacks, stale)
		}
	}
	for _, v := range f.RepairOrders {
		switch g.r.IntN(5) {
		case 0:
			n := g.order(0)
			n.Fact.RepairOrderID, n.Fact.Dealer = v.Fact.RepairOrderID, v.Fact.Dealer
			out.RepairOrders = append(out.RepairOrders, n)
		case 1:
			out.RepairOrders = append(out.RepairOrders, v)
		}
	}
	for _, v := range f.Complaints {
		if g.r.IntN(3) == 0 {
			n := v
			n.Seq = g.next()
			n.Fact.ReopenCount = 1 - min(v.Fact.ReopenCount, 1)
			n.Fact.Dealer = g.dealer() // transferred
			if !n.Fact.CloseTime.IsZero() {
				n.Fact.CloseTime = n.Fact.CloseTime.Add(-36 * time.Hour)
			}
			out.Complaints = append(out.Complaints, n)
		}
	}
	for _, v := range f.Deliveries {
		if g.r.IntN(3) == 0 {
			n := v
			n.Seq = g.next()
			n.Fact.DeliveredTime = g.instant()
			out.Deliveries = append(out.Deliveries, n)
		}
	}
	for _, v := range f.Archives {
		if g.r.IntN(3) == 0 {
			n := v
			n.Seq = g.next()
			n.Fact.Valid = !v.Fact.Valid
			n.Fact.EnteredTime = g.instant()
			out.Archives = append(out.Archives, n)
		}
	}
	for _, v := range f.CampaignTargets {
		if g.r.IntN(3) == 0 {
			n := v
			n.Seq = g.next()
			n.Fact.WindowStart = g.instant()
			n.Fact.WindowEnd = n.Fact.WindowStart.Add(20 * 24 * time.Hour)
			out.CampaignTargets = append(out.CampaignTargets, n)
		}
	}
	out.ServiceDues = f.ServiceDues[:len(f.ServiceDues)/3]
	return out
}

func apply(t *testing.T, s *postgres.Store, w *world, f evaluation.Facts) {
	t.Helper()
	if _, err := s.ApplyFacts(context.Background(), f, "", ""); err != nil {
		t.Fatal(err)
	}
	w.add(f)
}

func rollUp(t *testing.T, s *postgres.Store) {
	t.Helper()
	for {
		res, err := s.Rollup(context.Background(), 100)
		if err != nil {
			t.Fatal(err)
		}
		if !res.More && res.Dealers == 0 {
			return
		}
	}
}

// check compares every dealer, region and the network, for every
// granularity and period starting in [first, last], with the naive
// figures.
func check(t *testing.T, s *postgres.Store, w *world, first, last evaluation.Date) {
	t.Helper()
	ctx := context.Background()
	regions := map[string][]string{}
	for _, d := range w.dealers {
		regions[d.Region] = append(regions[d.Region], d.Code)
	}
	mismatches := 0
	for _, g := range evaluation.Granularities {
		var starts []evaluation.Date
		for d := evaluation.PeriodStart(g, first); !d.After(last); d = evaluation.PeriodEnd(g, d) {
			starts = append(starts, d)
		}
		naive := map[string]map[evaluation.Date]evaluation.Figures{}
		for _, d := range w.dealers {
			zone, _ := time.LoadLocation(d.TimeZone)
			naive[d.Code] = map[evaluation.Date]evaluation.Figures{}
			for _, st := range starts {
				naive[d.Code][st] = w.naive(d.Code, evaluation.StartOf(st, zone), evaluation.StartOf(evaluation.PeriodEnd(g, st), zone))
			}
		}
		compare := func(scope string, dealers []string) {
			got, err := s.Figures(ctx, pg.AllDealers(), dealers, g, starts)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range starts {
				want := evaluation.Figures{}
				for _, d := range dealers {
					want.Add(naive[d][st])
				}
				if dealers == nil {
					for _, d := range w.dealers {
						want.Add(naive[d.Code][st])
					}
				}
				for _, k := range evaluation.KPIs {
					if got[st][k] != want[k] && mismatches < 20 {
						mismatches++
						t.Errorf("%s %s %s %s: rollup %+v, naive %+v", scope, g, st.Format(time.DateOnly), k, got[st][k], want[k])
					}
				}
			}
		}
		for _, d := range w.dealers {
			compare("dealer "+d.Code, []string{d.Code})
		}
		for r, ds := range regions {
			compare("region "+r, ds)
		}
		compare("network", nil)
	}
}

// fourZones are the reference checks' dealers: two regions, four time
// zones, two of them with daylight saving.
var fourZones = []evaluation.Dealer{
	{Code: "SH001", Region: "EAST", TimeZone: "Asia/Shanghai"},
	{Code: "NY001", Region: "EAST", TimeZone: "America/New_York"},
	{Code: "AK001", Region: "SOUTH", TimeZone: "Pacific/Auckland"},
	{Code: "UT001", Region: "SOUTH", TimeZone: "UTC"},
}

// The reference check: random facts for dealers in four time zones (two
// with daylight saving) over 16 months, rolled up, must match the naive
// reference for every dealer, region, granularity and period; and again
// after late corrections, duplicates and stale copies are replayed.
func TestRollupsMatchTheNaiveReference(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	dealers := fourZones
	if err := s.SyncDealers(ctx, dealers, time.Now()); err != nil {
		t.Fatal(err)
	}
	g := &generator{r: rand.New(rand.NewPCG(15, 2026)), dealers: dealers,
		from: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), span: 16 * 30 * 24 * time.Hour}
	for i := range 25 {
		g.vins = append(g.vins, fmt.Sprintf("VIN%03d", i))
	}
	w := newWorld(dealers)
	facts := g.facts(400)
	// In pages, as a feed delivers them.
	apply(t, s, w, evaluation.Facts{Callbacks: facts.Callbacks[:200], RepairOrders: facts.RepairOrders[:150], Complaints: facts.Complaints})
	apply(t, s, w, evaluation.Facts{Callbacks: facts.Callbacks[200:], RepairOrders: facts.RepairOrders[150:], Deliveries: facts.Deliveries,
		ServiceDues: facts.ServiceDues, Archives: facts.Archives, CampaignTargets: facts.CampaignTargets})
	rollUp(t, s)
	first, last := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 31, 0, 0, 0, 0, time.UTC)
	check(t, s, w, first, last)
	if t.Failed() {
		return
	}

	late := g.late(facts)
	if late.Len() < 100 {
		t.Fatalf("only %d late facts", late.Len())
	}
	apply(t, s, w, late)
	rollUp(t, s)
	check(t, s, w, first, last)

	// Re-running the rollup over everything changes nothing.
	before, err := s.Figures(ctx, pg.AllDealers(), nil, evaluation.Month, evaluation.Periods(evaluation.Month, last, 17))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SyncDealers(ctx, dealers, time.Now()); err != nil {
		t.Fatal(err)
	}
	apply(t, s, w, facts) // all stale or duplicate now: nothing changes
	rollUp(t, s)
	after, err := s.Figures(ctx, pg.AllDealers(), nil, evaluation.Month, evaluation.Periods(evaluation.Month, last, 17))
	if err != nil {
		t.Fatal(err)
	}
	for st, f := range before {
		for _, k := range evaluation.KPIs {
			if after[st][k] != f[k] {
				t.Errorf("replaying old facts moved %s %s: %+v to %+v", st.Format(time.DateOnly), k, f[k], after[st][k])
			}
		}
	}
	if len(after) != len(before) || len(before) < 12 {
		t.Errorf("months with figures: %d before, %d after", len(before), len(after))
	}
}

// A fact of last month corrected late moves last month's rate and no
// other period's figures.
func TestLateFactMovesOnlyItsPeriod(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	dealers := []evaluation.Dealer{{Code: "SH001", Region: "EAST", TimeZone: "Asia/Shanghai"}}
	if err := s.SyncDealers(ctx, dealers, time.Now()); err != nil {
		t.Fatal(err)
	}
	zone, _ := time.LoadLocation("Asia/Shanghai")
	var f evaluation.Facts
	for m := range 3 {
		for i := range 4 {
			due := time.Date(2026, time.Month(9+m), 10+i, 10, 0, 0, 0, zone)
			f.Callbacks = append(f.Callbacks, evaluation.Versioned[evaluation.CallbackFact]{Seq: 1, Fact: evaluation.CallbackFact{
				Dealer: "SH001", TaskID: fmt.Sprintf("t%d-%d", m, i), Kind: "3DC", SourceID: "ro", Status: "completed",
				DueTime: due, Deadline: due.Add(48 * time.Hour), CompleteTime: due.Add(time.Hour), Score: 90}})
		}
	}
	if _, err := s.ApplyFacts(ctx, f, "", ""); err != nil {
		t.Fatal(err)
	}
	rollUp(t, s)
	months := evaluation.Periods(evaluation.Month, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 3)
	weeks := evaluation.Periods(evaluation.Week, time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), 14)
	beforeM, _ := s.Figures(ctx, pg.AllDealers(), nil, evaluation.Month, months)
	beforeW, _ := s.Figures(ctx, pg.AllDealers(), nil, evaluation.Week, weeks)
	// A ranking's read (kept in memory by rollup generation): what the
	// caller does to its answer does not reach the next.
	ranked, err := s.DealerFigures(ctx, pg.AllDealers(), evaluation.Month, months[1])
	if err != nil || ranked["SH001"]["callback_rate_3dc"] != (evaluation.Figure{Numerator: 4, Denominator: 4}) {
		t.Fatalf("October's figures for a ranking: %v %v", ranked, err)
	}
	ranked["SH001"]["callback_rate_3dc"] = evaluation.Figure{}
	delete(ranked, "SH001")
	if again, err := s.DealerFigures(ctx, pg.AllDealers(), evaluation.Month, months[1]); err != nil ||
		again["SH001"]["callback_rate_3dc"] != (evaluation.Figure{Numerator: 4, Denominator: 4}) {
		t.Fatalf("October's figures read again at the same generation: %v %v", again, err)
	}

	// October's second task turns out not completed (a late correction).
	late := f.Callbacks[5]
	late.Seq = 2
	late.Fact.Status, late.Fact.CompleteTime, late.Fact.Score = "expired", time.Time{}, 0
	if _, err := s.ApplyFacts(ctx, evaluation.Facts{Callbacks: []evaluation.Versioned[evaluation.CallbackFact]{late}}, "", ""); err != nil {
		t.Fatal(err)
	}
	res, err := s.Rollup(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if res.Days != 1 {
		t.Errorf("rollup recomputed %d days, want the one the fact touched", res.Days)
	}
	afterM, _ := s.Figures(ctx, pg.AllDealers(), nil, evaluation.Month, months)
	afterW, _ := s.Figures(ctx, pg.AllDealers(), nil, evaluation.Week, weeks)
	oct := months[1]
	for _, m := range months {
		for _, k := range evaluation.KPIs {
			moved := afterM[m][k] != beforeM[m][k]
			want := m.Equal(oct) && (k == "callback_rate_3dc" || k == "ssi")
			if moved != want {
				t.Errorf("%s %s: %+v to %+v (moved %v, want moved %v)", m.Format("2006-01"), k, beforeM[m][k], afterM[m][k], moved, want)
			}
		}
	}
	if got := afterM[oct]["callback_rate_3dc"]; got != (evaluation.Figure{Numerator: 3, Denominator: 4}) {
		t.Errorf("October 3DC rate %+v, want 3/4", got)
	}
	// The ranking's read follows the rollup at once.
	ranked, err = s.DealerFigures(ctx, pg.AllDealers(), evaluation.Month, oct)
	if err != nil || ranked["SH001"]["callback_rate_3dc"] != (evaluation.Figure{Numerator: 3, Denominator: 4}) {
		t.Errorf("October's figures for a ranking after the late fact: %v %v", ranked, err)
	}
	changedWeeks := 0
	for _, w := range weeks {
		if !slices.Equal(keys(afterW[w]), keys(beforeW[w])) || afterW[w]["callback_rate_3dc"] != beforeW[w]["callback_rate_3dc"] {
			changedWeeks++
		}
	}
	if changedWeeks != 1 {
		t.Errorf("%d weeks moved, want 1", changedWeeks)
	}
}

func keys(f evaluation.Figures) []string {
	var out []string
	for k, v := range f {
		if v != (evaluation.Figure{}) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
