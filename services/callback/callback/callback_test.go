package callback

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func ssi() *Questionnaire {
	return &Questionnaire{ID: "q", Kind: Kind3DC, Version: 1, Questions: []Question{
		{Code: "Q1", Text: "总体满意度", Type: QuestionRating, Weight: 60, Scale: 10, Required: true},
		{Code: "Q2", Text: "问题是否一次修复?", Type: QuestionYesNo, Weight: 20, ProblemAnswer: "no"},
		{Code: "Q3", Text: "是否还有其他问题?", Type: QuestionYesNo, Weight: 0, ProblemAnswer: "yes"},
		{Code: "Q4", Text: "等待时间", Type: QuestionChoice, Weight: 20, Options: []Option{{"A", "短", 100}, {"B", "一般", 60}, {"C", "长", 0}}},
		{Code: "Q5", Text: "意见", Type: QuestionText},
	}}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestScore(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []Answer
		score   float64
		problem bool
	}{
		{"all best", []Answer{{Question: "Q1", Rating: 10}, {Question: "Q2", YesNo: "yes"}, {Question: "Q3", YesNo: "no"}, {Question: "Q4", Choice: "A"}, {Question: "Q5", Text: "很好"}}, 100, false},
		{"lowest rating", []Answer{{Question: "Q1", Rating: 1}}, 0, false},
		// (6-1)/9*100 = 55.56 weighted 60, yes/no problem 0 weighted 20, B 60 weighted 20.
		{"mixed", []Answer{{Question: "Q1", Rating: 6}, {Question: "Q2", YesNo: "no"}, {Question: "Q4", Choice: "B"}}, (60*500.0/9 + 0 + 20*60) / 100, true},
		// Q3 weighs 0: a problem, but no effect on the score.
		{"zero weight problem", []Answer{{Question: "Q1", Rating: 10}, {Question: "Q3", YesNo: "yes"}}, 100, true},
		// Unanswered optional questions count in neither sum.
		{"optional left out", []Answer{{Question: "Q1", Rating: 10}, {Question: "Q4", Choice: "C"}}, 60 * 100.0 / 80, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			score, problem, err := ssi().Score(tc.answers)
			if err != nil {
				t.Fatal(err)
			}
			if !near(score, tc.score) || problem != tc.problem {
				t.Errorf("score %v problem %v, want %v %v", score, problem, tc.score, tc.problem)
			}
		})
	}
}

func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.EINVALID || len(e.Violations) != 1 || e.Violations[0].Field != field {
		t.Fatalf("got %v, want EINVALID on %s", err, field)
	}
}

func TestScoreRejects(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []Answer
		field   string
		in      string // the message names this
	}{
		{"unknown question", []Answer{{Question: "Q1", Rating: 5}, {Question: "X9", Text: "?"}}, "answers[1].question", "X9"},
		{"twice", []Answer{{Question: "Q1", Rating: 5}, {Question: "Q1", Rating: 5}}, "answers[1].question", "Q1"},
		{"rating out of range", []Answer{{Question: "Q1", Rating: 11}}, "answers[0].rating", "10"},
		{"wrong type", []Answer{{Question: "Q1", YesNo: "yes"}}, "answers[0].yes_no", "Q1"},
		{"rating missing", []Answer{{Question: "Q1"}}, "answers[0].rating", "required"},
		{"bad choice", []Answer{{Question: "Q1", Rating: 5}, {Question: "Q4", Choice: "Z"}}, "answers[1].choice", "Z"},
		{"bad yes/no", []Answer{{Question: "Q1", Rating: 5}, {Question: "Q2", YesNo: "maybe"}}, "answers[1].yes_no", "yes or no"},
		{"required missing", []Answer{{Question: "Q2", YesNo: "yes"}}, "answers", "Q1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ssi().Score(tc.answers)
			wantInvalid(t, err, tc.field)
			if !strings.Contains(err.Error(), tc.in) {
				t.Errorf("%v does not mention %q", err, tc.in)
			}
		})
	}
}

