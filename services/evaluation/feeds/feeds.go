// Package feeds reads the source services' change feeds (callback,
// complaint, customer, campaign) over gRPC and turns their changes into the
// evaluation's facts. It never reads another service's tables.
package feeds

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/pbconv"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
)

// The sources, by the name SyncFeed takes.
const (
	Callback  = "callback"
	Complaint = "complaint"
	Customer  = "customer"
	Campaign  = "campaign"
)

// Sources lists them in the order a sync round reads them.
var Sources = []string{Customer, Callback, Complaint, Campaign}

// Store keeps the facts and each feed's cursor.
type Store interface {
	Cursor(ctx context.Context, source string) (string, error)
	// ApplyFacts stores facts and the cursor in one transaction.
	ApplyFacts(ctx context.Context, f evaluation.Facts, source, cursor string) (int, error)
}

// Feeds reads the source services' feeds with the service's own
// identity.
type Feeds struct {
	Callback  callbackv1.CallbackChangeServiceClient
	Complaint complaintv1.ComplaintChangeServiceClient
	Customer  customerv1.ArchiveChangeServiceClient
	// Campaign is nil when no campaign service runs: its feed is then
	// empty.
	Campaign campaignv1.CampaignChangeServiceClient
	// TokenFile holds the service's token (SERVICE_TOKEN_FILE), re-read
	// per call so a rotated token is picked up.
	TokenFile string
	Store     Store
}

// Result of one page.
type Result struct {
	Applied int
	More    bool
}

// Sync reads one page of source's feed after the stored cursor and
// applies it with the new cursor in one transaction: a page read twice
// (a retried activity) changes nothing the second time. An unknown
// source is EINVALID.
func (f *Feeds) Sync(ctx context.Context, source string, limit int) (Result, error) {
	cursor, err := f.Store.Cursor(ctx, source)
	if err != nil {
		return Result{}, err
	}
	raw, err := os.ReadFile(f.TokenFile)
	if err != nil {
		return Result{}, fmt.Errorf("read SERVICE_TOKEN_FILE: %w", err)
	}
	ctx = auth.WithToken(ctx, strings.TrimSpace(string(raw)))
	var facts evaluation.Facts
	var next string
	var more bool
	switch source {
	case Callback:
		resp, err := f.Callback.ListCallbackTaskChanges(ctx, &callbackv1.ListCallbackTaskChangesRequest{After: cursor, Limit: int32(limit)})
		if err != nil {
			return Result{}, fmt.Errorf("read the callback feed: %w", err)
		}
		facts, next, more = CallbackFacts(resp.GetChanges()), resp.GetNextCursor(), resp.GetMore()
	case Complaint:
		resp, err := f.Complaint.ListComplaintChanges(ctx, &complaintv1.ListComplaintChangesRequest{After: cursor, Limit: int32(limit)})
		if err != nil {
			return Result{}, fmt.Errorf("read the complaint feed: %w", err)
		}
		facts, next, more = ComplaintFacts(resp.GetChanges()), resp.GetNextCursor(), resp.GetMore()
	case Customer:
		resp, err := f.Customer.ListArchiveChanges(ctx, &customerv1.ListArchiveChangesRequest{After: cursor, Limit: int32(limit)})
		if err != nil {
			return Result{}, fmt.Errorf("read the archive feed: %w", err)
		}
		facts, next, more = ArchiveFacts(resp.GetChanges()), resp.GetNextCursor(), resp.GetMore()
	case Campaign:
		if f.Campaign == nil {
			return Result{}, nil
		}
		resp, err := f.Campaign.ListCampaignTargetChanges(ctx, &campaignv1.ListCampaignTargetChangesRequest{After: cursor, Limit: int32(limit)})
		if err != nil {
			return Result{}, fmt.Errorf("read the campaign feed: %w", err)
		}
		facts, next, more = CampaignFacts(resp.GetChanges()), resp.GetNextCursor(), resp.GetMore()
	default:
		return Result{}, apperr.Invalid("source", fmt.Sprintf("%q is not a feed (callback, complaint, customer, campaign)", source))
	}
	if next == cursor {
		return Result{More: more}, nil
	}
	n, err := f.Store.ApplyFacts(ctx, facts, source, next)
	if err != nil {
		return Result{}, fmt.Errorf("apply the %s feed: %w", source, err)
	}
	return Result{Applied: n, More: more}, nil
}

// CallbackFacts converts task changes.
func CallbackFacts(changes []*callbackv1.CallbackTaskChange) evaluation.Facts {
	var f evaluation.Facts
	for _, c := range changes {
		f.Callbacks = append(f.Callbacks, evaluation.Versioned[evaluation.CallbackFact]{Seq: c.GetSeq(), Fact: evaluation.CallbackFact{
			Dealer: c.GetDealer(), TaskID: c.GetTask(), Kind: c.GetKind(), SourceID: c.GetSourceId(), Status: c.GetStatus(),
			DueTime: pbconv.Time(c.GetDueTime()), Deadline: pbconv.Time(c.GetDeadline()), CompleteTime: pbconv.Time(c.GetCompleteTime()),
			Score: c.GetScore(), QuestionnaireVersion: int(c.GetQuestionnaireVersion()), DealerQuestionsVersion: int(c.GetDealerQuestionsVersion()),
			Answers: surveyAnswers(c.GetAnswers()),
		}})
	}
	return f
}

