package grpc

import (
	"context"

	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	"github.com/dealercare/dealercare/pkg/pbconv"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/campaign/campaign"
)

func recallStateOf(s campaignv1.RecallVinState) string {
	return pbconv.EnumName(s.String(), "RECALL_VIN_STATE_")
}

func recallStateToProto(s string) campaignv1.RecallVinState {
	return campaignv1.RecallVinState(pbconv.EnumValue(s, "RECALL_VIN_STATE_", campaignv1.RecallVinState_value))
}

func tallyToProto(t campaign.RecallTally) *campaignv1.RecallTally {
	return &campaignv1.RecallTally{Key: t.Key, Region: t.Region, Vins: t.VINs, Completed: t.Completed,
		CompletedElsewhere: t.CompletedElsewhere, RepairedHere: t.RepairedAt, CompletionRate: t.Rate()}
}

// ImportRecallVins implements the RPC.
func (s *Server) ImportRecallVins(ctx context.Context, req *campaignv1.ImportRecallVinsRequest) (*campaignv1.ImportRecallVinsResponse, error) {
	r, err := s.svc.ImportRecallVINs(ctx, req.GetDealer(), req.GetCampaign(), req.GetCsv())
	if err != nil {
		return nil, err
	}
	return &campaignv1.ImportRecallVinsResponse{Read: int32(r.Read), Added: int32(r.Added), Total: int32(r.Total), Unknown: int32(r.Unknown)}, nil
}

// ListRecallVins implements the RPC.
func (s *Server) ListRecallVins(ctx context.Context, req *campaignv1.ListRecallVinsRequest) (*campaignv1.ListRecallVinsResponse, error) {
	vs, next, err := s.svc.RecallVINs(ctx, req.GetDealer(), req.GetCampaign(), recallStateOf(req.GetState()), req.GetOwnerDealer(),
		campaign.Page{After: req.GetPageToken(), Size: int(req.GetPageSize())})
	if err != nil {
		return nil, err
	}
	out := &campaignv1.ListRecallVinsResponse{NextPageToken: next}
	for _, v := range vs {
		out.Vins = append(out.Vins, &campaignv1.RecallVin{Vin: v.VIN, OwnerDealer: v.OwnerDealer, Region: v.Region, State: recallStateToProto(v.State),
			CompletedDealer: v.CompletedDealer, RepairOrder: v.RepairOrder, CompleteTime: pbconv.Timestamp(v.CompleteTime), ChaseTask: v.ChaseTask})
	}
	return out, nil
}

// GetRecallCompletion implements the RPC.
func (s *Server) GetRecallCompletion(ctx context.Context, req *campaignv1.GetRecallCompletionRequest) (*campaignv1.RecallCompletion, error) {
	c, err := s.svc.RecallCompletion(ctx, req.GetDealer(), req.GetCampaign())
	if err != nil {
		return nil, err
	}
	out := &campaignv1.RecallCompletion{Network: tallyToProto(c.Network)}
	for _, t := range c.Regions {
		out.Regions = append(out.Regions, tallyToProto(t))
	}
	for _, t := range c.Dealers {
		out.Dealers = append(out.Dealers, tallyToProto(t))
	}
	return out, nil
}

// RecordRecallRepair implements the RPC.
func (s *WorkflowServer) RecordRecallRepair(ctx context.Context, req *campaignv1.RecordRecallRepairRequest) (*campaignv1.RecordRecallRepairResponse, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	n, err := s.svc.RecordRecallRepair(ctx, req.GetVin(), req.GetDealer(), req.GetRepairOrder(), req.GetCampaignCode(), pbconv.Time(req.GetCloseTime()))
	if err != nil {
		return nil, err
	}
	return &campaignv1.RecordRecallRepairResponse{Completed: int32(n)}, nil
}

// ChaseRecallVins implements the RPC.
func (s *WorkflowServer) ChaseRecallVins(ctx context.Context, req *campaignv1.ChaseRecallVinsRequest) (*campaignv1.ChaseRecallVinsResponse, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	n, open, err := s.svc.ChaseRecall(ctx, req.GetDealer(), req.GetCampaign())
	if err != nil {
		return nil, err
	}
	return &campaignv1.ChaseRecallVinsResponse{Opened: int32(n), Open: open}, nil
}
