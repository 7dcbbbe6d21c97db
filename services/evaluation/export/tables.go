package export

import (
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
)

// KPITable lays a scope's KPIs out one row per period and KPI (the shape
// a pivot table takes), each with its numerator and denominator, HQ's
// target and the rating; a last row per period holds the composite score.
func KPITable(t *evaluation.Table, lang string) Sheet {
	s := Sheet{
		Name:   sheetName(t.Scope),
		Header: headers(lang, hScope, hGranularity, hStart, hEnd, hKPICode, hKPI, hNumerator, hDenominator, hValue, hTarget, hRating),
	}
	g := granularities[string(t.Granularity)].in(lang)
	for _, p := range t.Periods {
		lead := []any{t.Scope, g, day(p.Start), day(p.End)}
		for _, k := range evaluation.KPIs {
			fig := p.Figures[k]
			value, target, rating := kpiCells(k, fig, p.Targets, lang)
			s.Rows = append(s.Rows, append(append([]any{}, lead...), k, KPIName(k, lang),
				evaluation.NumeratorValue(k, fig), fig.Denominator, value, target, rating))
		}
		var score any
		if v, ok := evaluation.Composite(p.Figures, p.Targets); ok {
			score = v
		}
		s.Rows = append(s.Rows, append(append([]any{}, lead...), compositeKPI, KPIName(compositeKPI, lang), nil, nil, score, nil, nil))
	}
	return s
}

// kpiCells are a KPI's value, target and rating cells (nil when absent).
func kpiCells(kpi string, fig evaluation.Figure, set *evaluation.TargetSet, lang string) (value, target, rating any) {
	v, ok := evaluation.Value(kpi, fig)
	if ok {
		value = v
	}
	if t, has := set.Target(kpi); has {
		target = t.Target
		if ok {
			rating = ratings[string(evaluation.Rate(kpi, v, t))].in(lang)
		}
	}
	return value, target, rating
}

// Ranking lays a ranking out one row per dealer the caller may see, best
// first: place, score, percentile, movement, the network's (or region's)
// median and count, and each KPI's value.
func Ranking(r *evaluation.RankingResult, lang string) Sheet {
	h := headers(lang, hRank, hDealer, hDealerName, hRegion, hScore, hPercentile, hPrevious, hMovement, hMedian, hCount, hVersion, hStart, hEnd)
	for _, k := range evaluation.KPIs {
		h = append(h, KPIName(k, lang))
	}
	name := "ranking"
	if r.Region != "" {
		name += " " + r.Region
	}
	s := Sheet{Name: sheetName(name), Header: h}
	for _, rk := range r.Ranks {
		row := []any{rk.Rank, rk.Dealer, rk.Name, rk.Region, rk.Score, rk.Percentile, optInt(rk.PreviousRank), rk.Movement,
			r.Median, r.DealerCount, optInt(r.TargetVersion), day(r.Start), day(r.End)}
		for _, k := range evaluation.KPIs {
			v, _, _ := kpiCells(k, rk.Figures[k], nil, lang)
			row = append(row, v)
		}
		s.Rows = append(s.Rows, row)
	}
	return s
}

// optInt leaves 0 (not ranked before, no targets) empty.
func optInt(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

// sheetName fits an XLSX sheet name: at most 31 characters, none of
// []:*?/\ .
func sheetName(s string) string {
	out := []rune{}
	for _, r := range s {
		switch r {
		case '[', ']', ':', '*', '?', '/', '\\':
			r = '-'
		}
		out = append(out, r)
		if len(out) == 31 {
			break
		}
	}
	return string(out)
}
