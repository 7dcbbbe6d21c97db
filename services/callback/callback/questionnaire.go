package callback

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
)

// Question types.
const (
	QuestionRating = "rating"
	QuestionYesNo  = "yes_no"
	QuestionChoice = "choice"
	QuestionText   = "text"
)

// DefaultScale is a rating question's scale when none is given.
const DefaultScale = 5

// Option is an option of a choice question.
type Option struct {
	Code  string `json:"code"`
	Label string `json:"label"`
	Score int    `json:"score"`
}

// Question is one question; it is stored as JSON.
type Question struct {
	Code    string   `json:"code"`
	Text    string   `json:"text"`
	Type    string   `json:"type"`
	Weight  float64  `json:"weight"`
	Scale   int      `json:"scale,omitempty"`
	Options []Option `json:"options,omitempty"`
	// ProblemAnswer is the yes/no answer ("yes" or "no") that reports a
	// problem; empty means neither.
	ProblemAnswer string `json:"problem_answer,omitempty"`
	Required      bool   `json:"required,omitempty"`
}

// Answer is one answer; it is stored as JSON.
type Answer struct {
	Question string `json:"question"`
	Rating   int    `json:"rating,omitempty"`
	YesNo    string `json:"yes_no,omitempty"`
	Choice   string `json:"choice,omitempty"`
	Text     string `json:"text,omitempty"`
}

// Questionnaire is HQ's standard for a kind, followed by a dealer's own
// questions (DealerVersion > 0).
type Questionnaire struct {
	ID            string
	Kind          string
	Version       int
	Title         string
	Script        string
	Questions     []Question
	Dealer        string
	DealerVersion int
	CreateTime    time.Time
}

// ValidateQuestions checks questions under field (e.g. "questionnaire.questions")
// and fills in defaults (a rating's scale). Dealer questions (dealer true)
// must have codes starting with D that are not among hqCodes; HQ's must not
// start with D, which is kept for dealers.
func ValidateQuestions(field string, qs []Question, dealer bool, hqCodes []string) error {
	seen := map[string]bool{}
	for _, c := range hqCodes {
		seen[c] = true
	}
	for i := range qs {
		q := &qs[i]
		f := fmt.Sprintf("%s[%d]", field, i)
		q.Code, q.Text = strings.TrimSpace(q.Code), strings.TrimSpace(q.Text)
		switch {
		case q.Code == "":
			return apperr.Invalid(f+".code", "is required").ZhReason("为必填项")
		case dealer && !IsDealerQuestion(q.Code):
			return apperr.Invalid(f+".code", "a dealer's question code must start with D").ZhReason("经销商自定义问题的编码须以 D 开头")
		case !dealer && IsDealerQuestion(q.Code):
			return apperr.Invalid(f+".code", "codes starting with D are kept for dealers' questions").ZhReason("以 D 开头的编码保留给经销商自定义问题")
		case seen[q.Code]:
			return apperr.Invalid(f+".code", "\""+q.Code+"\" is used twice").ZhReason("编码“" + q.Code + "”重复")
		case q.Text == "":
			return apperr.Invalid(f+".text", "is required").ZhReason("为必填项")
		case q.Weight < 0 || q.Weight > 100:
			return apperr.Invalid(f+".weight", "must be between 0 and 100").ZhReason("须在 0 到 100 之间")
		}
		seen[q.Code] = true
		if q.ProblemAnswer != "" && q.Type != QuestionYesNo {
			return apperr.Invalid(f+".problem_answer", "applies to yes/no questions only").ZhReason("仅适用于是/否问题")
		}
		switch q.Type {
		case QuestionRating:
			if q.Scale == 0 {
				q.Scale = DefaultScale
			}
			if q.Scale < 2 || q.Scale > 10 {
				return apperr.Invalid(f+".scale", "must be between 2 and 10").ZhReason("须在 2 到 10 之间")
			}
		case QuestionChoice:
			if len(q.Options) == 0 {
				return apperr.Invalid(f+".options", "a choice question needs options").ZhReason("选择题须有选项")
			}
			codes := map[string]bool{}
			for j, o := range q.Options {
				of := fmt.Sprintf("%s.options[%d]", f, j)
				switch {
				case o.Code == "":
					return apperr.Invalid(of+".code", "is required").ZhReason("为必填项")
				case codes[o.Code]:
					return apperr.Invalid(of+".code", "\""+o.Code+"\" is used twice").ZhReason("编码“" + o.Code + "”重复")
				case o.Score < 0 || o.Score > 100:
					return apperr.Invalid(of+".score", "must be between 0 and 100").ZhReason("须在 0 到 100 之间")
				}
				codes[o.Code] = true
			}
		case QuestionYesNo, QuestionText:
		default:
			return apperr.Invalid(f+".type", "is required").ZhReason("为必填项")
		}
	}
	return nil
}

// Validate checks an HQ questionnaire before it is published.
func (q *Questionnaire) Validate() error {
	q.Title = strings.TrimSpace(q.Title)
	switch {
	case !slices.Contains(Kinds, q.Kind):
		return apperr.Invalid("questionnaire.kind", "is required").ZhReason("为必填项")
	case q.Title == "":
		return apperr.Invalid("questionnaire.title", "is required").ZhReason("为必填项")
	case len(q.Questions) == 0:
		return apperr.Invalid("questionnaire.questions", "at least one question is required").ZhReason("至少需要一个问题")
	}
	return ValidateQuestions("questionnaire.questions", q.Questions, false, nil)
}

