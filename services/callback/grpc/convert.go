// Package grpc is the callback service's gRPC port: the public
// CallbackService and the internal CallbackWorkflowService of the callback
// workflows, over callback.Service; it converts proto ↔ domain and holds no
// rules.
package grpc

import (
	"strings"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	"github.com/dealercare/dealercare/pkg/pbconv"
	"github.com/dealercare/dealercare/services/callback/callback"
	"google.golang.org/protobuf/types/known/durationpb"
)

// kindName keeps the kind's upper-case API spelling (3DC, NEW_CUSTOMER).
func kindName(k callbackv1.CallbackKind) string {
	return strings.ToUpper(pbconv.EnumName(k.String(), "CALLBACK_KIND_"))
}

func kindValue(k string) callbackv1.CallbackKind {
	return callbackv1.CallbackKind(pbconv.EnumValue(k, "CALLBACK_KIND_", callbackv1.CallbackKind_value))
}

func statusName(s callbackv1.CallbackStatus) string {
	return pbconv.EnumName(s.String(), "CALLBACK_STATUS_")
}

// TaskToProto converts a task, with its attempts and questionnaire when
// loaded.
func TaskToProto(t *callback.Task) *callbackv1.CallbackTask {
	out := &callbackv1.CallbackTask{
		Id: t.ID, Dealer: t.Dealer, Kind: kindValue(t.Kind),
		Status:     callbackv1.CallbackStatus(pbconv.EnumValue(t.Status, "CALLBACK_STATUS_", callbackv1.CallbackStatus_value)),
		SourceType: t.SourceType, SourceId: t.SourceID, Customer: t.Customer, Vin: t.VIN, RepairOrderNumber: t.RepairOrderNumber,
		DueTime: pbconv.Timestamp(t.DueTime), Deadline: pbconv.Timestamp(t.Deadline), NextAttemptTime: pbconv.Timestamp(t.NextAttemptTime), Assignee: t.Assignee,
		Score: t.Score, ProblemReported: t.ProblemReported, Findings: t.Findings, Complaint: t.Complaint, FeedbackRole: t.FeedbackRole,
		Instruction: t.Instruction, InstructedBy: t.InstructedBy, InstructTime: pbconv.Timestamp(t.InstructTime),
		Rectification: t.Rectification, RectifiedBy: t.RectifiedBy, RectifyTime: pbconv.Timestamp(t.RectifyTime),
		EndReason: t.EndReason, EndTime: pbconv.Timestamp(t.EndTime), CreateTime: pbconv.Timestamp(t.CreateTime), UpdateTime: pbconv.Timestamp(t.UpdateTime), Satisfied: t.Satisfied,
	}
	for _, a := range t.Attempts {
		out.Attempts = append(out.Attempts, &callbackv1.CallbackAttempt{
			Number: int32(a.Number), Time: pbconv.Timestamp(a.Time), CallBackTime: pbconv.Timestamp(a.CallBackTime), Note: a.Note, Agent: a.Agent,
			Outcome: callbackv1.AttemptOutcome(pbconv.EnumValue(a.Outcome, "ATTEMPT_OUTCOME_", callbackv1.AttemptOutcome_value)),
		})
	}
	for _, a := range t.Answers {
		out.Answers = append(out.Answers, &callbackv1.Answer{Question: a.Question, Rating: int32(a.Rating), YesNo: a.YesNo, Choice: a.Choice, Text: a.Text})
	}
	if t.Questionnaire != nil {
		out.Questionnaire = QuestionnaireToProto(t.Questionnaire)
	}
	return out
}

func answersFromProto(in []*callbackv1.Answer) []callback.Answer {
	out := []callback.Answer{}
	for _, a := range in {
		out = append(out, callback.Answer{Question: a.GetQuestion(), Rating: int(a.GetRating()), YesNo: a.GetYesNo(), Choice: a.GetChoice(), Text: a.GetText()})
	}
	return out
}

// QuestionnaireToProto converts a questionnaire.
func QuestionnaireToProto(q *callback.Questionnaire) *callbackv1.Questionnaire {
	out := &callbackv1.Questionnaire{Id: q.ID, Kind: kindValue(q.Kind), Version: int32(q.Version), Title: q.Title, Script: q.Script,
		Dealer: q.Dealer, DealerVersion: int32(q.DealerVersion), CreateTime: pbconv.Timestamp(q.CreateTime)}
	for _, x := range q.Questions {
		p := &callbackv1.Question{Code: x.Code, Text: x.Text, Weight: x.Weight, Scale: int32(x.Scale), Required: x.Required,
			Type:          callbackv1.QuestionType(pbconv.EnumValue(x.Type, "QUESTION_TYPE_", callbackv1.QuestionType_value)),
			ProblemAnswer: callbackv1.YesNoProblem(pbconv.EnumValue(x.ProblemAnswer, "YES_NO_PROBLEM_", callbackv1.YesNoProblem_value))}
		for _, o := range x.Options {
			p.Options = append(p.Options, &callbackv1.ChoiceOption{Code: o.Code, Label: o.Label, Score: int32(o.Score)})
		}
		out.Questions = append(out.Questions, p)
	}
	return out
}

