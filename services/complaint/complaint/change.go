package complaint

import (
	"time"

	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/services/complaint/escalation"
)

// What a change does, as data the Store writes: the timeline entry, the
// notice, the follow-up callback and the clock event's record. The rules
// that fill them in are here and in package escalation; the store decides
// none of it.

// ChangeKind names what a change did: the timeline entry's kind and the
// escalation workflow's events.ComplaintChanged.Change.
type ChangeKind string

// Change kinds.
const (
	ChangeCreated         ChangeKind = "created"
	ChangeAcknowledged    ChangeKind = "acknowledged"
	ChangeStarted         ChangeKind = "started"
	ChangePaused          ChangeKind = "paused"
	ChangeResumed         ChangeKind = "resumed"
	ChangeResolved        ChangeKind = "resolved"
	ChangeReopened        ChangeKind = "reopened"
	ChangeClosed          ChangeKind = "closed"
	ChangeUpdated         ChangeKind = "updated"
	ChangeSeverityChanged ChangeKind = "severity_changed"
	ChangeEscalated       ChangeKind = "escalated"
	ChangeAssigned        ChangeKind = "assigned"
	ChangeTransferred     ChangeKind = "transferred"
)

// Change is what an action did. The store writes all of it in the
// transaction that saves the complaint, and decides nothing itself.
type Change struct {
	Kind   ChangeKind
	Detail string
	// Notice, if set, is a notification to write.
	Notice *Notice
	// FollowUp, if set, makes a follow-up callback due (a resolution).
	FollowUp *FollowUp
}

// FollowUp is a follow-up callback a resolution makes due: the callback
// workflow's start and the resolution it follows up.
type FollowUp struct {
	Callback   events.CallbackStart
	Resolution events.ComplaintResolution
}

// Notice is a notification to the role on the hook at a level.
type Notice = escalation.Notice

// ClockRecord is what a clock event does to the complaint, as the store
// writes it once per key: the timeline entry (at the complaint's level
// after it), the raised level and a notice.
type ClockRecord struct {
	Kind   escalation.Kind
	Detail string
	// Raised: the level went up; the store saves it.
	Raised bool
	Notice *Notice
}

// Filed is the change that files c: its first timeline entry.
func (c *Complaint) Filed() Change {
	return Change{Kind: ChangeCreated, Detail: c.Severity + " " + c.Category + " via " + c.Channel}
}

// FollowUp is the follow-up callback a resolution at makes due with the
// owner: each resolution is one round, so a reopened complaint's next
// resolution is followed up again, by a callback of its own.
func (c *Complaint) FollowUp(at time.Time) *FollowUp {
	r := events.ComplaintResolution{
		ComplaintID: c.ID, Dealer: c.Dealer, OriginDealer: c.OriginDealer, Customer: c.Customer,
		VIN: c.VIN, Round: c.ReopenCount + 1, ResolveTime: at,
	}
	return &FollowUp{Resolution: r, Callback: events.CallbackStart{
		Kind: events.CallbackComplaintFollowUp, Dealer: r.Dealer, SourceType: events.SourceComplaint,
		SourceID: events.FollowUpSourceID(r.ComplaintID, r.Round),
	}}
}

// Notice is the notification to the role on the hook at the complaint's
// level, saying why (escalation.NoticeOf).
func (c *Complaint) Notice(why string) Notice {
	return escalation.NoticeOf(escalation.Subject{Complaint: c.ID, Severity: c.Severity, Category: c.Category, Level: c.Level}, why)
}
