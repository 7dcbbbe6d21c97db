package events

import (
	"strconv"
	"time"

	"github.com/dealercare/dealercare/pkg/outbox"
)

// Callback events go to one workflow per callback, whose id is the
// business key callback/<KIND>/<source id>: a repeated event reaches the
// same workflow and never makes a second task. Source events (a closed
// repair order, a delivery, a resolved complaint) start it; the callback
// service's own events (an attempt, the completion, a cancellation) move it
// on.
const (
	CallbackWorkflowType = "CallbackTask"
	CallbackTaskQueue    = "dealercare-callbacks"
	CallbackSignal       = "callback-event"

	KindComplaintResolved = "complaint.resolved"
	KindCallbackAttempted = "callback.attempted"
	KindCallbackCompleted = "callback.completed"
	KindCallbackCancelled = "callback.cancelled"
)

// Callback kinds as the API names them (CallbackKind without its prefix).
const (
	Callback3DC               = "3DC"
	Callback7DC               = "7DC"
	CallbackNewCustomer       = "NEW_CUSTOMER"
	CallbackComplaintFollowUp = "COMPLAINT_FOLLOW_UP"
	CallbackRevisitOverdue    = "REVISIT_OVERDUE"
	CallbackCampaign          = "CAMPAIGN"
)

// Source types of callback tasks.
const (
	SourceRepairOrder = "repair_order"
	SourceSale        = "sale"
	SourceCustomer    = "customer"
	SourceComplaint   = "complaint"
)

// CallbackWorkflowID is the business key of a callback's workflow.
func CallbackWorkflowID(kind, sourceID string) string {
	return "callback/" + kind + "/" + sourceID
}

// FollowUpSourceID names one resolution of a complaint: a complaint
// resolved, reopened and resolved again gets a follow-up for each
// resolution (round 1, 2, ...).
func FollowUpSourceID(complaintID string, round int) string {
	return complaintID + "/" + strconv.Itoa(round)
}

// CallbackStart is a callback workflow's input when an event starts it.
type CallbackStart struct {
	Kind       string `json:"kind"` // 3DC, 7DC, NEW_CUSTOMER, COMPLAINT_FOLLOW_UP
	Dealer     string `json:"dealer"`
	SourceType string `json:"source_type"`
	SourceID   string `json:"source_id"`
}

// ComplaintResolution: a complaint was resolved (event kind
// KindComplaintResolved); its follow-up callback
// (COMPLAINT_FOLLOW_UP) confirms the customer's satisfaction, closing the
// complaint or reopening it.
type ComplaintResolution struct {
	ComplaintID  string    `json:"complaint_id"`
	Dealer       string    `json:"dealer"` // owner, who calls the customer
	OriginDealer string    `json:"origin_dealer"`
	Customer     string    `json:"customer,omitempty"`
	VIN          string    `json:"vin,omitempty"`
	Round        int       `json:"round"` // 1 + times reopened before
	ResolveTime  time.Time `json:"resolve_time"`
}

// CallbackAttempted: an agent recorded a call attempt.
type CallbackAttempted struct {
	TaskID       string    `json:"task_id"`
	Dealer       string    `json:"dealer"`
	Number       int       `json:"number"`
	Outcome      string    `json:"outcome"` // answered, no_answer, busy, wrong_number, refused, call_back_later
	At           time.Time `json:"at"`
	CallBackTime time.Time `json:"call_back_time,omitzero"`
}

// CallbackCompleted: an agent completed the callback's questionnaire.
type CallbackCompleted struct {
	TaskID          string  `json:"task_id"`
	Dealer          string  `json:"dealer"`
	Kind            string  `json:"kind"`
	Score           float64 `json:"score"`
	ProblemReported bool    `json:"problem_reported"`
	// Satisfied is false when the score fell under the threshold or the
	// customer reported a problem: a complaint opens (or, for a follow-up,
	// the complaint reopens).
	Satisfied bool      `json:"satisfied"`
	Complaint string    `json:"complaint,omitempty"` // the complaint followed up
	At        time.Time `json:"at"`
}

// CallbackCancelled: a manager cancelled the task.
type CallbackCancelled struct {
	TaskID string    `json:"task_id"`
	Dealer string    `json:"dealer"`
	At     time.Time `json:"at"`
}

// CallbackSourceEvent is the outbox event that starts (or reaches) the
// callback of kind for a source: a closed repair order's 3DC, a delivery's
// 7DC and NEW_CUSTOMER, a resolved complaint's follow-up. The source
// service adds it in the transaction that records the source.
func CallbackSourceEvent(eventKind string, start CallbackStart, payload any) outbox.Event {
	return outbox.Event{
		DealerID: start.Dealer, Kind: eventKind,
		WorkflowID: CallbackWorkflowID(start.Kind, start.SourceID), WorkflowType: CallbackWorkflowType,
		TaskQueue: CallbackTaskQueue, SignalName: CallbackSignal,
		StartInput: start, Payload: payload,
	}
}