func TestValidateQuestions(t *testing.T) {
	ok := []Question{{Code: "Q1", Text: "x", Type: QuestionRating}}
	if err := ValidateQuestions("q", ok, false, nil); err != nil || ok[0].Scale != DefaultScale {
		t.Fatalf("err %v scale %d", err, ok[0].Scale)
	}
	for _, tc := range []struct {
		name   string
		qs     []Question
		dealer bool
		field  string
	}{
		{"duplicate code", []Question{{Code: "Q1", Text: "x", Type: QuestionText}, {Code: "Q1", Text: "y", Type: QuestionText}}, false, "q[1].code"},
		{"choice without options", []Question{{Code: "Q1", Text: "x", Type: QuestionChoice}}, false, "q[0].options"},
		{"scale 1", []Question{{Code: "Q1", Text: "x", Type: QuestionRating, Scale: 1}}, false, "q[0].scale"},
		{"scale 11", []Question{{Code: "Q1", Text: "x", Type: QuestionRating, Scale: 11}}, false, "q[0].scale"},
		{"no type", []Question{{Code: "Q1", Text: "x"}}, false, "q[0].type"},
		{"problem answer on rating", []Question{{Code: "Q1", Text: "x", Type: QuestionRating, ProblemAnswer: "yes"}}, false, "q[0].problem_answer"},
		{"HQ takes a D code", []Question{{Code: "D1", Text: "x", Type: QuestionText}}, false, "q[0].code"},
		{"dealer code without D", []Question{{Code: "X1", Text: "x", Type: QuestionText}}, true, "q[0].code"},
		{"dealer code clashes with HQ", []Question{{Code: "DQ1", Text: "x", Type: QuestionText}}, true, "q[0].code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hq []string
			if tc.dealer {
				hq = []string{"Q1", "DQ1"}
			}
			wantInvalid(t, ValidateQuestions("q", tc.qs, tc.dealer, hq), tc.field)
		})
	}
}

func newTask(t *testing.T) *Task {
	t.Helper()
	task, err := NewTask(Task{ID: "t", Dealer: "SH001", Kind: Kind3DC, DueTime: t0, Deadline: t0.Add(48 * time.Hour)}, false, t0)
	if err != nil {
		t.Fatal(err)
	}
	task.Questionnaire = ssi()
	return task
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if apperr.Code(err) != code {
		t.Fatalf("got %v, want %s", err, code)
	}
}

func TestNewTask(t *testing.T) {
	task := newTask(t)
	if task.Status != StatusPending || !task.NextAttemptTime.Equal(t0) || task.FeedbackRole != FeedbackServiceManager {
		t.Errorf("%+v", task)
	}
	sale, _ := NewTask(Task{Kind: Kind7DC, DueTime: t0, Deadline: t0.Add(time.Hour)}, true, t0)
	if sale.Status != StatusCancelled || sale.EndReason != "do not call" || !sale.NextAttemptTime.IsZero() || sale.FeedbackRole != FeedbackSalesManager {
		t.Errorf("do not call: %+v", sale)
	}
	_, err := NewTask(Task{Kind: Kind3DC, DueTime: t0, Deadline: t0}, false, t0)
	wantInvalid(t, err, "deadline")
}

