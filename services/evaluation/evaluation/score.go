package evaluation

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
)

// Target is HQ's target and weight for one KPI.
type Target struct {
	KPI    string  `json:"kpi"`
	Target float64 `json:"target"`
	Weight float64 `json:"weight"`
	// AmberRatio: reaching this share of the target (for a ceiling, at
	// most target ÷ ratio) is amber; 0 means DefaultAmberRatio.
	AmberRatio float64 `json:"amber_ratio"`
}

// DefaultAmberRatio is the amber band when HQ sets none.
const DefaultAmberRatio = 0.9

// TargetSet is a version of HQ's targets, in force from its month until a
// later version's.
type TargetSet struct {
	Version        int
	EffectiveMonth Date // first day of the month
	Targets        []Target
	CreateBy       string
	CreateTime     time.Time
}

// Validate checks a new target set; errors name the field.
func (s *TargetSet) Validate() error {
	if s.EffectiveMonth.Day() != 1 {
		return apperr.Invalid("target_set.effective_month", "must be a month YYYY-MM").ZhReason("须为月份 YYYY-MM")
	}
	if len(s.Targets) == 0 {
		return apperr.Invalid("target_set.targets", "must name at least one KPI").ZhReason("至少设置一个指标")
	}
	seen := map[string]bool{}
	for i, t := range s.Targets {
		field := fmt.Sprintf("target_set.targets[%d]", i)
		switch {
		case !IsKPI(t.KPI):
			return apperr.Invalid(field+".kpi", fmt.Sprintf("%q is not a KPI", t.KPI)).ZhReason(fmt.Sprintf("“%s”不是指标", t.KPI))
		case seen[t.KPI]:
			return apperr.Invalid(field+".kpi", fmt.Sprintf("%q appears twice", t.KPI)).ZhReason(fmt.Sprintf("“%s”重复", t.KPI))
		case t.Target < 0 || math.IsNaN(t.Target) || math.IsInf(t.Target, 0):
			return apperr.Invalid(field+".target", "must be a number ≥ 0").ZhReason("须为非负数")
		case t.Target == 0 && LowerIsBetter(t.KPI):
			return apperr.Invalid(field+".target", "a ceiling must be above 0").ZhReason("上限须大于 0")
		case t.Weight < 0 || math.IsNaN(t.Weight) || math.IsInf(t.Weight, 0):
			return apperr.Invalid(field+".weight", "must be a number ≥ 0").ZhReason("须为非负数")
		case t.AmberRatio < 0 || t.AmberRatio > 1:
			return apperr.Invalid(field+".amber_ratio", "must be between 0 and 1").ZhReason("须在 0 与 1 之间")
		}
		seen[t.KPI] = true
		if t.AmberRatio == 0 {
			s.Targets[i].AmberRatio = DefaultAmberRatio
		}
	}
	return nil
}

// Target returns the target of kpi, if set.
func (s *TargetSet) Target(kpi string) (Target, bool) {
	if s == nil {
		return Target{}, false
	}
	for _, t := range s.Targets {
		if t.KPI == kpi {
			return t, true
		}
	}
	return Target{}, false
}

// InForce picks, of sets, the version in force for a period starting at
// start: the latest version whose month has begun by then; nil if none.
func InForce(sets []TargetSet, start Date) *TargetSet {
	var best *TargetSet
	for i := range sets {
		s := &sets[i]
		if s.EffectiveMonth.After(start) {
			continue
		}
		if best == nil || s.EffectiveMonth.After(best.EffectiveMonth) ||
			(s.EffectiveMonth.Equal(best.EffectiveMonth) && s.Version > best.Version) {
			best = s
		}
	}
	return best
}

// Rating against a target.
type Rating string

// Ratings.
const (
	NoRating Rating = ""
	Green    Rating = "green"
	Amber    Rating = "amber"
	Red      Rating = "red"
)

// Achievement is how much of the target value reaches, capped at 1 (a
// ceiling's achievement is target ÷ value).
func Achievement(kpi string, value float64, t Target) float64 {
	var a float64
	switch {
	case LowerIsBetter(kpi):
		if value <= t.Target {
			return 1
		}
		a = t.Target / value
	case t.Target == 0:
		return 1
	default:
		a = value / t.Target
	}
	return min(a, 1)
}

// Rate rates value against t.
func Rate(kpi string, value float64, t Target) Rating {
	a := Achievement(kpi, value, t)
	ratio := t.AmberRatio
	if ratio == 0 {
		ratio = DefaultAmberRatio
	}
	switch {
	case a >= 1:
		return Green
	case a >= ratio:
		return Amber
	}
	return Red
}

// Composite is the weighted mean achievement (0-100) over the KPIs that
// have a value and a weighted target; false when none has.
func Composite(f Figures, set *TargetSet) (float64, bool) {
	if set == nil {
		return 0, false
	}
	var sum, weights float64
	for _, t := range set.Targets {
		if t.Weight == 0 {
			continue
		}
		v, ok := Value(t.KPI, f[t.KPI])
		if !ok {
			continue
		}
		sum += t.Weight * Achievement(t.KPI, v, t)
		weights += t.Weight
	}
	if weights == 0 {
		return 0, false
	}
	return 100 * sum / weights, true
}

// Standing is one dealer's figures in a ranking.
type Standing struct {
	Dealer  string
	Region  string
	Figures Figures
}

// Rank is one dealer's place.
type Rank struct {
	Dealer string
	// Name is the dealer's name (set by Service.Rank).
	Name         string
	Region       string
	Score        float64
	Rank         int
	Percentile   float64
	PreviousRank int
	Movement     int
	Figures      Figures
}

// Ranking orders dealers with a composite score, best first (ties share
// a rank and are ordered by code); dealers without a score are left out.
// previous, the ranking of the period before (nil if none), gives each
// dealer's movement.
func Ranking(standings []Standing, set *TargetSet, previous []Rank) []Rank {
	var out []Rank
	for _, s := range standings {
		if score, ok := Composite(s.Figures, set); ok {
			out = append(out, Rank{Dealer: s.Dealer, Region: s.Region, Score: score, Figures: s.Figures})
		}
	}
	slices.SortFunc(out, func(a, b Rank) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Dealer, b.Dealer)
	})
	before := map[string]int{}
	for _, p := range previous {
		before[p.Dealer] = p.Rank
	}
	n := len(out)
	for i := range out {
		if i > 0 && out[i].Score == out[i-1].Score {
			out[i].Rank = out[i-1].Rank
		} else {
			out[i].Rank = i + 1
		}
		// Share of dealers scoring at or below this one: all from the
		// first of its ties on.
		out[i].Percentile = 100 * float64(n-out[i].Rank+1) / float64(n)
		if p, ok := before[out[i].Dealer]; ok {
			out[i].PreviousRank = p
			out[i].Movement = p - out[i].Rank
		}
	}
	return out
}

// Median is the median score of ranks (0 for none).
func Median(ranks []Rank) float64 {
	n := len(ranks)
	if n == 0 {
		return 0
	}
	scores := make([]float64, n)
	for i, r := range ranks {
		scores[i] = r.Score
	}
	slices.Sort(scores)
	if n%2 == 1 {
		return scores[n/2]
	}
	return (scores[n/2-1] + scores[n/2]) / 2
}
