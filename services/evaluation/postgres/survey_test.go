package postgres_test

import (
	"context"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
	"time"

	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
	"github.com/dealercare/dealercare/services/evaluation/postgres"
)

// answer gives a completed callback random answers to a small model of
// the callback's questionnaires: 3DC v1/v2 (a 10-point rating, a yes/no
// whose "no" is a problem, a choice, a text) plus a dealer's own 5-point
// rating D1 (its questions' version 1 or 2); NEW_CUSTOMER v1 (a 5-point
// rating). Questions are sometimes left out (optional ones).
func (g *generator) answer(v evaluation.Versioned[evaluation.CallbackFact]) evaluation.Versioned[evaluation.CallbackFact] {
	c := &v.Fact
	c.Answers, c.QuestionnaireVersion, c.DealerQuestionsVersion = nil, 0, 0
	if c.Status != "completed" {
		return v
	}
	rating := func(code string, scale int, dealer bool) evaluation.SurveyAnswer {
		return evaluation.SurveyAnswer{Question: code, Type: "rating", Scale: scale, DealerQuestion: dealer, Answer: strconv.Itoa(1 + g.r.IntN(scale))}
	}
	switch c.Kind {
	case "NEW_CUSTOMER":
		c.QuestionnaireVersion = 1
		c.Answers = append(c.Answers, rating("Q1", 5, false))
	default:
		c.QuestionnaireVersion = 1 + g.r.IntN(2)
		c.Answers = append(c.Answers, rating("Q1", 10, false))
		yn := []string{"yes", "no"}[g.r.IntN(2)]
		c.Answers = append(c.Answers, evaluation.SurveyAnswer{Question: "Q2", Type: "yes_no", Answer: yn, Problem: yn == "no"})
		if g.r.IntN(4) > 0 {
			c.Answers = append(c.Answers, evaluation.SurveyAnswer{Question: "Q4", Type: "choice", Answer: []string{"A", "B", "C", "D"}[g.r.IntN(4)]})
		}
		if g.r.IntN(2) == 0 {
			c.Answers = append(c.Answers, evaluation.SurveyAnswer{Question: "Q6", Type: "text"})
		}
		if g.r.IntN(3) > 0 {
			c.DealerQuestionsVersion = 1 + g.r.IntN(2)
			c.Answers = append(c.Answers, rating("D1", 5, true))
		}
	}
	return v
}

// naiveSurvey analyses the latest copies straight from the answers: for
// each callback completed in [lo, hi) at one of dealers, each answer
// counted where it belongs. Low scores: ≤ 6 of 10, ≤ 2 of 5; a yes/no's
// problem answers.
func naiveSurvey(w *world, dealers map[string]bool, own bool, lo func(string) time.Time, hi func(string) time.Time) map[evaluation.SurveyKey]evaluation.QuestionAnalysis {
	lowMax := map[int]int{10: 6, 5: 2}
	out := map[evaluation.SurveyKey]evaluation.QuestionAnalysis{}
	for _, v := range w.callbacks {
		c := v.Fact
		if !dealers[c.Dealer] || c.Status != "completed" || !in(c.CompleteTime, lo(c.Dealer), hi(c.Dealer)) {
			continue
		}
		for _, a := range c.Answers {
			if a.DealerQuestion && !own {
				continue
			}
			k := evaluation.SurveyKey{Kind: c.Kind, DealerQuestion: a.DealerQuestion, Version: c.QuestionnaireVersion, Question: a.Question}
			if a.DealerQuestion {
				k.Version = c.DealerQuestionsVersion
			}
			q := out[k]
			q.SurveyKey, q.Type, q.Scale = k, a.Type, a.Scale
			q.Responses++
			switch a.Type {
			case "rating":
				r, _ := strconv.Atoi(a.Answer)
				q.RatingSum += int64(r)
				q.LowMax = lowMax[a.Scale]
				if r <= lowMax[a.Scale] {
					q.LowCount++
				}
				if a.Scale == 10 {
					if q.NPS == nil {
						q.NPS = &evaluation.NPS{}
					}
					n := *q.NPS
					n.Responses++
					switch {
					case r >= 9:
						n.Promoters++
					case r >= 7:
						n.Passives++
					default:
						n.Detractors++
					}
					q.NPS = &n
				}
			case "yes_no":
				if a.Problem {
					q.LowCount++
				}
			}
			if a.Type != "text" {
				found := false
				for i := range q.Distribution {
					if q.Distribution[i].Answer == a.Answer {
						q.Distribution[i].Count++
						found = true
					}
				}
				if !found {
					q.Distribution = append(q.Distribution, evaluation.AnswerCount{Answer: a.Answer, Count: 1})
				}
			}
			out[k] = q
		}
	}
	return out
}

