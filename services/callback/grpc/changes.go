package grpc

import (
	"context"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	"github.com/dealercare/dealercare/pkg/pbconv"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/callback/callback"
	"github.com/dealercare/dealercare/services/callback/postgres"
)

// ChangeServer implements the internal callbackv1.CallbackChangeServiceServer,
// the feed of task changes the evaluation service reads (service
// identity only).
type ChangeServer struct {
	callbackv1.UnimplementedCallbackChangeServiceServer
	store *postgres.Store
}

// NewChangeServer returns the change feed's API.
func NewChangeServer(store *postgres.Store) *ChangeServer { return &ChangeServer{store: store} }

// ListCallbackTaskChanges implements the RPC.
func (s *ChangeServer) ListCallbackTaskChanges(ctx context.Context, req *callbackv1.ListCallbackTaskChangesRequest) (*callbackv1.ListCallbackTaskChangesResponse, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	after, err := pg.ParseChangeCursor("after", req.GetAfter())
	if err != nil {
		return nil, err
	}
	changes, more, err := s.store.ListTaskChanges(ctx, after, int(req.GetLimit()))
	if err != nil {
		return nil, err
	}
	out := &callbackv1.ListCallbackTaskChangesResponse{NextCursor: req.GetAfter(), More: more}
	for _, c := range changes {
		out.Changes = append(out.Changes, &callbackv1.CallbackTaskChange{Dealer: c.Dealer, Task: c.Task, Kind: c.Kind, SourceId: c.SourceID,
			Status: c.Status, DueTime: pbconv.Timestamp(c.DueTime), Deadline: pbconv.Timestamp(c.Deadline),
			CompleteTime: pbconv.Timestamp(c.CompleteTime), Score: c.Score, Seq: c.Cursor.Seq,
			Questionnaire: c.QuestionnaireID, QuestionnaireVersion: int32(c.QuestionnaireVersion), DealerQuestionsVersion: int32(c.DealerVersion),
			Answers: answerChanges(c.Answers)})
		out.NextCursor = c.Cursor.String()
	}
	return out, nil
}

func answerChanges(as []callback.AnswerFact) []*callbackv1.CallbackAnswerChange {
	var out []*callbackv1.CallbackAnswerChange
	for _, a := range as {
		out = append(out, &callbackv1.CallbackAnswerChange{Question: a.Question, Type: a.Type, DealerQuestion: a.DealerQuestion,
			Scale: int32(a.Scale), Rating: int32(a.Rating), YesNo: a.YesNo, Choice: a.Choice, Problem: a.Problem})
	}
	return out
}
