package evaluation

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/dealercare/dealercare/pkg/apperr"
	pg "github.com/dealercare/dealercare/pkg/postgres"
)

// Satisfaction surveys analysed by question (SPEC: evaluation). The
// answers are the completed callbacks' (CallbackFact.Answers), counted on
// the local day the callback was completed, per questionnaire version and
// question. Above a dealer only HQ's questions are summed: a dealer's own
// questions (codes D…) are its own, and two dealers' D1 are different
// questions. No answer's words are kept: the callback feed hands out only
// that a text question was answered.

// Question types of a survey answer (the callback service's).
const (
	QuestionRating = "rating"
	QuestionYesNo  = "yes_no"
	QuestionChoice = "choice"
	QuestionText   = "text"
)

// SurveyAnswer is one answer of a completed callback.
type SurveyAnswer struct {
	Question string
	Type     string
	// DealerQuestion: one of the dealer's own questions, not HQ's.
	DealerQuestion bool
	// Scale is a rating question's top value (ratings start at 1).
	Scale int
	// Answer is the rating ("1".."10"), "yes"/"no", or the choice's
	// option code; empty for a text answer.
	Answer string
	// Problem: the yes/no answer is the question's problem answer.
	Problem bool
}

// validateAnswers refuses an answer the analysis could not place.
func validateAnswers(field string, f CallbackFact) error {
	if len(f.Answers) > 0 && f.CompleteTime.IsZero() {
		return apperr.Invalid(field+".complete_time", "is required with answers")
	}
	for i, a := range f.Answers {
		f := fmt.Sprintf("%s.answers[%d]", field, i)
		switch {
		case a.Question == "":
			return apperr.Invalid(f+".question", "is required")
		case !slices.Contains([]string{QuestionRating, QuestionYesNo, QuestionChoice, QuestionText}, a.Type):
			return apperr.Invalid(f+".type", fmt.Sprintf("%q is not a question type (rating, yes_no, choice, text)", a.Type))
		case a.Type == QuestionRating:
			if r, err := strconv.Atoi(a.Answer); err != nil || r < 1 || r > a.Scale {
				return apperr.Invalid(f+".rating", fmt.Sprintf("must be between 1 and the scale %d, got %q", a.Scale, a.Answer))
			}
		}
	}
	return nil
}

// SurveyKey names one question of one questionnaire version: HQ's
// version of the kind for HQ's questions, the dealer's questions' version
// for its own.
type SurveyKey struct {
	Kind           string
	DealerQuestion bool
	Version        int
	Question       string
}

// SurveyCount is how many answers of one question were one value.
type SurveyCount struct {
	SurveyKey
	Type    string
	Scale   int
	Answer  string
	Problem bool
	Count   int64
}

// NPSScale is the rating scale whose questions get a net promoter score.
// The callback's ratings start at 1, so detractors are 1-6.
const NPSScale = 10

// NPS thresholds on a 10-point rating.
const (
	PromoterMin  = 9
	DetractorMax = 6
)

// LowRatingMax is the highest rating of scale that counts as a low
// score: the NPS detractors (≤ 6) on a 10-point scale, else the bottom
// 40 % of the scale, at least 1 (≤ 2 of 5, ≤ 1 of 3).
func LowRatingMax(scale int) int {
	if scale == NPSScale {
		return DetractorMax
	}
	return max(1, scale*2/5)
}

// AnswerCount is one value's count.
type AnswerCount struct {
	Answer string
	Count  int64
}

// NPS is a net promoter score's counts: Score = (Promoters - Detractors)
// × 100 ÷ Responses.
type NPS struct {
	Promoters, Passives, Detractors, Responses int64
}

// Score is the net promoter score in percent (-100..100), false without
// responses.
func (n NPS) Score() (float64, bool) {
	if n.Responses == 0 {
		return 0, false
	}
	return float64(n.Promoters-n.Detractors) * 100 / float64(n.Responses), true
}

// QuestionAnalysis is one question's answers over a scope and period.
// Every ratio comes with its numerator and denominator (Responses).
type QuestionAnalysis struct {
	SurveyKey
	Type  string
	Scale int
	// Responses is how many answered it: every ratio's denominator.
	Responses int64
	// Distribution counts each value: every rating 1..scale and yes and
	// no (zeros included), each choice given; a text question none.
	Distribution []AnswerCount
	// RatingSum is the mean's numerator (ratings only).
	RatingSum int64
	// LowMax is the highest low rating (LowRatingMax); LowCount counts the
	// ratings at or under it, or a yes/no question's problem answers.
	LowMax   int
	LowCount int64
	// NPS is set for a 10-point rating.
	NPS *NPS
}

