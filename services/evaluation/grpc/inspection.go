package grpc

import (
	"context"
	"encoding/base64"
	"strings"
	"time"

	evaluationv1 "github.com/dealercare/dealercare/gen/go/dealercare/evaluation/v1"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/pbconv"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
)

// InspectionServer implements evaluationv1.InspectionServiceServer.
type InspectionServer struct {
	evaluationv1.UnimplementedInspectionServiceServer
	inspections *evaluation.Inspections
}

// NewInspectionServer returns the inspection scorecards' API.
func NewInspectionServer(inspections *evaluation.Inspections) *InspectionServer {
	return &InspectionServer{inspections: inspections}
}

func checklistToProto(c *evaluation.Checklist) *evaluationv1.InspectionChecklist {
	out := &evaluationv1.InspectionChecklist{Version: int32(c.Version), Title: c.Title, TotalPoints: int32(c.TotalPoints),
		CreateBy: c.CreateBy, CreateTime: pbconv.Timestamp(c.CreateTime)}
	for _, it := range c.Items {
		out.Items = append(out.Items, &evaluationv1.InspectionItem{Code: it.Code, Text: it.Text, Category: it.Category, MaxDeduction: int32(it.MaxDeduction)})
	}
	return out
}

func inspectionToProto(in *evaluation.Inspection) *evaluationv1.Inspection {
	out := &evaluationv1.Inspection{Id: in.ID, Dealer: in.Dealer, ChecklistVersion: int32(in.ChecklistVersion),
		VisitTime: pbconv.Timestamp(in.VisitTime), Inspector: in.Inspector, Summary: in.Summary,
		TotalPoints: int32(in.TotalPoints), DeductedPoints: int32(in.DeductedPoints), Score: in.ScoreValue(),
		CreateTime: pbconv.Timestamp(in.CreateTime)}
	for _, r := range in.Items {
		out.Items = append(out.Items, &evaluationv1.InspectionItemResult{Code: r.Code, Deduction: int32(r.Deduction), EvidenceNote: r.EvidenceNote})
	}
	return out
}

// CreateInspectionChecklist implements the RPC.
func (s *InspectionServer) CreateInspectionChecklist(ctx context.Context, req *evaluationv1.CreateInspectionChecklistRequest) (*evaluationv1.InspectionChecklist, error) {
	in := req.GetChecklist()
	c := evaluation.Checklist{Title: in.GetTitle()}
	for _, it := range in.GetItems() {
		c.Items = append(c.Items, evaluation.InspectionItem{Code: it.GetCode(), Text: it.GetText(), Category: it.GetCategory(), MaxDeduction: int(it.GetMaxDeduction())})
	}
	out, err := s.inspections.CreateChecklist(ctx, c)
	if err != nil {
		return nil, err
	}
	return checklistToProto(out), nil
}

// ListInspectionChecklists implements the RPC.
func (s *InspectionServer) ListInspectionChecklists(ctx context.Context, _ *evaluationv1.ListInspectionChecklistsRequest) (*evaluationv1.ListInspectionChecklistsResponse, error) {
	list, err := s.inspections.Checklists(ctx)
	if err != nil {
		return nil, err
	}
	out := &evaluationv1.ListInspectionChecklistsResponse{Checklists: []*evaluationv1.InspectionChecklist{}}
	for i := range list {
		out.Checklists = append(out.Checklists, checklistToProto(&list[i]))
	}
	return out, nil
}

// GetInspectionChecklist implements the RPC.
func (s *InspectionServer) GetInspectionChecklist(ctx context.Context, req *evaluationv1.GetInspectionChecklistRequest) (*evaluationv1.InspectionChecklist, error) {
	c, err := s.inspections.Checklist(ctx, int(req.GetVersion()))
	if err != nil {
		return nil, err
	}
	return checklistToProto(c), nil
}

