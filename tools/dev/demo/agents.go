package demo

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
)

// AgentToken returns the outgoing context of the callback agent subject
// at dealer.
type AgentToken func(ctx context.Context, dealer, subject string) (context.Context, error)

// Answers decides whether dealer's agents answer and complete a task: a
// share of the dealer's tasks (its profile's AnswerRate), picked by the
// task's id, so every pass over the queue picks the same.
func Answers(dealer, task string) bool {
	h := fnv.New32a()
	h.Write([]byte(task))
	return float64(h.Sum32()%1000)/1000 < ProfileOf(dealer).AnswerRate
}

// WorkDueCallbacks plays dealer's agents for one pass over its queue: of
// the 3DC and 7DC tasks due and still pending, those Answers picks are
// claimed by their assignee, answered and completed through the callback
// API, rated by how well the dealer works; the others are left, to be
// missed. It returns how many it completed.
func WorkDueCallbacks(ctx context.Context, client callbackv1.CallbackServiceClient, dealer string, tokenFor AgentToken) (int, error) {
	actx, err := tokenFor(ctx, dealer, CallbackAgents[0].Subject)
	if err != nil {
		return 0, err
	}
	done := 0
	var tasks []*callbackv1.CallbackTask
	for _, kind := range []callbackv1.CallbackKind{callbackv1.CallbackKind_CALLBACK_KIND_3DC, callbackv1.CallbackKind_CALLBACK_KIND_7DC} {
		// In progress too: a pass stopped midway (make run stopped) left it claimed.
		for _, status := range []callbackv1.CallbackStatus{callbackv1.CallbackStatus_CALLBACK_STATUS_PENDING, callbackv1.CallbackStatus_CALLBACK_STATUS_IN_PROGRESS} {
			list, err := client.ListCallbackTasks(actx, &callbackv1.ListCallbackTasksRequest{Dealer: dealer, Kind: kind, Status: status, DueOnly: true, PageSize: 200})
			if err != nil {
				return done, fmt.Errorf("list %s's tasks: %w", dealer, err)
			}
			tasks = append(tasks, list.GetTasks()...)
		}
	}
	for _, task := range tasks {
		if !Answers(dealer, task.GetId()) {
			continue
		}
		subject := task.GetAssignee()
		if subject == "" {
			subject = CallbackAgents[0].Subject
		}
		tctx, err := tokenFor(ctx, dealer, subject)
		if err != nil {
			return done, err
		}
		// The list leaves the questionnaire out.
		full, err := client.GetCallbackTask(tctx, &callbackv1.GetCallbackTaskRequest{Dealer: dealer, Task: task.GetId()})
		if err != nil {
			return done, fmt.Errorf("read %s's task %s: %w", dealer, task.GetId(), err)
		}
		if err := complete(tctx, client, full, ProfileOf(dealer)); err != nil {
			return done, fmt.Errorf("complete %s's task %s: %w", dealer, task.GetId(), err)
		}
		done++
	}
	return done, nil
}

func complete(ctx context.Context, client callbackv1.CallbackServiceClient, task *callbackv1.CallbackTask, p Profile) error {
	if task.GetStatus() == callbackv1.CallbackStatus_CALLBACK_STATUS_PENDING {
		if _, err := client.ClaimCallbackTask(ctx, &callbackv1.ClaimCallbackTaskRequest{Dealer: task.GetDealer(), Task: task.GetId()}); err != nil {
			return err
		}
	}
	if _, err := client.RecordCallbackAttempt(ctx, &callbackv1.RecordCallbackAttemptRequest{Dealer: task.GetDealer(), Task: task.GetId(),
		Number: int32(len(task.GetAttempts()) + 1), Outcome: callbackv1.AttemptOutcome_ATTEMPT_OUTCOME_ANSWERED}); err != nil {
		return err
	}
	var answers []*callbackv1.Answer
	for _, q := range task.GetQuestionnaire().GetQuestions() {
		a := &callbackv1.Answer{Question: q.GetCode()}
		switch q.GetType() {
		case callbackv1.QuestionType_QUESTION_TYPE_RATING:
			scale := q.GetScale()
			if scale == 0 {
				scale = 5
			}
			// A dealer that answers its calls also serves better.
			a.Rating = int32(math.Max(1, math.Round(float64(scale)*(0.5+0.5*p.AnswerRate))))
		case callbackv1.QuestionType_QUESTION_TYPE_YES_NO:
			a.YesNo = "yes"
		case callbackv1.QuestionType_QUESTION_TYPE_CHOICE:
			if len(q.GetOptions()) == 0 {
				continue
			}
			a.Choice = q.GetOptions()[0].GetCode()
		default:
			continue
		}
		answers = append(answers, a)
	}
	_, err := client.CompleteCallbackTask(ctx, &callbackv1.CompleteCallbackTaskRequest{Dealer: task.GetDealer(), Task: task.GetId(),
		Answers: answers, Findings: "演示数据：客户反馈已记录"})
	return err
}