// sameAnalysis compares an analysis with the naive one; the distribution
// as counts by value (a rating's and a yes/no's zeros are listed too).
func sameAnalysis(got evaluation.QuestionAnalysis, want evaluation.QuestionAnalysis) bool {
	if got.SurveyKey != want.SurveyKey || got.Type != want.Type || got.Scale != want.Scale || got.Responses != want.Responses ||
		got.RatingSum != want.RatingSum || got.LowCount != want.LowCount || got.LowMax != want.LowMax || (got.NPS == nil) != (want.NPS == nil) ||
		(got.NPS != nil && *got.NPS != *want.NPS) {
		return false
	}
	counts := map[string]int64{}
	for _, d := range got.Distribution {
		counts[d.Answer] += d.Count
	}
	for _, d := range want.Distribution {
		if counts[d.Answer] != d.Count {
			return false
		}
		delete(counts, d.Answer)
	}
	for _, n := range counts {
		if n != 0 {
			return false
		}
	}
	return true
}

// checkSurveys compares every dealer (its own questions included), region
// and the network, every granularity and period in [first, last], with
// the naive analysis, and returns how many questions were compared.
func checkSurveys(t *testing.T, s *postgres.Store, w *world, first, last evaluation.Date) int {
	t.Helper()
	ctx := context.Background()
	zones := map[string]*time.Location{}
	regions := map[string][]string{}
	for _, d := range w.dealers {
		zones[d.Code], _ = time.LoadLocation(d.TimeZone)
		regions[d.Region] = append(regions[d.Region], d.Code)
	}
	compared, mismatches := 0, 0
	for _, g := range evaluation.Granularities {
		var starts, ends []evaluation.Date
		for d := evaluation.PeriodStart(g, first); !d.After(last); d = evaluation.PeriodEnd(g, d) {
			starts, ends = append(starts, d), append(ends, evaluation.PeriodEnd(g, d))
		}
		compare := func(scope string, dealers []string, own bool) {
			counts, err := s.SurveyCounts(ctx, pg.AllDealers(), dealers, own, evaluation.SurveyFilter{}, starts, ends)
			if err != nil {
				t.Fatal(err)
			}
			set := map[string]bool{}
			for _, d := range dealers {
				set[d] = true
			}
			if dealers == nil {
				for _, d := range w.dealers {
					set[d.Code] = true
				}
			}
			for i, st := range starts {
				want := naiveSurvey(w, set, own, func(d string) time.Time { return evaluation.StartOf(st, zones[d]) },
					func(d string) time.Time { return evaluation.StartOf(ends[i], zones[d]) })
				got := evaluation.AnalyseSurveys(counts[st])
				if len(got) != len(want) && mismatches < 20 {
					mismatches++
					t.Errorf("%s %s %s: %d questions, naive %d", scope, g, st.Format(time.DateOnly), len(got), len(want))
				}
				for _, q := range got {
					compared++
					if !sameAnalysis(q, want[q.SurveyKey]) && mismatches < 20 {
						mismatches++
						t.Errorf("%s %s %s %+v:\n analysis %+v\n naive    %+v", scope, g, st.Format(time.DateOnly), q.SurveyKey, q, want[q.SurveyKey])
					}
				}
			}
		}
		for _, d := range w.dealers {
			compare("dealer "+d.Code, []string{d.Code}, true)
		}
		for r, ds := range regions {
			compare("region "+r, ds, false)
		}
		compare("network", nil, false)
	}
	return compared
}