// Codes lists the questions' codes.
func (q *Questionnaire) Codes() []string {
	out := make([]string, len(q.Questions))
	for i, x := range q.Questions {
		out[i] = x.Code
	}
	return out
}

func (q *Questionnaire) question(code string) (Question, bool) {
	for _, x := range q.Questions {
		if x.Code == code {
			return x, true
		}
	}
	return Question{}, false
}

// Score checks answers against the questionnaire and returns the 0-100
// score and whether an answer reports a problem.
//
// The score is the weighted mean of the answered scored questions: a
// rating r of scale s counts (r-1)/(s-1)*100, a yes/no 100 unless it is
// the problem answer (0), a choice its option's score; text and weight-0
// questions, and optional questions left unanswered, count in neither sum.
// With nothing scored the score is 100: nothing measured a dissatisfaction.
func (q *Questionnaire) Score(answers []Answer) (score float64, problem bool, err error) {
	answered := map[string]bool{}
	var sum, weights float64
	for i, a := range answers {
		f := fmt.Sprintf("answers[%d]", i)
		x, ok := q.question(a.Question)
		if !ok {
			return 0, false, apperr.Invalid(f+".question", "no question \""+a.Question+"\" in this questionnaire").ZhReason("问卷中没有问题“" + a.Question + "”")
		}
		if answered[a.Question] {
			return 0, false, apperr.Invalid(f+".question", "\""+a.Question+"\" is answered twice").ZhReason("问题“" + a.Question + "”重复作答")
		}
		answered[a.Question] = true
		var s float64
		switch x.Type {
		case QuestionRating:
			if err := onlyField(f, a, "rating"); err != nil {
				return 0, false, err
			}
			if a.Rating < 1 || a.Rating > x.Scale {
				return 0, false, apperr.Invalid(f+".rating", fmt.Sprintf("must be between 1 and %d", x.Scale)).ZhReason(fmt.Sprintf("须在 1 到 %d 之间", x.Scale))
			}
			s = float64(a.Rating-1) / float64(x.Scale-1) * 100
		case QuestionYesNo:
			if err := onlyField(f, a, "yes_no"); err != nil {
				return 0, false, err
			}
			if a.YesNo != "yes" && a.YesNo != "no" {
				return 0, false, apperr.Invalid(f+".yes_no", "must be yes or no").ZhReason("须为 yes 或 no")
			}
			s = 100
			if a.YesNo == x.ProblemAnswer {
				s, problem = 0, true
			}
		case QuestionChoice:
			if err := onlyField(f, a, "choice"); err != nil {
				return 0, false, err
			}
			found := false
			for _, o := range x.Options {
				if o.Code == a.Choice {
					s, found = float64(o.Score), true
				}
			}
			if !found {
				return 0, false, apperr.Invalid(f+".choice", "no option \""+a.Choice+"\" in question "+x.Code).ZhReason("问题 " + x.Code + " 没有选项“" + a.Choice + "”")
			}
		case QuestionText:
			if err := onlyField(f, a, "text"); err != nil {
				return 0, false, err
			}
			continue
		}
		sum += x.Weight * s
		weights += x.Weight
	}
	for _, x := range q.Questions {
		if x.Required && !answered[x.Code] {
			return 0, false, apperr.Invalid("answers", "question \""+x.Code+"\" is required").ZhReason("问题“" + x.Code + "”为必答题")
		}
	}
	if weights == 0 {
		return 100, problem, nil
	}
	return sum / weights, problem, nil
}

// onlyField checks an answer carries the value of its question's type and
// no other.
func onlyField(f string, a Answer, want string) error {
	set := map[string]bool{"rating": a.Rating != 0, "yes_no": a.YesNo != "", "choice": a.Choice != "", "text": strings.TrimSpace(a.Text) != ""}
	for _, name := range []string{"rating", "yes_no", "choice", "text"} {
		if name != want && set[name] {
			return apperr.Invalid(f+"."+name, "question \""+a.Question+"\" takes "+want).ZhReason("问题“" + a.Question + "”须填写 " + want)
		}
	}
	if !set[want] {
		return apperr.Invalid(f+"."+want, "is required").ZhReason("为必填项")
	}
	return nil
}

// IsDealerQuestion reports whether code is one of a dealer's own
// questions: their codes start with D, HQ's never do.
func IsDealerQuestion(code string) bool { return strings.HasPrefix(code, "D") }

// AnswerFact is an answer as the change feed hands it to the survey
// analysis: with its question's type and scale and whether it reports a
// problem. A text answer keeps only that it was given: free text can hold
// a name or a mobile, and no analysis needs its words.
type AnswerFact struct {
	Question       string
	Type           string
	DealerQuestion bool
	Scale          int
	Rating         int
	YesNo          string
	Choice         string
	Problem        bool
}

// AnswerFacts describes answers (already checked by Score) with their
// questions; an answer to a question the questionnaire lacks is left out.
func (q *Questionnaire) AnswerFacts(answers []Answer) []AnswerFact {
	var out []AnswerFact
	for _, a := range answers {
		x, ok := q.question(a.Question)
		if !ok {
			continue
		}
		f := AnswerFact{Question: x.Code, Type: x.Type, DealerQuestion: IsDealerQuestion(x.Code)}
		switch x.Type {
		case QuestionRating:
			f.Scale, f.Rating = x.Scale, a.Rating
		case QuestionYesNo:
			f.YesNo, f.Problem = a.YesNo, x.ProblemAnswer != "" && a.YesNo == x.ProblemAnswer
		case QuestionChoice:
			f.Choice = a.Choice
		}
		out = append(out, f)
	}
	return out
}
