package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
)

// The facts a dealer lists behind a KPI are exactly those its rollup
// counted: for random facts in four time zones, every dealer, month and
// drillable KPI, the listed facts (paged) number the denominator, the
// counted ones the numerator (for ssi/csi their scores sum to it), and
// the missed-only list is the difference.
func TestKPIFactsMatchTheRollups(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	dealers := fourZones[:3]
	if err := s.SyncDealers(ctx, dealers, time.Now()); err != nil {
		t.Fatal(err)
	}
	g := &generator{r: rand.New(rand.NewPCG(5, 2026)), dealers: dealers,
		from: time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC), span: 4 * 30 * 24 * time.Hour}
	for i := range 20 {
		g.vins = append(g.vins, fmt.Sprintf("VIN%03d", i))
	}
	w := newWorld(dealers)
	apply(t, s, w, g.facts(300))
	rollUp(t, s)

	months := evaluation.Periods(evaluation.Month, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), 4)
	list := func(dealer, kpi string, lo, hi time.Time, missed bool) []evaluation.KPIFact {
		var all []evaluation.KPIFact
		q := evaluation.FactQuery{Dealer: dealer, KPI: kpi, From: lo, To: hi, MissedOnly: missed, Limit: 7}
		for range 1000 {
			page, err := s.KPIFacts(ctx, pg.Dealers(dealer), q)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page...)
			if len(page) < q.Limit {
				return all
			}
			last := page[len(page)-1]
			q.AfterTime, q.AfterID = last.Time, last.ID
		}
		t.Fatal("paging does not end")
		return nil
	}
	nonEmpty := 0
	for _, d := range dealers {
		zone, _ := time.LoadLocation(d.TimeZone)
		figs, err := s.Figures(ctx, pg.AllDealers(), []string{d.Code}, evaluation.Month, months)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range months {
			lo, hi := evaluation.StartOf(m, zone), evaluation.StartOf(evaluation.PeriodEnd(evaluation.Month, m), zone)
			for _, k := range evaluation.DrillKPIs {
				facts := list(d.Code, k, lo, hi, false)
				seen := map[string]bool{}
				var counted, scores int64
				for i, f := range facts {
					if seen[f.ID] || f.Time.Before(lo) || !f.Time.Before(hi) || (i > 0 && f.Time.Before(facts[i-1].Time)) {
						t.Fatalf("%s %s %s: fact %d %+v repeated, out of the period or out of order", d.Code, m.Format("2006-01"), k, i, f)
					}
					seen[f.ID] = true
					if f.Counted {
						counted++
					}
					if f.Score != nil {
						scores += int64(*f.Score*evaluation.ScoreScale + 0.5)
					}
				}
				want := figs[m][k]
				got := evaluation.Figure{Numerator: counted, Denominator: int64(len(facts))}
				if k == evaluation.SSI || k == evaluation.CSI {
					got.Numerator = scores
				}
				if got != want {
					t.Errorf("%s %s %s: facts give %+v, rollup %+v", d.Code, m.Format("2006-01"), k, got, want)
				}
				missed := list(d.Code, k, lo, hi, true)
				if wantMissed := len(facts) - int(counted); len(missed) != wantMissed {
					t.Errorf("%s %s %s: %d missed, want %d", d.Code, m.Format("2006-01"), k, len(missed), wantMissed)
				}
				if len(facts) > 0 {
					nonEmpty++
				}
			}
		}
	}
	if nonEmpty < 60 {
		t.Errorf("only %d non-empty dealer-month-KPI lists: the test checks too little", nonEmpty)
	}
	// Row-level security: another dealer's scope lists nothing.
	facts, err := s.KPIFacts(ctx, pg.Dealers("NY001"), evaluation.FactQuery{Dealer: "SH001", KPI: evaluation.CallbackRate3DC,
		From: months[0], To: months[3].AddDate(0, 1, 0), Limit: 100})
	if err != nil || len(facts) != 0 {
		t.Errorf("NY001's scope listed SH001's facts: %d %v", len(facts), err)
	}
}