// The survey reference check: random answers of callbacks at dealers in
// four time zones over 16 months, rolled up, match a naive count for every
// dealer, region, granularity, period and question; and again after
// corrected answers (moved to another day, or taken away), duplicates and
// stale copies are replayed.
func TestSurveyAnalysisMatchesTheNaiveReference(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	dealers := fourZones
	if err := s.SyncDealers(ctx, dealers, time.Now()); err != nil {
		t.Fatal(err)
	}
	g := &generator{r: rand.New(rand.NewPCG(6, 2026)), dealers: dealers,
		from: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), span: 16 * 30 * 24 * time.Hour}
	w := newWorld(dealers)
	var facts []evaluation.Versioned[evaluation.CallbackFact]
	for i := range 600 {
		facts = append(facts, g.answer(g.callback(i)))
	}
	apply(t, s, w, evaluation.Facts{Callbacks: facts[:300]})
	apply(t, s, w, evaluation.Facts{Callbacks: facts[300:]})
	rollUp(t, s)
	first, last := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 31, 0, 0, 0, 0, time.UTC)
	if n := checkSurveys(t, s, w, first, last); n < 1000 {
		t.Fatalf("only %d questions compared", n)
	}
	if t.Failed() {
		return
	}
	checkSurveyFilters(t, s, last)

	// Late: a corrected copy (other answers, another completion time or
	// none), the same copy again, a stale copy with other answers.
	var late []evaluation.Versioned[evaluation.CallbackFact]
	for _, v := range facts {
		switch g.r.IntN(5) {
		case 0:
			n := g.callback(0)
			n.Fact.TaskID, n.Fact.Dealer, n.Fact.Kind, n.Fact.SourceID = v.Fact.TaskID, v.Fact.Dealer, v.Fact.Kind, v.Fact.SourceID
			late = append(late, g.answer(n))
		case 1:
			late = append(late, v)
		case 2:
			stale := v
			stale.Seq = v.Seq - 1
			stale.Fact.Status, stale.Fact.CompleteTime = "completed", v.Fact.DueTime
			late = append(late, g.answer(stale))
		}
	}
	apply(t, s, w, evaluation.Facts{Callbacks: late})
	rollUp(t, s)
	checkSurveys(t, s, w, first, last)

	// Everything again: all duplicates or stale now, nothing moves.
	before, err := s.SurveyCounts(ctx, pg.AllDealers(), nil, true, evaluation.SurveyFilter{}, evaluation.Periods(evaluation.Month, last, 17), monthEnds(last, 17))
	if err != nil {
		t.Fatal(err)
	}
	apply(t, s, w, evaluation.Facts{Callbacks: facts})
	rollUp(t, s)
	after, err := s.SurveyCounts(ctx, pg.AllDealers(), nil, true, evaluation.SurveyFilter{}, evaluation.Periods(evaluation.Month, last, 17), monthEnds(last, 17))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(analysed(before), analysed(after)) || len(before) < 12 {
		t.Errorf("replaying old facts moved the analysis (%d months before, %d after)", len(before), len(after))
	}
}

func monthEnds(last evaluation.Date, n int) []evaluation.Date {
	var out []evaluation.Date
	for _, st := range evaluation.Periods(evaluation.Month, last, n) {
		out = append(out, evaluation.PeriodEnd(evaluation.Month, st))
	}
	return out
}

func analysed(counts map[evaluation.Date][]evaluation.SurveyCount) map[string][]evaluation.QuestionAnalysis {
	out := map[string][]evaluation.QuestionAnalysis{}
	for st, c := range counts {
		out[st.Format(time.DateOnly)] = evaluation.AnalyseSurveys(c)
	}
	return out
}

// checkSurveyFilters: filtered by questionnaire version, question or both
// (with the kind), the counts are exactly the unfiltered ones of those
// keys, for the network with dealer questions (so a dealer question's
// version filters too); every version and question is tried.
func checkSurveyFilters(t *testing.T, s *postgres.Store, last evaluation.Date) {
	t.Helper()
	ctx := context.Background()
	starts, ends := evaluation.Periods(evaluation.Month, last, 17), monthEnds(last, 17)
	all, err := s.SurveyCounts(ctx, pg.AllDealers(), nil, true, evaluation.SurveyFilter{}, starts, ends)
	if err != nil {
		t.Fatal(err)
	}
	filters := map[evaluation.SurveyFilter]bool{}
	for _, cs := range all {
		for _, c := range cs {
			filters[evaluation.SurveyFilter{Version: c.Version}] = true
			filters[evaluation.SurveyFilter{Question: c.Question}] = true
			filters[evaluation.SurveyFilter{Kind: c.Kind, Version: c.Version, Question: c.Question}] = true
		}
	}
	versions := map[int]bool{}
	for f := range filters {
		versions[f.Version] = true
	}
	if len(versions) < 3 || len(filters) < 10 {
		t.Fatalf("only %d filters (%d versions) to try", len(filters), len(versions))
	}
	// A version no answer has: nothing.
	filters[evaluation.SurveyFilter{Version: 99}] = true
	for f := range filters {
		got, err := s.SurveyCounts(ctx, pg.AllDealers(), nil, true, f, starts, ends)
		if err != nil {
			t.Fatal(err)
		}
		want := map[evaluation.Date][]evaluation.SurveyCount{}
		for st, cs := range all {
			for _, c := range cs {
				if (f.Kind == "" || c.Kind == f.Kind) && (f.Version == 0 || c.Version == f.Version) && (f.Question == "" || c.Question == f.Question) {
					want[st] = append(want[st], c)
				}
			}
		}
		if !reflect.DeepEqual(analysed(got), analysed(want)) {
			t.Errorf("filter %+v: %d months analysed, want %d", f, len(got), len(want))
		}
	}
}
