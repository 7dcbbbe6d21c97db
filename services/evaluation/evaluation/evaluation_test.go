package evaluation

import (
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
)

func date(s string) Date {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestPeriods(t *testing.T) {
	for _, tc := range []struct {
		g          Granularity
		in, start  string
		end, prior string
	}{
		{Day, "2026-03-01", "2026-03-01", "2026-03-02", "2026-02-28"},
		{Week, "2026-11-29", "2026-11-23", "2026-11-30", "2026-11-16"}, // a Sunday belongs to the week before
		{Week, "2026-11-30", "2026-11-30", "2026-12-07", "2026-11-23"},
		{Week, "2027-01-01", "2026-12-28", "2027-01-04", "2026-12-21"}, // ISO week across the year end
		{Month, "2026-02-28", "2026-02-01", "2026-03-01", "2026-01-01"},
		{Month, "2026-01-31", "2026-01-01", "2026-02-01", "2025-12-01"},
	} {
		s := PeriodStart(tc.g, date(tc.in))
		if s != date(tc.start) || PeriodEnd(tc.g, s) != date(tc.end) || PreviousStart(tc.g, s) != date(tc.prior) {
			t.Errorf("%s of %s: start %s end %s prior %s, want %s %s %s", tc.g, tc.in, s.Format(time.DateOnly),
				PeriodEnd(tc.g, s).Format(time.DateOnly), PreviousStart(tc.g, s).Format(time.DateOnly), tc.start, tc.end, tc.prior)
		}
	}
	got := Periods(Month, date("2026-03-15"), 3)
	if len(got) != 3 || got[0] != date("2026-01-01") || got[2] != date("2026-03-01") {
		t.Errorf("Periods: %v", got)
	}
	// A dealer's day is its own: 23:30 UTC on the 31st is already the 1st
	// in Shanghai.
	sh, _ := time.LoadLocation("Asia/Shanghai")
	if d := DateOf(time.Date(2026, 1, 31, 23, 30, 0, 0, time.UTC), sh); d != date("2026-02-01") {
		t.Errorf("DateOf: %s", d)
	}
}

func TestValueRatingComposite(t *testing.T) {
	if v, ok := Value(SSI, Figure{Numerator: 17050, Denominator: 2}); !ok || v != 85.25 {
		t.Errorf("ssi value %v %v, want 85.25", v, ok)
	}
	if _, ok := Value(CallbackRate3DC, Figure{}); ok {
		t.Error("a rate without a denominator has no value")
	}
	if v, ok := Value(CampaignReturnCount, Figure{Numerator: 7, Denominator: 20}); !ok || v != 7 {
		t.Errorf("campaign count %v", v)
	}
	rate := Target{KPI: CallbackRate3DC, Target: 0.9, Weight: 2, AmberRatio: 0.9}
	churn := Target{KPI: ChurnRate, Target: 0.1, Weight: 1, AmberRatio: 0.5}
	for _, tc := range []struct {
		t    Target
		v    float64
		want Rating
	}{
		{rate, 0.95, Green}, {rate, 0.85, Amber}, {rate, 0.5, Red},
		{churn, 0.05, Green}, {churn, 0.15, Amber}, {churn, 0.3, Red},
	} {
		if got := Rate(tc.t.KPI, tc.v, tc.t); got != tc.want {
			t.Errorf("%s at %v: %s, want %s", tc.t.KPI, tc.v, got, tc.want)
		}
	}
	set := &TargetSet{Targets: []Target{rate, churn}}
	// 3DC at 0.45 of 0.9 (achievement 0.5, weight 2), churn at its
	// ceiling (1, weight 1): (2*0.5 + 1) / 3.
	got, ok := Composite(Figures{CallbackRate3DC: {45, 100}, ChurnRate: {1, 10}}, set)
	if !ok || got < 66.66 || got > 66.67 {
		t.Errorf("composite %v %v, want 66.67", got, ok)
	}
	if _, ok := Composite(Figures{}, set); ok {
		t.Error("no figures, no composite")
	}
}

func TestRanking(t *testing.T) {
	set := &TargetSet{Targets: []Target{{KPI: CallbackRate3DC, Target: 1, Weight: 1}}}
	st := func(d string, num int64) Standing {
		return Standing{Dealer: d, Figures: Figures{CallbackRate3DC: {num, 10}}}
	}
	prev := Ranking([]Standing{st("A", 9), st("B", 5), st("C", 7)}, set, nil)
	cur := Ranking([]Standing{st("A", 5), st("B", 9), st("C", 9), st("D", 3), {Dealer: "E", Figures: Figures{}}}, set, prev)
	want := []struct {
		dealer           string
		rank, prev, move int
		pct              float64
	}{{"B", 1, 3, 2, 100}, {"C", 1, 2, 1, 100}, {"A", 3, 1, -2, 50}, {"D", 4, 0, 0, 25}}
	if len(cur) != len(want) {
		t.Fatalf("%d ranked, want %d (a dealer without figures is not ranked): %+v", len(cur), len(want), cur)
	}
	for i, w := range want {
		r := cur[i]
		if r.Dealer != w.dealer || r.Rank != w.rank || r.PreviousRank != w.prev || r.Movement != w.move || r.Percentile != w.pct {
			t.Errorf("place %d: %+v, want %+v", i, r, w)
		}
	}
	if m := Median(cur); m != 70 {
		t.Errorf("median %v, want 70", m)
	}
}

func TestTargetSetValidate(t *testing.T) {
	for _, tc := range []struct {
		set   TargetSet
		field string
	}{
		{TargetSet{EffectiveMonth: date("2026-01-02"), Targets: []Target{{KPI: SSI, Target: 90}}}, "target_set.effective_month"},
		{TargetSet{EffectiveMonth: date("2026-01-01")}, "target_set.targets"},
		{TargetSet{EffectiveMonth: date("2026-01-01"), Targets: []Target{{KPI: "nps", Target: 1}}}, "target_set.targets[0].kpi"},
		{TargetSet{EffectiveMonth: date("2026-01-01"), Targets: []Target{{KPI: SSI, Target: 90}, {KPI: SSI, Target: 80}}}, "target_set.targets[1].kpi"},
		{TargetSet{EffectiveMonth: date("2026-01-01"), Targets: []Target{{KPI: ChurnRate, Target: 0}}}, "target_set.targets[0].target"},
		{TargetSet{EffectiveMonth: date("2026-01-01"), Targets: []Target{{KPI: SSI, Target: 90, Weight: -1}}}, "target_set.targets[0].weight"},
		{TargetSet{EffectiveMonth: date("2026-01-01"), Targets: []Target{{KPI: SSI, Target: 90, AmberRatio: 2}}}, "target_set.targets[0].amber_ratio"},
	} {
		err := tc.set.Validate()
		e, ok := apperr.As(err)
		if !ok || e.Code != apperr.EINVALID || len(e.Violations) != 1 || e.Violations[0].Field != tc.field || !strings.HasPrefix(e.Message, tc.field) {
			t.Errorf("%+v: %v, want invalid %s", tc.set, err, tc.field)
		}
	}
	ok := TargetSet{EffectiveMonth: date("2026-01-01"), Targets: []Target{{KPI: SSI, Target: 90, Weight: 1}}}
	if err := ok.Validate(); err != nil || ok.Targets[0].AmberRatio != DefaultAmberRatio {
		t.Errorf("valid set: %v, amber %v", err, ok.Targets[0].AmberRatio)
	}
	sets := []TargetSet{{Version: 1, EffectiveMonth: date("2026-01-01")}, {Version: 2, EffectiveMonth: date("2026-06-01")}}
	if InForce(sets, date("2025-12-01")) != nil || InForce(sets, date("2026-05-31")).Version != 1 || InForce(sets, date("2026-06-01")).Version != 2 {
		t.Error("InForce picks the latest version begun by the period")
	}
}
