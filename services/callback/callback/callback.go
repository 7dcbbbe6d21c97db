// Package callback holds the callback (回访) rules: a task's states and
// what each attempt, completion or manager action does to it, questionnaires
// and their 0-100 score, the callback policy as data, who may do what,
// report periods, and Service, the application layer over a Store. It
// imports no database driver, gRPC or Temporal code (pkg/postgres only for
// the scope type a Store takes).
package callback

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/events"
)

// Kinds, as the API names them.
const (
	Kind3DC               = events.Callback3DC
	Kind7DC               = events.Callback7DC
	KindNewCustomer       = events.CallbackNewCustomer
	KindComplaintFollowUp = events.CallbackComplaintFollowUp
	KindRevisitOverdue    = events.CallbackRevisitOverdue
	KindCampaign          = events.CallbackCampaign
)

// Kinds lists every kind in the API's order.
var Kinds = []string{Kind3DC, Kind7DC, KindNewCustomer, KindComplaintFollowUp, KindRevisitOverdue, KindCampaign}

// Statuses.
const (
	StatusPending     = "pending"
	StatusInProgress  = "in_progress"
	StatusCompleted   = "completed"
	StatusUnreachable = "unreachable"
	StatusRefused     = "refused"
	StatusCancelled   = "cancelled"
	StatusExpired     = "expired"
)

// Attempt outcomes (the values of events.CallbackAttempted.Outcome).
const (
	OutcomeAnswered      = "answered"
	OutcomeNoAnswer      = "no_answer"
	OutcomeBusy          = "busy"
	OutcomeWrongNumber   = "wrong_number"
	OutcomeRefused       = "refused"
	OutcomeCallBackLater = "call_back_later"
)

// Feedback roles: who receives a callback's findings.
const (
	FeedbackServiceManager = "service_manager"
	FeedbackSalesManager   = "sales_manager"
)

// FeedbackRole is who a kind's findings go to: the sales manager after a
// sale, the service manager otherwise.
func FeedbackRole(kind string) string {
	if kind == Kind7DC || kind == KindNewCustomer {
		return FeedbackSalesManager
	}
	return FeedbackServiceManager
}

// Attempt is one call.
type Attempt struct {
	Number       int
	Time         time.Time
	Outcome      string
	CallBackTime time.Time
	Note         string
	Agent        string
}

// Task is one callback.
type Task struct {
	ID                string
	Dealer            string
	Kind              string
	Status            string
	SourceType        string
	SourceID          string
	WorkflowID        string
	Customer          string
	VIN               string
	RepairOrderNumber string
	Complaint         string
	DueTime           time.Time
	Deadline          time.Time
	NextAttemptTime   time.Time // zero while no call is planned
	Assignee          string
	QuestionnaireID   string
	DealerVersion     int
	Answers           []Answer
	Score             float64
	ProblemReported   bool
	Satisfied         bool
	Findings          string
	FeedbackRole      string
	Instruction       string
	InstructedBy      string
	InstructTime      time.Time
	Rectification     string
	RectifiedBy       string
	RectifyTime       time.Time
	EndReason         string
	EndTime           time.Time
	CompleteTime      time.Time
	CreateTime        time.Time
	UpdateTime        time.Time

	// Loaded with the task, not columns of it.
	Attempts      []Attempt
	Questionnaire *Questionnaire
}

// NewTask is a task as EnsureCallbackTask creates it: pending and due at
// dueTime, or cancelled at once when the customer does not want calls.
// The assignee and the questionnaire are the store's to fill in.
func NewTask(t Task, doNotCall bool, now time.Time) (*Task, error) {
	switch {
	case !slices.Contains(Kinds, t.Kind):
		return nil, apperr.Invalid("kind", "is required").ZhReason("为必填项")
	case t.DueTime.IsZero():
		return nil, apperr.Invalid("due_time", "is required").ZhReason("为必填项")
	case !t.Deadline.After(t.DueTime):
		return nil, apperr.Invalid("deadline", "must be after due_time").ZhReason("须晚于 due_time")
	}
	t.Status, t.NextAttemptTime = StatusPending, t.DueTime
	t.FeedbackRole = FeedbackRole(t.Kind)
	if doNotCall {
		t.Status, t.NextAttemptTime, t.EndReason, t.EndTime = StatusCancelled, time.Time{}, "do not call", now
	}
	return &t, nil
}

// Ended reports whether the task reached a final status.
func (t *Task) Ended() bool {
	return t.Status != StatusPending && t.Status != StatusInProgress
}

func conflict(format string, args ...any) *apperr.Error {
	return apperr.Errorf(apperr.ECONFLICT, format, args...)
}

