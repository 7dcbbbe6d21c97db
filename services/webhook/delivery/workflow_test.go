package delivery_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/services/webhook/delivery"
	"github.com/dealercare/dealercare/services/webhook/postgres"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

func envelope(t *testing.T, id string, at time.Time) outbox.Envelope {
	p, _ := json.Marshal(events.WebhookPayload{Type: events.WebhookComplaintCreated, Resource: "dealers/D1/complaints/c1", Data: json.RawMessage(`{}`)})
	return outbox.Envelope{EventID: id, Kind: "webhook." + events.WebhookComplaintCreated, DealerID: "D1", OccurredAt: at, Payload: p}
}

// TestWorkflowSortsSwappedEventsAndGivesUpAfterADay covers the branches
// the end-to-end tests cannot reach in reasonable time: two events of a
// resource arriving swapped leave the settle buffer in the order they
// happened; a repeated one is dropped; a delivery failing for the whole
// retry period is given up (which disables a still-failing subscription);
// the run completes when idle.
func TestWorkflowSortsSwappedEventsAndGivesUpAfterADay(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *delivery.Activities
	env.RegisterWorkflowWithOptions(delivery.Workflow, workflow.RegisterOptions{Name: events.WebhookWorkflowType})
	env.RegisterActivity(a)
	policy := delivery.DefaultPolicy
	env.OnActivity(a.Settings, mock.Anything).Return(policy, nil)
	var fanned []string
	env.OnActivity(a.Fanout, mock.Anything, mock.Anything).Return(func(_ context.Context, e outbox.Envelope) ([]postgres.Target, error) {
		fanned = append(fanned, e.EventID)
		return []postgres.Target{{Owner: "D1", SubscriptionID: "s1", DeliveryID: "d-" + e.EventID}}, nil
	})
	var attempts = map[string]int{}
	env.OnActivity(a.Attempt, mock.Anything, mock.Anything).Return(func(_ context.Context, tg postgres.Target) (string, error) {
		attempts[tg.DeliveryID]++
		if tg.DeliveryID == "d-late" {
			return "", errors.New("the endpoint answered 500")
		}
		return "delivered", nil
	})
	var gaveUp []string
	env.OnActivity(a.GiveUp, mock.Anything, mock.Anything).Return(func(_ context.Context, tg postgres.Target) error {
		gaveUp = append(gaveUp, tg.DeliveryID)
		return nil
	})
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(events.WebhookSignal, envelope(t, "late", t0.Add(time.Second))) // happened second, arrives first
		env.SignalWorkflow(events.WebhookSignal, envelope(t, "early", t0))
		env.SignalWorkflow(events.WebhookSignal, envelope(t, "early", t0)) // a relay redelivery
	}, time.Second)
	env.ExecuteWorkflow(events.WebhookWorkflowType, delivery.Input{Resource: "dealers/D1/complaints/c1"})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	if len(fanned) != 2 || fanned[0] != "early" || fanned[1] != "late" {
		t.Errorf("fanned out %v, want [early late]", fanned)
	}
	if attempts["d-early"] != 1 || attempts["d-late"] < 10 {
		t.Errorf("attempts %v: want early once, late retried with backoff for a day", attempts)
	}
	if len(gaveUp) != 1 || gaveUp[0] != "d-late" {
		t.Errorf("gave up %v, want [d-late]", gaveUp)
	}
}