// CreateInspection implements the RPC.
func (s *InspectionServer) CreateInspection(ctx context.Context, req *evaluationv1.CreateInspectionRequest) (*evaluationv1.Inspection, error) {
	p := req.GetInspection()
	in := evaluation.Inspection{ChecklistVersion: int(p.GetChecklistVersion()), Summary: p.GetSummary()}
	if p.GetVisitTime() != nil {
		in.VisitTime = pbconv.Time(p.GetVisitTime())
	}
	for _, r := range p.GetItems() {
		in.Items = append(in.Items, evaluation.ItemResult{Code: r.GetCode(), Deduction: int(r.GetDeduction()), EvidenceNote: r.GetEvidenceNote()})
	}
	out, err := s.inspections.CreateInspection(ctx, req.GetDealer(), in)
	if err != nil {
		return nil, err
	}
	return inspectionToProto(out), nil
}

// GetInspection implements the RPC.
func (s *InspectionServer) GetInspection(ctx context.Context, req *evaluationv1.GetInspectionRequest) (*evaluationv1.Inspection, error) {
	out, err := s.inspections.Inspection(ctx, req.GetDealer(), req.GetInspection())
	if err != nil {
		return nil, err
	}
	return inspectionToProto(out), nil
}

// An inspection page token is the last visit time and id of the page
// before.
const inspectionTokenPrefix = "inspection:"

func inspectionToken(in *evaluation.Inspection) string {
	return base64.RawURLEncoding.EncodeToString([]byte(inspectionTokenPrefix + in.VisitTime.UTC().Format(time.RFC3339Nano) + "|" + in.ID))
}

func inspectionCursor(token string) (*evaluation.InspectionCursor, error) {
	if token == "" {
		return nil, nil
	}
	bad := apperr.Invalid("page_token", "is not a token returned by a previous call").ZhReason("不是上一次调用返回的分页令牌")
	raw, err := base64.RawURLEncoding.DecodeString(token)
	rest, ok := strings.CutPrefix(string(raw), inspectionTokenPrefix)
	if err != nil || !ok {
		return nil, bad
	}
	at, id, ok := strings.Cut(rest, "|")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil || id == "" {
		return nil, bad
	}
	return &evaluation.InspectionCursor{VisitTime: t, ID: id}, nil
}

// ListInspections implements the RPC.
func (s *InspectionServer) ListInspections(ctx context.Context, req *evaluationv1.ListInspectionsRequest) (*evaluationv1.ListInspectionsResponse, error) {
	after, err := inspectionCursor(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	if size == 0 {
		size = 50
	}
	list, err := s.inspections.List(ctx, req.GetDealer(), size+1, after)
	if err != nil {
		return nil, err
	}
	out := &evaluationv1.ListInspectionsResponse{Inspections: []*evaluationv1.Inspection{}}
	if len(list) > size {
		list = list[:size]
		out.NextPageToken = inspectionToken(&list[size-1])
	}
	for i := range list {
		out.Inspections = append(out.Inspections, inspectionToProto(&list[i]))
	}
	return out, nil
}

// GetInspectionScores implements the RPC.
func (s *InspectionServer) GetInspectionScores(ctx context.Context, req *evaluationv1.GetInspectionScoresRequest) (*evaluationv1.InspectionScores, error) {
	trend, err := s.inspections.Scores(ctx, req.GetDealer(), query(req.GetQuery()))
	if err != nil {
		return nil, err
	}
	out := &evaluationv1.InspectionScores{Scope: trend.Scope, Granularity: granularityValue(trend.Granularity)}
	for _, p := range trend.Periods {
		sp := &evaluationv1.InspectionScorePeriod{StartDate: day(p.Start), EndDate: day(p.End), Inspections: p.Figure.Denominator}
		if v, ok := evaluation.Value(evaluation.InspectionScore, p.Figure); ok {
			sp.Score = &v
		}
		out.Periods = append(out.Periods, sp)
	}
	return out, nil
}