func questionsFromProto(in []*callbackv1.Question) []callback.Question {
	var out []callback.Question
	for _, p := range in {
		q := callback.Question{Code: p.GetCode(), Text: p.GetText(), Weight: p.GetWeight(), Scale: int(p.GetScale()), Required: p.GetRequired(),
			Type: pbconv.EnumName(p.GetType().String(), "QUESTION_TYPE_"), ProblemAnswer: pbconv.EnumName(p.GetProblemAnswer().String(), "YES_NO_PROBLEM_")}
		for _, o := range p.GetOptions() {
			q.Options = append(q.Options, callback.Option{Code: o.GetCode(), Label: o.GetLabel(), Score: int(o.GetScore())})
		}
		out = append(out, q)
	}
	return out
}

// PolicyToProto converts a policy.
func PolicyToProto(p callback.Policy) *callbackv1.CallbackPolicy {
	out := &callbackv1.CallbackPolicy{Dealer: p.Dealer, MaxAttempts: int32(p.MaxAttempts), RetryInterval: durationpb.New(p.RetryInterval),
		CallingStart: p.CallingStart, CallingEnd: p.CallingEnd, ScoreThreshold: p.ScoreThreshold, Overridden: p.Overridden, UpdateTime: pbconv.Timestamp(p.UpdateTime)}
	for _, t := range p.Timings {
		out.Timings = append(out.Timings, &callbackv1.KindTiming{Kind: kindValue(t.Kind), Delay: durationpb.New(t.Delay), Window: durationpb.New(t.Window)})
	}
	out.ComplaintSeverity, out.ComplaintSeverityRules = severityRulesToProto(p)
	return out
}

func severityValue(s string) complaintv1.Severity {
	return complaintv1.Severity(pbconv.EnumValue(s, "SEVERITY_", complaintv1.Severity_value))
}

// severityRulesToProto converts the policy's complaint severities.
func severityRulesToProto(p callback.Policy) (complaintv1.Severity, []*callbackv1.ComplaintSeverityRule) {
	var rules []*callbackv1.ComplaintSeverityRule
	for _, r := range p.ComplaintSeverityRules {
		rules = append(rules, &callbackv1.ComplaintSeverityRule{ScoreBelow: r.ScoreBelow, Severity: severityValue(r.Severity)})
	}
	return severityValue(p.ComplaintSeverity), rules
}

func policyFromProto(in *callbackv1.CallbackPolicy) callback.Policy {
	p := callback.Policy{MaxAttempts: int(in.GetMaxAttempts()), RetryInterval: in.GetRetryInterval().AsDuration(),
		CallingStart: in.GetCallingStart(), CallingEnd: in.GetCallingEnd(), ScoreThreshold: in.GetScoreThreshold(),
		ComplaintSeverity: pbconv.EnumName(in.GetComplaintSeverity().String(), "SEVERITY_")}
	for _, t := range in.GetTimings() {
		p.Timings = append(p.Timings, callback.Timing{Kind: kindName(t.GetKind()), Delay: t.GetDelay().AsDuration(), Window: t.GetWindow().AsDuration()})
	}
	for _, r := range in.GetComplaintSeverityRules() {
		p.ComplaintSeverityRules = append(p.ComplaintSeverityRules,
			callback.SeverityRule{ScoreBelow: r.GetScoreBelow(), Severity: pbconv.EnumName(r.GetSeverity().String(), "SEVERITY_")})
	}
	return p
}

func agentToProto(a callback.Agent) *callbackv1.CallbackAgent {
	return &callbackv1.CallbackAgent{Subject: a.Subject, DisplayName: a.DisplayName, Dealer: a.Dealer, OpenTasks: int32(a.OpenTasks), CreateTime: pbconv.Timestamp(a.CreateTime)}
}

func figuresToProto(f callback.Figures) *callbackv1.ReportFigures {
	return &callbackv1.ReportFigures{Kind: kindValue(f.Kind), Due: int32(f.Due), Completed: int32(f.Completed), Unreachable: int32(f.Unreachable),
		Refused: int32(f.Refused), Expired: int32(f.Expired), Attempts: int32(f.Attempts), AverageScore: f.AverageScore(),
		ProblemsFound: int32(f.ProblemsFound), ComplaintsOpened: int32(f.ComplaintsOpened), CompletionRate: f.CompletionRate()}
}