// surveyAnswers converts a task's answers; a rating travels as its digits.
func surveyAnswers(as []*callbackv1.CallbackAnswerChange) []evaluation.SurveyAnswer {
	var out []evaluation.SurveyAnswer
	for _, a := range as {
		v := evaluation.SurveyAnswer{Question: a.GetQuestion(), Type: a.GetType(), DealerQuestion: a.GetDealerQuestion(), Scale: int(a.GetScale()), Problem: a.GetProblem()}
		switch a.GetType() {
		case evaluation.QuestionRating:
			v.Answer = strconv.Itoa(int(a.GetRating()))
		case evaluation.QuestionYesNo:
			v.Answer = a.GetYesNo()
		case evaluation.QuestionChoice:
			v.Answer = a.GetChoice()
		}
		out = append(out, v)
	}
	return out
}

// ComplaintFacts converts complaint changes.
func ComplaintFacts(changes []*complaintv1.ComplaintChange) evaluation.Facts {
	var f evaluation.Facts
	for _, c := range changes {
		f.Complaints = append(f.Complaints, evaluation.Versioned[evaluation.ComplaintFact]{Seq: c.GetSeq(), Fact: evaluation.ComplaintFact{
			Dealer: c.GetDealer(), ComplaintID: c.GetComplaint(), Severity: c.GetSeverity(), CreateTime: pbconv.Time(c.GetCreateTime()),
			ResponseMet: c.GetResponseMet(), ResolutionMet: c.GetResolutionMet(), CloseTime: pbconv.Time(c.GetCloseTime()),
			ReopenCount: int(c.GetReopenCount()),
		}})
	}
	return f
}

// ArchiveFacts converts archive changes.
func ArchiveFacts(changes []*customerv1.ArchiveChange) evaluation.Facts {
	var f evaluation.Facts
	for _, c := range changes {
		switch ch := c.GetChange().(type) {
		case *customerv1.ArchiveChange_RepairOrder:
			r := ch.RepairOrder
			f.RepairOrders = append(f.RepairOrders, evaluation.Versioned[evaluation.RepairOrderFact]{Seq: c.GetSeq(), Fact: evaluation.RepairOrderFact{
				Dealer: c.GetDealer(), RepairOrderID: r.GetRepairOrder(), VIN: r.GetVin(), Type: r.GetType(),
				OpenTime: pbconv.Time(r.GetOpenTime()), CloseTime: pbconv.Time(r.GetCloseTime()), ByAppointment: r.GetByAppointment(),
				CampaignCode: r.GetCampaignCode(),
			}})
		case *customerv1.ArchiveChange_Sale:
			s := ch.Sale
			f.Deliveries = append(f.Deliveries, evaluation.Versioned[evaluation.DeliveryFact]{Seq: c.GetSeq(), Fact: evaluation.DeliveryFact{
				Dealer: c.GetDealer(), SaleID: s.GetSale(), VIN: s.GetVin(), DeliveredTime: pbconv.Time(s.GetDeliveredTime()),
			}})
		case *customerv1.ArchiveChange_Customer:
			a := ch.Customer
			f.Archives = append(f.Archives, evaluation.Versioned[evaluation.ArchiveFact]{Seq: c.GetSeq(), Fact: evaluation.ArchiveFact{
				Dealer: c.GetDealer(), ArchiveID: a.GetCustomer(), TriggerTime: pbconv.Time(a.GetTriggerTime()),
				EnteredTime: pbconv.Time(a.GetEnteredTime()), Valid: a.GetValid(),
			}})
		case *customerv1.ArchiveChange_ServiceDue:
			d := ch.ServiceDue
			f.ServiceDues = append(f.ServiceDues, evaluation.Versioned[evaluation.ServiceDueFact]{Seq: c.GetSeq(), Fact: evaluation.ServiceDueFact{
				Dealer: c.GetDealer(), VIN: d.GetVin(), DueTime: pbconv.Time(d.GetDueTime()),
			}})
		}
	}
	return f
}

// CampaignFacts converts campaign target changes.
func CampaignFacts(changes []*campaignv1.CampaignTargetChange) evaluation.Facts {
	var f evaluation.Facts
	for _, c := range changes {
		f.CampaignTargets = append(f.CampaignTargets, evaluation.Versioned[evaluation.CampaignTargetFact]{Seq: c.GetSeq(), Fact: evaluation.CampaignTargetFact{
			Dealer: c.GetDealer(), CampaignID: c.GetCampaign(), CustomerID: c.GetCustomer(), VIN: c.GetVin(),
			WindowStart: pbconv.Time(c.GetWindowStart()), WindowEnd: pbconv.Time(c.GetWindowEnd()), Kind: c.GetKind(), Code: c.GetCode(),
		}})
	}
	return f
}
