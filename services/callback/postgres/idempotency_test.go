package postgres_test

import (
	"context"
	"testing"

	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/idempotency"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/callback/callback"
)

// TestKeyedCompletionRunsOnce: a keyed completion run again (its first
// answer was lost) answers the completed task instead of "already
// completed", and queues its events once.
func TestKeyedCompletionRunsOnce(t *testing.T) {
	s, db := open(t)
	task := ensure(t, s, "SH001", callback.Kind3DC, "RO-K1", t0, false)
	if _, err := attempt(s, pg.Dealers("SH001"), task, 1, callback.OutcomeAnswered, t0); err != nil {
		t.Fatal(err)
	}
	ctx := idempotency.NewContext(context.Background(), idempotency.Request{Key: "k-done", Caller: "agent-1", Method: "/Complete", Hash: []byte("h")})
	answers := []callback.Answer{{Question: "Q1", Rating: 9}, {Question: "Q2", YesNo: "yes"}}
	for range 2 {
		got, err := s.Update(ctx, pg.Dealers("SH001"), "SH001", task.ID, t0, func(t *callback.Task) (callback.Change, error) {
			if err := t.Complete(answers, false, "", 80, t0); err != nil {
				return callback.Change{}, err
			}
			return callback.Change{Kind: callback.ChangeCompleted, Event: &callback.WorkflowEvent{Kind: events.KindCallbackCompleted, Payload: t.Completed()}}, nil
		})
		if err != nil {
			t.Fatalf("keyed completion: %v", err)
		}
		if got.Status != callback.StatusCompleted {
			t.Fatalf("keyed completion answered status %s", got.Status)
		}
	}
	if n := outboxCount(t, db, events.KindCallbackCompleted); n != 1 {
		t.Fatalf("%d completion events, want 1", n)
	}
}