func TestRecordAttempt(t *testing.T) {
	task := newTask(t)
	if _, err := task.RecordAttempt(Attempt{Number: 2, Outcome: OutcomeNoAnswer, Time: t0}); apperr.Code(err) != apperr.ECONFLICT || !strings.Contains(err.Error(), "number") {
		t.Fatalf("skipped number: %v", err)
	}
	if ok, err := task.RecordAttempt(Attempt{Number: 1, Outcome: OutcomeNoAnswer, Time: t0, Agent: "a1"}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if task.Status != StatusPending || !task.NextAttemptTime.IsZero() || len(task.Attempts) != 1 {
		t.Errorf("after no answer: %+v", task)
	}
	// The same request again counts once.
	if ok, err := task.RecordAttempt(Attempt{Number: 1, Outcome: OutcomeNoAnswer, Time: t0.Add(time.Minute)}); ok || err != nil || len(task.Attempts) != 1 {
		t.Fatalf("retry: %v %v %d", ok, err, len(task.Attempts))
	}
	// The same number with another outcome is a conflict naming number.
	_, err := task.RecordAttempt(Attempt{Number: 1, Outcome: OutcomeAnswered, Time: t0})
	if e, ok := apperr.As(err); !ok || e.Code != apperr.ECONFLICT || e.Violations[0].Field != "number" {
		t.Fatalf("other outcome: %v", err)
	}
	_, err = task.RecordAttempt(Attempt{Number: 2, Outcome: OutcomeCallBackLater, Time: t0, CallBackTime: t0.Add(-time.Minute)})
	wantInvalid(t, err, "call_back_time")
	if ok, err := task.RecordAttempt(Attempt{Number: 2, Outcome: OutcomeAnswered, Time: t0, Agent: "a1"}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if task.Status != StatusInProgress || task.Assignee != "a1" || task.NextAttemptTime.IsZero() {
		t.Errorf("after answered: %+v", task)
	}

	wrong := newTask(t)
	_, _ = wrong.RecordAttempt(Attempt{Number: 1, Outcome: OutcomeWrongNumber, Time: t0})
	if wrong.Status != StatusUnreachable || wrong.EndReason != "wrong number" || !wrong.EndTime.Equal(t0) {
		t.Errorf("wrong number: %+v", wrong)
	}
	_, err = wrong.RecordAttempt(Attempt{Number: 2, Outcome: OutcomeAnswered, Time: t0})
	wantCode(t, err, apperr.ECONFLICT)
	refused := newTask(t)
	_, _ = refused.RecordAttempt(Attempt{Number: 1, Outcome: OutcomeRefused, Time: t0})
	if refused.Status != StatusRefused {
		t.Errorf("refused: %+v", refused)
	}
}

func answered(t *testing.T) *Task {
	task := newTask(t)
	if _, err := task.RecordAttempt(Attempt{Number: 1, Outcome: OutcomeAnswered, Time: t0, Agent: "a1"}); err != nil {
		t.Fatal(err)
	}
	return task
}

func TestComplete(t *testing.T) {
	pending := newTask(t)
	wantCode(t, pending.Complete([]Answer{{Question: "Q1", Rating: 10}}, false, "", 80, t0), apperr.ECONFLICT)
	claimed := newTask(t)
	if err := claimed.Claim("a1", false, t0); err != nil {
		t.Fatal(err)
	}
	wantCode(t, claimed.Complete([]Answer{{Question: "Q1", Rating: 10}}, false, "", 80, t0), apperr.ECONFLICT)

	good := answered(t)
	if err := good.Complete([]Answer{{Question: "Q1", Rating: 10}}, false, "", 80, t0); err != nil {
		t.Fatal(err)
	}
	if good.Status != StatusCompleted || !good.Satisfied || good.Score != 100 || !good.EndTime.Equal(t0) || good.NeedsInstruction() {
		t.Errorf("good: %+v", good)
	}
	low := answered(t)
	if err := low.Complete([]Answer{{Question: "Q1", Rating: 7}}, false, "", 80, t0); err != nil || low.Satisfied || !low.NeedsInstruction() {
		t.Errorf("score 66.7 under 80: satisfied %v err %v", low.Satisfied, err)
	}
	problem := answered(t)
	wantInvalid(t, problem.Complete([]Answer{{Question: "Q1", Rating: 10}, {Question: "Q2", YesNo: "no"}}, false, " ", 80, t0), "findings")
	wantInvalid(t, problem.Complete([]Answer{{Question: "Q1", Rating: 10}}, true, "", 80, t0), "findings")
	if problem.Status != StatusInProgress {
		t.Errorf("a rejected completion changed the status to %s", problem.Status)
	}
	if err := problem.Complete([]Answer{{Question: "Q1", Rating: 10}}, true, "异响未修好", 80, t0); err != nil || problem.Satisfied || !problem.ProblemReported {
		t.Errorf("flagged problem: %+v %v", problem, err)
	}
}

func TestManagerActions(t *testing.T) {
	task := answered(t)
	wantCode(t, task.Instruct("x", "m", t0), apperr.ECONFLICT)
	wantCode(t, task.Rectify("x", "m", t0), apperr.ECONFLICT)
	_ = task.Complete([]Answer{{Question: "Q1", Rating: 2}}, true, "等待时间过长", 80, t0)
	wantCode(t, task.Rectify("x", "m", t0), apperr.ECONFLICT)
	if err := task.Instruct("加派服务顾问", "sm", t0); err != nil {
		t.Fatal(err)
	}
	if err := task.Rectify("已增加两名顾问", "sm", t0); err != nil || task.RectifiedBy != "sm" {
		t.Fatal(err)
	}
	wantCode(t, task.Cancel("x", t0), apperr.ECONFLICT)
	wantCode(t, task.Assign("a2"), apperr.ECONFLICT)

	open := newTask(t)
	if err := open.Claim("a1", false, t0); err != nil {
		t.Fatal(err)
	}
	wantCode(t, open.Claim("a2", false, t0), apperr.ECONFLICT)
	if err := open.Claim("a2", true, t0); err != nil || open.Assignee != "a2" {
		t.Fatal(err)
	}
	if err := open.Cancel("客户已来店", t0); err != nil || open.Status != StatusCancelled || open.EndReason != "客户已来店" {
		t.Fatal(err, open.Status)
	}
}

func TestWorkflowActions(t *testing.T) {
	task := newTask(t)
	if task.ScheduleRetry(1, t0) {
		t.Error("a retry before any attempt was applied")
	}
	_, _ = task.RecordAttempt(Attempt{Number: 1, Outcome: OutcomeBusy, Time: t0})
	if !task.ScheduleRetry(1, t0.Add(time.Hour)) || !task.NextAttemptTime.Equal(t0.Add(time.Hour)) {
		t.Error("retry after attempt 1 not applied")
	}
	_, _ = task.RecordAttempt(Attempt{Number: 2, Outcome: OutcomeNoAnswer, Time: t0})
	if task.ScheduleRetry(1, t0.Add(2*time.Hour)) || !task.NextAttemptTime.IsZero() {
		t.Error("a retry for an older attempt moved the plan")
	}
	if ok, err := task.End(StatusUnreachable, "no answer after 3 attempts", t0); !ok || err != nil || task.Status != StatusUnreachable {
		t.Fatal(ok, err)
	}
	if ok, err := task.End(StatusExpired, "late", t0.Add(time.Hour)); ok || err != nil || task.Status != StatusUnreachable {
		t.Error("ending an ended task changed it")
	}
	if _, err := newTask(t).End(StatusCompleted, "", t0); apperr.Code(err) != apperr.EINVALID {
		t.Error(err)
	}
	if ok, _ := task.LinkComplaint("c1"); !ok {
		t.Error("link")
	}
	if ok, err := task.LinkComplaint("c1"); ok || err != nil {
		t.Error("relink", ok, err)
	}
}

func TestPolicy(t *testing.T) {
	p := Policy{Timings: []Timing{{Kind: Kind3DC, Delay: 1500 * time.Millisecond, Window: time.Minute}}}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.MaxAttempts != 3 || p.CallingStart != "09:00" || p.Timings[0].Delay != time.Second ||
		p.ComplaintSeverity != SeverityMedium || !slices.Equal(p.ComplaintSeverityRules, []SeverityRule{{50, SeverityHigh}}) {
		t.Errorf("defaults: %+v", p)
	}
	// The default's rules are copied, not shared.
	p.ComplaintSeverityRules[0].Severity = SeverityLow
	if DefaultPolicy().ComplaintSeverityRules[0].Severity != SeverityHigh {
		t.Error("Validate shares the default's rules")
	}
	bands := Policy{ComplaintSeverity: SeverityLow, ComplaintSeverityRules: []SeverityRule{{30, SeverityCritical}, {60, SeverityHigh}}}
	if err := bands.Validate(); err != nil || bands.ComplaintSeverity != SeverityLow || len(bands.ComplaintSeverityRules) != 2 {
		t.Errorf("own bands: %v %+v", err, bands)
	}
	for _, tc := range []struct {
		p     Policy
		field string
	}{
		{Policy{CallingStart: "21:00", CallingEnd: "09:00"}, "policy.calling_start"},
		{Policy{CallingStart: "09:00", CallingEnd: "25:00"}, "policy.calling_end"},
		{Policy{Timings: []Timing{{Kind: Kind3DC, Window: time.Hour}, {Kind: Kind3DC, Window: time.Hour}}}, "policy.timings[1].kind"},
		{Policy{Timings: []Timing{{Kind: Kind7DC}}}, "policy.timings[0].window"},
		{Policy{ScoreThreshold: 101}, "policy.score_threshold"},
		{Policy{ComplaintSeverity: "urgent"}, "policy.complaint_severity"},
		{Policy{ComplaintSeverityRules: []SeverityRule{{ScoreBelow: 0, Severity: SeverityHigh}}}, "policy.complaint_severity_rules[0].score_below"},
		{Policy{ComplaintSeverityRules: []SeverityRule{{ScoreBelow: 100.5, Severity: SeverityHigh}}}, "policy.complaint_severity_rules[0].score_below"},
		{Policy{ComplaintSeverityRules: []SeverityRule{{ScoreBelow: 30, Severity: SeverityCritical}, {ScoreBelow: 30, Severity: SeverityHigh}}},
			"policy.complaint_severity_rules[1].score_below"},
		{Policy{ComplaintSeverityRules: []SeverityRule{{ScoreBelow: 30, Severity: SeverityCritical}, {ScoreBelow: 60}}}, "policy.complaint_severity_rules[1].severity"},
		{Policy{ComplaintSeverityRules: make([]SeverityRule, 5)}, "policy.complaint_severity_rules"},
	} {
		wantInvalid(t, tc.p.Validate(), tc.field)
	}
	if err := (&Policy{CallingStart: "00:00", CallingEnd: "24:00"}).Validate(); err != nil {
		t.Errorf("24x7: %v", err)
	}

	hq := DefaultPolicy()
	hq.ScoreThreshold = 70
	hq.Timings = hq.Timings[:1] // 3DC only
	hq.Timings[0].Delay = time.Minute
	own := &Policy{MaxAttempts: 5, ScoreThreshold: 90, Timings: []Timing{{Kind: Kind7DC, Delay: time.Second, Window: time.Minute}},
		ComplaintSeverity: SeverityHigh, ComplaintSeverityRules: []SeverityRule{{40, SeverityCritical}}}
	eff := Effective("SH001", hq, own)
	t3, _ := eff.Timing(Kind3DC)
	t7, _ := eff.Timing(Kind7DC)
	tc, _ := eff.Timing(KindCampaign)
	if !eff.Overridden || eff.MaxAttempts != 5 || eff.ScoreThreshold != 90 || t3.Delay != time.Minute || t7.Delay != time.Second ||
		tc.Window != 7*24*time.Hour || len(eff.Timings) != len(Kinds) ||
		eff.ComplaintSeverity != SeverityHigh || !slices.Equal(eff.ComplaintSeverityRules, own.ComplaintSeverityRules) {
		t.Errorf("effective: %+v", eff)
	}
	if e := Effective("SH001", hq, nil); e.Overridden || e.ScoreThreshold != 70 || e.ComplaintSeverity != SeverityMedium ||
		!slices.Equal(e.ComplaintSeverityRules, hq.ComplaintSeverityRules) {
		t.Errorf("no override: %+v", e)
	}
}

func TestPeriodOf(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	for _, tc := range []struct {
		kind, date, start, end string
	}{
		{PeriodDay, "2026-11-20", "2026-11-20", "2026-11-20"},
		{PeriodWeek, "2026-11-20", "2026-11-16", "2026-11-22"}, // Friday → Monday..Sunday
		{PeriodWeek, "2026-11-22", "2026-11-16", "2026-11-22"}, // Sunday
		{PeriodMonth, "2026-02-10", "2026-02-01", "2026-02-28"},
	} {
		p, err := PeriodOf(tc.kind, tc.date, sh, t0)
		if err != nil || p.StartDate != tc.start || p.EndDate != tc.end {
			t.Errorf("%s %s: %+v %v", tc.kind, tc.date, p, err)
		}
	}
	p, _ := PeriodOf("", "", sh, time.Date(2026, 11, 20, 17, 0, 0, 0, time.UTC)) // 01:00 on the 21st in Shanghai
	if p.StartDate != "2026-11-21" || !p.Start.Equal(time.Date(2026, 11, 20, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("today: %+v", p)
	}
	_, err := PeriodOf(PeriodDay, "2026-13-01", sh, t0)
	wantInvalid(t, err, "date")
}
