package grpc

import (
	"context"

	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	"github.com/dealercare/dealercare/pkg/pbconv"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/campaign/campaign"
	"google.golang.org/protobuf/types/known/durationpb"
)

func planToProto(p campaign.Plan) *campaignv1.MaintenancePlan {
	return &campaignv1.MaintenancePlan{Model: p.Model, Months: int32(p.Months), IntervalKm: int32(p.IntervalKM),
		DefaultKmPerDay: p.KMPerDay, UpdateTime: pbconv.Timestamp(p.UpdateTime)}
}

// ListMaintenancePlans implements the RPC.
func (s *Server) ListMaintenancePlans(ctx context.Context, _ *campaignv1.ListMaintenancePlansRequest) (*campaignv1.ListMaintenancePlansResponse, error) {
	ps, err := s.svc.Plans(ctx)
	if err != nil {
		return nil, err
	}
	out := &campaignv1.ListMaintenancePlansResponse{}
	for _, p := range ps {
		out.Plans = append(out.Plans, planToProto(p))
	}
	return out, nil
}

// GetMaintenancePlan implements the RPC.
func (s *Server) GetMaintenancePlan(ctx context.Context, req *campaignv1.GetMaintenancePlanRequest) (*campaignv1.MaintenancePlan, error) {
	p, err := s.svc.Plan(ctx, req.GetModel())
	if err != nil {
		return nil, err
	}
	return planToProto(p), nil
}

// UpdateMaintenancePlan implements the RPC; the mask's paths are the
// MaintenancePlan message's field names.
func (s *Server) UpdateMaintenancePlan(ctx context.Context, req *campaignv1.UpdateMaintenancePlanRequest) (*campaignv1.MaintenancePlan, error) {
	in := req.GetPlan()
	p, err := s.svc.SetPlan(ctx, campaign.Plan{Model: in.GetModel(), Months: int(in.GetMonths()), IntervalKM: int(in.GetIntervalKm()),
		KMPerDay: in.GetDefaultKmPerDay()}, req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	return planToProto(p), nil
}

// DeleteMaintenancePlan implements the RPC.
func (s *Server) DeleteMaintenancePlan(ctx context.Context, req *campaignv1.DeleteMaintenancePlanRequest) (*campaignv1.DeleteMaintenancePlanResponse, error) {
	if err := s.svc.DeletePlan(ctx, req.GetModel()); err != nil {
		return nil, err
	}
	return &campaignv1.DeleteMaintenancePlanResponse{}, nil
}

// GetVehiclePlan implements the RPC.
func (s *WorkflowServer) GetVehiclePlan(ctx context.Context, req *campaignv1.GetVehiclePlanRequest) (*campaignv1.MaintenancePlan, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	p, err := s.svc.VehiclePlan(ctx, req.GetVin())
	if err != nil {
		return nil, err
	}
	return planToProto(p), nil
}

// EnsureHolidayGreeting implements the RPC.
func (s *WorkflowServer) EnsureHolidayGreeting(ctx context.Context, req *campaignv1.EnsureHolidayGreetingRequest) (*campaignv1.Campaign, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	c, err := s.svc.EnsureHolidayGreeting(ctx, req.GetHoliday(), req.GetName(), req.GetDate(), pbconv.Time(req.GetStartTime()))
	if err != nil {
		return nil, err
	}
	return CampaignToProto(c, nil), nil
}

func dealerPolicyToProto(p campaign.Policy, d campaign.DealerPolicy) *campaignv1.DealerMessagingPolicy {
	return &campaignv1.DealerMessagingPolicy{QuietStart: p.QuietStart, QuietEnd: p.QuietEnd, FrequencyCap: int32(p.FrequencyCap),
		FrequencyWindow: durationpb.New(p.FrequencyWindow), Overridden: d.Overridden(), UpdateTime: pbconv.Timestamp(p.UpdateTime)}
}

// GetDealerMessagingPolicy implements the RPC.
func (s *Server) GetDealerMessagingPolicy(ctx context.Context, req *campaignv1.GetDealerMessagingPolicyRequest) (*campaignv1.DealerMessagingPolicy, error) {
	p, d, err := s.svc.DealerPolicy(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	return dealerPolicyToProto(p, d), nil
}

// UpdateDealerMessagingPolicy implements the RPC.
func (s *Server) UpdateDealerMessagingPolicy(ctx context.Context, req *campaignv1.UpdateDealerMessagingPolicyRequest) (*campaignv1.DealerMessagingPolicy, error) {
	in := req.GetPolicy()
	edit := campaign.Policy{QuietStart: in.GetQuietStart(), QuietEnd: in.GetQuietEnd(), FrequencyCap: int(in.GetFrequencyCap()),
		FrequencyWindow: in.GetFrequencyWindow().AsDuration()}
	p, d, err := s.svc.SetDealerPolicy(ctx, req.GetDealer(), edit, req.GetUpdateMask().GetPaths(), req.GetClear())
	if err != nil {
		return nil, err
	}
	return dealerPolicyToProto(p, d), nil
}

// EnsureBirthdayGreeting implements the RPC.
func (s *WorkflowServer) EnsureBirthdayGreeting(ctx context.Context, req *campaignv1.EnsureBirthdayGreetingRequest) (*campaignv1.Campaign, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	c, err := s.svc.EnsureBirthdayGreeting(ctx, req.GetDate())
	if err != nil {
		return nil, err
	}
	return CampaignToProto(c, nil), nil
}

// GetGreetingPolicy implements the RPC.
func (s *WorkflowServer) GetGreetingPolicy(ctx context.Context, _ *campaignv1.GetGreetingPolicyRequest) (*campaignv1.MessagingPolicy, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	p, err := s.svc.GreetingPolicy(ctx)
	if err != nil {
		return nil, err
	}
	return policyToProto(p), nil
}
