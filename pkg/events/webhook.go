package events

import (
	"encoding/json"
	"time"

	"github.com/dealercare/dealercare/pkg/outbox"
)

// Webhook events go to the webhook service's delivery workflow of the
// resource they are about, whose id is webhook/<resource name> (e.g.
// webhook/dealers/D001/complaints/<id>): one workflow per resource keeps
// that resource's events in order for every subscription, and a repeated
// event reaches the same workflow, which drops it by event id.
const (
	WebhookWorkflowType = "WebhookDelivery"
	WebhookTaskQueue    = "dealercare-webhooks"
	WebhookSignal       = "webhook-event"
)

// Event types a webhook subscription can ask for (the API's names).
const (
	WebhookRepairOrderClosed  = "repair_order.closed"
	WebhookCallbackCompleted  = "callback.completed"
	WebhookComplaintCreated   = "complaint.created"
	WebhookComplaintEscalated = "complaint.escalated"
	WebhookComplaintResolved  = "complaint.resolved"
	WebhookComplaintClosed    = "complaint.closed"
	WebhookCampaignCompleted  = "campaign.completed"
	WebhookKpiPeriodPublished = "kpi_period.published"
	webhookKindPrefix         = "webhook."
	KindWebhookRedeliver      = "webhook.redeliver"
	WebhookHQDealer           = CampaignOutboxDealer
)

// WebhookEventTypes lists every type, in the order the API documents them.
var WebhookEventTypes = []string{
	WebhookRepairOrderClosed, WebhookCallbackCompleted,
	WebhookComplaintCreated, WebhookComplaintEscalated, WebhookComplaintResolved, WebhookComplaintClosed,
	WebhookCampaignCompleted, WebhookKpiPeriodPublished,
}

// WebhookWorkflowID is the business key of a resource's delivery workflow.
func WebhookWorkflowID(resource string) string { return "webhook/" + resource }

// WebhookStart is the delivery workflow's input when an event starts it.
type WebhookStart struct {
	Resource string `json:"resource"`
}

// WebhookPayload is what a webhook event carries: the type, the resource
// it is about, and the data a receiver gets as the body's "data". Data
// holds references and business facts only, never a mobile or ID number
// (SPEC: DMS/BI integrations receive what the REST API would show them).
type WebhookPayload struct {
	Type     string          `json:"type"`
	Resource string          `json:"resource"`
	Data     json.RawMessage `json:"data"`
}

// WebhookEvent is the outbox event a service adds, in the transaction that
// makes the change, for the webhook subscribers of dealer (HQ's events use
// WebhookHQDealer: only HQ subscriptions see them). data is encoded with
// encoding/json.
func WebhookEvent(dealer, eventType, resource string, occurred time.Time, data any) (outbox.Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return outbox.Event{}, err
	}
	return outbox.Event{
		DealerID: dealer, Kind: webhookKindPrefix + eventType,
		WorkflowID: WebhookWorkflowID(resource), WorkflowType: WebhookWorkflowType,
		TaskQueue: WebhookTaskQueue, SignalName: WebhookSignal,
		StartInput: WebhookStart{Resource: resource},
		Payload:    WebhookPayload{Type: eventType, Resource: resource, Data: raw},
		OccurredAt: occurred,
	}, nil
}

// WebhookRedeliver asks a resource's delivery workflow to send one logged
// delivery again (the API's :redeliver); the webhook service adds it to
// its own outbox.
type WebhookRedeliver struct {
	Owner          string `json:"owner"` // the subscription's dealer, "" for HQ
	SubscriptionID string `json:"subscription_id"`
	DeliveryID     string `json:"delivery_id"`
	Resource       string `json:"resource"`
}