// Mean is the mean rating, false without ratings.
func (q QuestionAnalysis) Mean() (float64, bool) {
	if q.Type != QuestionRating || q.Responses == 0 {
		return 0, false
	}
	return float64(q.RatingSum) / float64(q.Responses), true
}

// LowShare is LowCount ÷ Responses, false for choice and text questions
// or without responses.
func (q QuestionAnalysis) LowShare() (float64, bool) {
	if (q.Type != QuestionRating && q.Type != QuestionYesNo) || q.Responses == 0 {
		return 0, false
	}
	return float64(q.LowCount) / float64(q.Responses), true
}

// AnalyseSurveys turns counts into one analysis per question, in kind,
// HQ before dealer, version and question order.
func AnalyseSurveys(counts []SurveyCount) []QuestionAnalysis {
	byKey := map[SurveyKey]*QuestionAnalysis{}
	values := map[SurveyKey]map[string]int64{}
	for _, c := range counts {
		q := byKey[c.SurveyKey]
		if q == nil {
			q = &QuestionAnalysis{SurveyKey: c.SurveyKey, Type: c.Type, Scale: c.Scale}
			byKey[c.SurveyKey], values[c.SurveyKey] = q, map[string]int64{}
		}
		q.Responses += c.Count
		if c.Type == QuestionText {
			continue
		}
		values[c.SurveyKey][c.Answer] += c.Count
		switch c.Type {
		case QuestionRating:
			r, _ := strconv.Atoi(c.Answer)
			q.RatingSum += int64(r) * c.Count
			if r <= LowRatingMax(c.Scale) {
				q.LowCount += c.Count
			}
		case QuestionYesNo:
			if c.Problem {
				q.LowCount += c.Count
			}
		}
	}
	out := make([]QuestionAnalysis, 0, len(byKey))
	for k, q := range byKey {
		v := values[k]
		switch q.Type {
		case QuestionRating:
			q.LowMax = LowRatingMax(q.Scale)
			for r := 1; r <= q.Scale; r++ {
				q.Distribution = append(q.Distribution, AnswerCount{strconv.Itoa(r), v[strconv.Itoa(r)]})
			}
			if q.Scale == NPSScale {
				n := NPS{Responses: q.Responses}
				for r := 1; r <= q.Scale; r++ {
					c := v[strconv.Itoa(r)]
					switch {
					case r >= PromoterMin:
						n.Promoters += c
					case r <= DetractorMax:
						n.Detractors += c
					default:
						n.Passives += c
					}
				}
				q.NPS = &n
			}
		case QuestionYesNo:
			q.Distribution = []AnswerCount{{"yes", v["yes"]}, {"no", v["no"]}}
		case QuestionChoice:
			for a, c := range v {
				q.Distribution = append(q.Distribution, AnswerCount{a, c})
			}
			slices.SortFunc(q.Distribution, func(a, b AnswerCount) int { return cmp.Compare(a.Answer, b.Answer) })
		}
		out = append(out, *q)
	}
	slices.SortFunc(out, func(a, b QuestionAnalysis) int { return compareKeys(a.SurveyKey, b.SurveyKey) })
	return out
}

func compareKeys(a, b SurveyKey) int {
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	if a.DealerQuestion != b.DealerQuestion {
		if a.DealerQuestion {
			return 1
		}
		return -1
	}
	if a.Version != b.Version {
		return a.Version - b.Version
	}
	return cmp.Compare(a.Question, b.Question)
}

// SurveyFilter narrows an analysis; a zero field does not filter.
type SurveyFilter struct {
	// Kind is a callback kind (3DC, ...).
	Kind string
	// Version is a questionnaire version: HQ's questionnaire's for HQ's
	// questions, the dealer's questions' version for its own (as
	// SurveyKey.Version).
	Version int
	// Question is a question code.
	Question string
}

// maxQuestionCode bounds a question code in a filter.
const maxQuestionCode = 32

// Validate names the bad field.
func (f SurveyFilter) Validate() error {
	switch {
	case f.Kind != "" && !slices.Contains(callbackKinds, f.Kind):
		return apperr.Invalid("kind", fmt.Sprintf("%q is not a callback kind (3DC, 7DC, NEW_CUSTOMER, COMPLAINT_FOLLOW_UP, REVISIT_OVERDUE, CAMPAIGN)", f.Kind)).
			ZhReason("不是回访类型（3DC、7DC、NEW_CUSTOMER、COMPLAINT_FOLLOW_UP、REVISIT_OVERDUE、CAMPAIGN）")
	case f.Version < 0:
		return apperr.Invalid("questionnaire_version", fmt.Sprintf("must be a version (1 or more), or 0 for all, got %d", f.Version)).
			ZhReason("须为问卷版本号（1 或以上），0 表示全部")
	case len(f.Question) > maxQuestionCode || strings.ContainsFunc(f.Question, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.')
	}):
		return apperr.Invalid("question", fmt.Sprintf("%q is not a question code (up to 32 letters, digits, _ - .)", f.Question)).
			ZhReason("不是题目代码（最多 32 个字母、数字或 _ - .）")
	}
	return nil
}

