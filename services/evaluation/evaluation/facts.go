package evaluation

import (
	"fmt"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
)

// Facts are what the KPIs are computed from: the evaluation service's own
// copy of what happened, learned from each source service's change feed.
// Each is keyed by its source's id within its dealer: a fact received
// again replaces the earlier copy (so it counts once), and a later version
// of it (Seq) corrects the periods the earlier one was counted in. No fact
// holds a name, mobile or ID number; VINs and archive ids stay inside the
// evaluation schema and never reach a KPI answer.

// Callback task statuses that matter to the KPIs.
const (
	StatusCompleted = "completed"
	StatusCancelled = "cancelled"
)

// Callback kinds the KPIs read.
const (
	Kind3DC = "3DC"
	Kind7DC = "7DC"
)

// CallbackFact is one callback task.
type CallbackFact struct {
	Dealer string
	TaskID string
	Kind   string
	// SourceID is the task's source: the sale of a 7DC, the repair order
	// of a 3DC.
	SourceID string
	Status   string
	DueTime  time.Time
	Deadline time.Time
	// CompleteTime is set once completed.
	CompleteTime time.Time
	// Score is the 0-100 satisfaction score of a completed task.
	Score float64
	// QuestionnaireVersion and DealerQuestionsVersion are the versions of
	// HQ's questionnaire and of the dealer's own questions it was asked
	// with; Answers a completed task's (the survey analysis).
	QuestionnaireVersion   int
	DealerQuestionsVersion int
	Answers                []SurveyAnswer
}

// ScoreHundredths is the score as stored, in hundredths of a point.
func (f CallbackFact) ScoreHundredths() int64 { return int64(f.Score*ScoreScale + 0.5) }

// DeliveryFact is one vehicle delivery (sale).
type DeliveryFact struct {
	Dealer        string
	SaleID        string
	VIN           string
	DeliveredTime time.Time
}

// ComplaintFact is one complaint, at its owning dealer.
type ComplaintFact struct {
	Dealer      string
	ComplaintID string
	Severity    string
	CreateTime  time.Time
	// ResponseMet: acknowledged before the first-response target breached.
	ResponseMet bool
	// ResolutionMet: resolved before the resolution target breached.
	ResolutionMet bool
	// CloseTime is when it was (last) closed; zero while not closed.
	CloseTime time.Time
	// ReopenCount counts its reopenings.
	ReopenCount int
}

// Repair order types.
const TypeRepair = "repair"

// RepairOrderFact is one repair order (a visit), at the dealer where it
// happened.
type RepairOrderFact struct {
	Dealer        string
	RepairOrderID string
	VIN           string
	Type          string
	OpenTime      time.Time
	// CloseTime is zero while open.
	CloseTime     time.Time
	ByAppointment bool
	CampaignCode  string
}

// ServiceDueFact is a vehicle's maintenance falling due, at the dealer of
// the visit it was computed from (the vehicle workflow's next service due).
type ServiceDueFact struct {
	Dealer  string
	VIN     string
	DueTime time.Time
}

// ArchiveFact is one customer archive's entry.
type ArchiveFact struct {
	Dealer      string
	ArchiveID   string
	TriggerTime time.Time
	EnteredTime time.Time
	// Valid: the archive passed every validation.
	Valid bool
}

// CampaignTargetFact is one customer a campaign targeted (the campaign
// service's fact), at the customer's dealer: it returned if its vehicle
// opened a repair order, at any dealer, within the campaign's return
// window [WindowStart, WindowEnd); for a recall (Kind "recall") only a
// recall-type repair order quoting the campaign's Code counts.
type CampaignTargetFact struct {
	Dealer      string
	CampaignID  string
	CustomerID  string
	VIN         string
	WindowStart time.Time
	WindowEnd   time.Time
	Kind        string
	Code        string
}

// KindRecall is the campaign kind whose return must be a recall.
const KindRecall = "recall"

// Returns reports whether a repair order of type typ quoting code, of
// the target's vehicle and within its window, is a return.
func (f CampaignTargetFact) Returns(typ, code string) bool {
	return f.Kind != KindRecall || (typ == KindRecall && code == f.Code)
}

// Facts is a batch of facts from one change feed page, each with the
// source's change sequence (Seq): a copy with a lower Seq than the stored
// one is older and ignored.
type Facts struct {
	Callbacks       []Versioned[CallbackFact]
	Deliveries      []Versioned[DeliveryFact]
	Complaints      []Versioned[ComplaintFact]
	RepairOrders    []Versioned[RepairOrderFact]
	ServiceDues     []Versioned[ServiceDueFact]
	Archives        []Versioned[ArchiveFact]
	CampaignTargets []Versioned[CampaignTargetFact]
}

// Versioned is a fact with its source's change sequence.
type Versioned[T any] struct {
	Seq  int64
	Fact T
}

// Len counts the facts.
func (f Facts) Len() int {
	return len(f.Callbacks) + len(f.Deliveries) + len(f.Complaints) + len(f.RepairOrders) +
		len(f.ServiceDues) + len(f.Archives) + len(f.CampaignTargets)
}

// Validate refuses a fact the KPIs could not place; field names it.
func (f Facts) Validate() error {
	check := func(field, dealer, id string, at time.Time) error {
		switch {
		case dealer == "":
			return apperr.Invalid(field+".dealer", "is required")
		case id == "":
			return apperr.Invalid(field+".id", "is required")
		case at.IsZero():
			return apperr.Invalid(field+".time", "is required")
		}
		return nil
	}
	for i, v := range f.Callbacks {
		if err := check(fmt.Sprintf("callbacks[%d]", i), v.Fact.Dealer, v.Fact.TaskID, v.Fact.DueTime); err != nil {
			return err
		}
		if err := validateAnswers(fmt.Sprintf("callbacks[%d]", i), v.Fact); err != nil {
			return err
		}
	}
	for i, v := range f.Deliveries {
		if err := check(fmt.Sprintf("deliveries[%d]", i), v.Fact.Dealer, v.Fact.SaleID, v.Fact.DeliveredTime); err != nil {
			return err
		}
	}
	for i, v := range f.Complaints {
		if err := check(fmt.Sprintf("complaints[%d]", i), v.Fact.Dealer, v.Fact.ComplaintID, v.Fact.CreateTime); err != nil {
			return err
		}
	}
	for i, v := range f.RepairOrders {
		if err := check(fmt.Sprintf("repair_orders[%d]", i), v.Fact.Dealer, v.Fact.RepairOrderID, v.Fact.OpenTime); err != nil {
			return err
		}
	}
	for i, v := range f.ServiceDues {
		if err := check(fmt.Sprintf("service_dues[%d]", i), v.Fact.Dealer, v.Fact.VIN, v.Fact.DueTime); err != nil {
			return err
		}
	}
	for i, v := range f.Archives {
		if err := check(fmt.Sprintf("archives[%d]", i), v.Fact.Dealer, v.Fact.ArchiveID, v.Fact.EnteredTime); err != nil {
			return err
		}
	}
	for i, v := range f.CampaignTargets {
		if err := check(fmt.Sprintf("campaign_targets[%d]", i), v.Fact.Dealer, v.Fact.CampaignID+v.Fact.CustomerID, v.Fact.WindowStart); err != nil {
			return err
		}
	}
	return nil
}