// conflictOn is a 409 that names the field whose value clashes with the
// task's state.
func conflictOn(field, reason, reasonZh string) *apperr.Error {
	return &apperr.Error{Code: apperr.ECONFLICT, Message: field + ": " + reason, MessageZh: field + ": " + reasonZh,
		Violations: []apperr.FieldViolation{{Field: field, Reason: reason, ReasonZh: reasonZh}}}
}

func (t *Task) mustBeOpen(action string) error {
	if t.Ended() {
		return conflict("cannot %s a callback task that is %s", action, t.Status).
			Zh(fmt.Sprintf("回访任务状态为 %s，不能执行 %s", t.Status, action))
	}
	return nil
}

// Claim makes the task the caller's and in progress. A task assigned to
// someone else is theirs unless a manager takes it (force).
func (t *Task) Claim(subject string, force bool, now time.Time) error {
	if err := t.mustBeOpen("claim"); err != nil {
		return err
	}
	if t.Assignee != "" && t.Assignee != subject && !force {
		return conflict("the task is assigned to %s", t.Assignee).Zh("该任务已分配给 " + t.Assignee)
	}
	t.Assignee, t.Status = subject, StatusInProgress
	if t.NextAttemptTime.IsZero() {
		t.NextAttemptTime = now
	}
	return nil
}

// Assign gives an open task to another agent.
func (t *Task) Assign(subject string) error {
	if err := t.mustBeOpen("assign"); err != nil {
		return err
	}
	t.Assignee = subject
	return nil
}

// RecordAttempt applies attempt a (its Number the caller's, Time now). It
// reports false when a is a retried request of the attempt already
// recorded under that number: the task is then unchanged.
func (t *Task) RecordAttempt(a Attempt) (bool, error) {
	if a.Number >= 1 && a.Number <= len(t.Attempts) {
		prev := t.Attempts[a.Number-1]
		if prev.Outcome == a.Outcome {
			return false, nil
		}
		return false, conflictOn("number", fmt.Sprintf("attempt %d was already recorded as %s", a.Number, prev.Outcome),
			fmt.Sprintf("第 %d 次拨打已记录为 %s", a.Number, prev.Outcome))
	}
	if err := t.mustBeOpen("record an attempt on"); err != nil {
		return false, err
	}
	if want := len(t.Attempts) + 1; a.Number != want {
		return false, conflictOn("number", fmt.Sprintf("must be %d, the next attempt", want), fmt.Sprintf("须为 %d（下一次拨打）", want))
	}
	switch a.Outcome {
	case OutcomeCallBackLater:
		if !a.CallBackTime.After(a.Time) {
			return false, apperr.Invalid("call_back_time", "must be in the future for CALL_BACK_LATER").ZhReason("约定回电时间须晚于当前时间")
		}
	case OutcomeAnswered, OutcomeNoAnswer, OutcomeBusy, OutcomeWrongNumber, OutcomeRefused:
		a.CallBackTime = time.Time{}
	default:
		return false, apperr.Invalid("outcome", "is required").ZhReason("为必填项")
	}
	t.Attempts = append(t.Attempts, a)
	switch a.Outcome {
	case OutcomeAnswered:
		t.Status = StatusInProgress
		if t.Assignee == "" {
			t.Assignee = a.Agent
		}
		if t.NextAttemptTime.IsZero() {
			t.NextAttemptTime = a.Time
		}
	case OutcomeNoAnswer, OutcomeBusy, OutcomeCallBackLater:
		// The workflow plans the next attempt inside calling hours
		// (ScheduleCallbackRetry) or ends the task unreachable.
		t.Status, t.NextAttemptTime = StatusPending, time.Time{}
	case OutcomeWrongNumber:
		t.end(StatusUnreachable, "wrong number", a.Time)
	case OutcomeRefused:
		t.end(StatusRefused, "refused by the customer", a.Time)
	}
	return true, nil
}

func (t *Task) end(status, reason string, at time.Time) {
	t.Status, t.EndReason, t.EndTime, t.NextAttemptTime = status, reason, at, time.Time{}
}

// Attempted is the event of the last recorded attempt.
func (t *Task) Attempted() events.CallbackAttempted {
	a := t.Attempts[len(t.Attempts)-1]
	return events.CallbackAttempted{TaskID: t.ID, Dealer: t.Dealer, Number: a.Number, Outcome: a.Outcome, At: a.Time, CallBackTime: a.CallBackTime}
}

// Start is the input that starts the task's workflow if an event finds it
// gone.
func (t *Task) Start() events.CallbackStart {
	return events.CallbackStart{Kind: t.Kind, Dealer: t.Dealer, SourceType: t.SourceType, SourceID: t.SourceID}
}

