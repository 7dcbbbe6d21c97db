package events

import "time"

// Complaint events go to the complaint's escalation workflow, whose id is
// complaint/<origin dealer>/<complaint id>: the dealer where it was filed,
// which never changes, so a transfer keeps the same workflow and clock.
const (
	ComplaintWorkflowType = "ComplaintEscalation"
	ComplaintTaskQueue    = "dealercare-complaints"
	ComplaintSignal       = "complaint-event"

	KindComplaintChanged = "complaint.changed"
)

// ComplaintWorkflowID is the business key of a complaint's workflow.
func ComplaintWorkflowID(originDealer, id string) string {
	return "complaint/" + originDealer + "/" + id
}

// Complaint states as carried in events.
const (
	ComplaintNew             = "new"
	ComplaintAcknowledged    = "acknowledged"
	ComplaintInProgress      = "in_progress"
	ComplaintPendingCustomer = "pending_customer"
	ComplaintResolved        = "resolved"
	ComplaintReopened        = "reopened"
	ComplaintClosed          = "closed"
)

// ComplaintChanged: a complaint was created or changed (state, severity,
// owner, a manual escalation, the policy). It carries the complaint's whole
// clock-relevant state after the change, so the workflow never needs the
// order of events to be perfect: it applies the latest by Version.
type ComplaintChanged struct {
	ComplaintID  string    `json:"complaint_id"`
	OriginDealer string    `json:"origin_dealer"`
	Dealer       string    `json:"dealer"` // owner after the change
	Version      int64     `json:"version"`
	Change       string    `json:"change"` // created, acknowledged, started, paused, resumed, resolved, reopened, closed, escalated, transferred, severity_changed, assigned
	At           time.Time `json:"at"`
	State        string    `json:"state"`
	Severity     string    `json:"severity"` // low, medium, high, critical
	Level        int       `json:"level"`    // after a manual escalation
	CreateTime   time.Time `json:"create_time"`
}

// ComplaintStart is the workflow's input when an event starts it.
type ComplaintStart struct {
	ComplaintID  string `json:"complaint_id"`
	OriginDealer string `json:"origin_dealer"`
}