// SurveyStore reads the survey counts.
type SurveyStore interface {
	// SurveyCounts sums the answers of dealers (all the scope sees when
	// nil) over each period [starts[i], ends[i]) of local days, by the
	// period's start; dealers' own questions only when withDealerQuestions;
	// only those the filter lets through.
	SurveyCounts(ctx context.Context, scope pg.Scope, dealers []string, withDealerQuestions bool, f SurveyFilter, starts, ends []Date) (map[Date][]SurveyCount, error)
}

// SurveyPeriod is one period's analysis.
type SurveyPeriod struct {
	Start, End Date // End inclusive
	Questions  []QuestionAnalysis
}

// SurveyAnalysis is a scope's analysis over consecutive periods.
type SurveyAnalysis struct {
	Scope       string
	Granularity Granularity
	Periods     []SurveyPeriod
}

// Surveys answers the survey analysis with the KPIs' visibility rules
// and periods.
type Surveys struct {
	svc   *Service
	store SurveyStore
}

// NewSurveys returns the survey analysis over svc's rules and store.
func NewSurveys(svc *Service, store SurveyStore) *Surveys { return &Surveys{svc: svc, store: store} }

// callbackKinds are the kinds a survey can be of (the callback service's).
var callbackKinds = []string{"3DC", "7DC", "NEW_CUSTOMER", "COMPLAINT_FOLLOW_UP", "REVISIT_OVERDUE", "CAMPAIGN"}

func (s *Surveys) analysis(ctx context.Context, scopeName string, scope pg.Scope, dealers []string, own bool, f SurveyFilter, q Query, zone string) (*SurveyAnalysis, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	g, starts, err := s.svc.periods(q, zone)
	if err != nil {
		return nil, err
	}
	ends := make([]Date, len(starts))
	for i, st := range starts {
		ends[i] = PeriodEnd(g, st)
	}
	counts, err := s.store.SurveyCounts(ctx, scope, dealers, own, f, starts, ends)
	if err != nil {
		return nil, err
	}
	out := &SurveyAnalysis{Scope: scopeName, Granularity: g}
	for i, st := range starts {
		out.Periods = append(out.Periods, SurveyPeriod{Start: st, End: ends[i].AddDate(0, 0, -1), Questions: AnalyseSurveys(counts[st])})
	}
	return out, nil
}

// Dealer answers a dealer's analysis, its own questions included: its
// staff, its region's manager, HQ. Another dealer is ENOTFOUND; a bad
// query EINVALID naming the field.
func (s *Surveys) Dealer(ctx context.Context, dealer string, f SurveyFilter, q Query) (*SurveyAnalysis, error) {
	_, scope, err := s.svc.access.Scope(ctx, dealer)
	if err != nil {
		return nil, err
	}
	return s.analysis(ctx, "dealers/"+dealer, scope, []string{dealer}, true, f, q, s.svc.dealer(ctx, scope, dealer).TimeZone)
}

// Region answers a region's analysis, the sum of its dealers' (HQ, the
// region's manager); as RegionKpis.
func (s *Surveys) Region(ctx context.Context, region string, f SurveyFilter, q Query) (*SurveyAnalysis, error) {
	scope, codes, err := s.svc.regionDealers(ctx, region)
	if err != nil {
		return nil, err
	}
	return s.analysis(ctx, "regions/"+region, scope, codes, false, f, q, DefaultZone)
}

// Network answers the network's analysis to HQ, and to a region manager
// the sum of its region's dealers (the dealers it sees); dealer staff are
// EFORBIDDEN (they read their dealer's).
func (s *Surveys) Network(ctx context.Context, f SurveyFilter, q Query) (*SurveyAnalysis, error) {
	p, scope, err := s.svc.access.Visible(ctx)
	if err != nil {
		return nil, err
	}
	if !p.IsHQ() && !p.IsRegion() && !p.IsService() {
		return nil, forbidden()
	}
	name := "network"
	if p.IsRegion() {
		name = "regions/" + p.Region
	}
	return s.analysis(ctx, name, scope, nil, false, f, q, DefaultZone)
}