// Complete records the questionnaire's answers on an answered call: the
// score, whether a problem was reported and whether the customer is
// satisfied (no problem and a score at or above threshold).
func (t *Task) Complete(answers []Answer, problem bool, findings string, threshold float64, now time.Time) error {
	if t.Status != StatusInProgress || len(t.Attempts) == 0 || t.Attempts[len(t.Attempts)-1].Outcome != OutcomeAnswered {
		return conflict("cannot complete a callback task that is %s: record an answered attempt first", t.Status).
			Zh("回访任务状态为 " + t.Status + "，须先记录客户已接听")
	}
	if t.Questionnaire == nil {
		return fmt.Errorf("task %s: questionnaire not loaded", t.ID)
	}
	score, problemAnswer, err := t.Questionnaire.Score(answers)
	if err != nil {
		return err
	}
	findings = strings.TrimSpace(findings)
	problem = problem || problemAnswer
	if problem && findings == "" {
		return apperr.Invalid("findings", "is required when the customer reports a problem").ZhReason("客户反映问题时必须填写")
	}
	t.Answers, t.Score, t.ProblemReported, t.Findings = answers, score, problem, findings
	t.Satisfied = !problem && score >= threshold
	t.Status, t.CompleteTime, t.EndTime, t.EndReason, t.NextAttemptTime = StatusCompleted, now, now, "", time.Time{}
	return nil
}

// Completed is the event of the completion.
func (t *Task) Completed() events.CallbackCompleted {
	return events.CallbackCompleted{TaskID: t.ID, Dealer: t.Dealer, Kind: t.Kind, Score: t.Score, ProblemReported: t.ProblemReported,
		Satisfied: t.Satisfied, Complaint: t.Complaint, At: t.CompleteTime}
}

// Cancel ends an open task cancelled (a manager's decision).
func (t *Task) Cancel(reason string, now time.Time) error {
	if err := t.mustBeOpen("cancel"); err != nil {
		return err
	}
	t.end(StatusCancelled, strings.TrimSpace(reason), now)
	return nil
}

// ScheduleRetry plans the next call after attempt afterAttempt; it reports
// false (and changes nothing) unless the task is pending and that attempt
// is its last, so a late or repeated request never moves a newer plan.
func (t *Task) ScheduleRetry(afterAttempt int, next time.Time) bool {
	if t.Status != StatusPending || afterAttempt != len(t.Attempts) {
		return false
	}
	t.NextAttemptTime = next
	return true
}

// End ends the task unreachable, expired or cancelled (the workflow's
// decision); it reports false when the task had already ended.
func (t *Task) End(status, reason string, at time.Time) (bool, error) {
	if status != StatusUnreachable && status != StatusExpired && status != StatusCancelled {
		return false, apperr.Invalid("status", "must be UNREACHABLE, EXPIRED or CANCELLED").ZhReason("须为 UNREACHABLE、EXPIRED 或 CANCELLED")
	}
	if t.Ended() {
		return false, nil
	}
	t.end(status, reason, at)
	return true, nil
}

// LinkComplaint records the complaint a callback opened; it reports false
// when that complaint was already linked.
func (t *Task) LinkComplaint(complaint string) (bool, error) {
	if t.Complaint == complaint {
		return false, nil
	}
	if t.Complaint != "" && t.Kind == KindComplaintFollowUp {
		return false, conflict("a follow-up stays linked to the complaint it follows up (%s)", t.Complaint).Zh("跟进回访已关联投诉 " + t.Complaint)
	}
	t.Complaint = complaint
	return true, nil
}

// NeedsInstruction reports whether the manager has something to instruct
// on: a completed callback with findings or a dissatisfied customer.
func (t *Task) NeedsInstruction() bool {
	return t.Status == StatusCompleted && (t.Findings != "" || !t.Satisfied)
}

// Instruct records the manager's instruction (批示).
func (t *Task) Instruct(instruction, by string, now time.Time) error {
	if !t.NeedsInstruction() {
		return conflict("only a completed callback with findings or a dissatisfied customer takes an instruction").
			Zh("只有已完成且有问题反馈或客户不满意的回访才能批示")
	}
	t.Instruction, t.InstructedBy, t.InstructTime = strings.TrimSpace(instruction), by, now
	return nil
}

// Rectify records the rectification done on the instruction.
func (t *Task) Rectify(rectification, by string, now time.Time) error {
	if t.Instruction == "" {
		return conflict("record the instruction before the rectification").Zh("须先批示，再记录整改")
	}
	t.Rectification, t.RectifiedBy, t.RectifyTime = strings.TrimSpace(rectification), by, now
	return nil
}
