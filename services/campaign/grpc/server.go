package grpc

import (
	"context"
	"slices"

	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/pbconv"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/campaign/campaign"
)

// Server implements campaignv1.CampaignServiceServer over campaign.Service,
// which applies the access rules (another dealer's campaign is NOT_FOUND).
type Server struct {
	campaignv1.UnimplementedCampaignServiceServer
	svc *campaign.Service
}

// NewServer returns the campaign API.
func NewServer(svc *campaign.Service) *Server { return &Server{svc: svc} }

// CreateCampaign implements the RPC.
func (s *Server) CreateCampaign(ctx context.Context, req *campaignv1.CreateCampaignRequest) (*campaignv1.Campaign, error) {
	c, err := s.svc.Create(ctx, req.GetDealer(), campaignFromProto(req.GetCampaign()))
	if err != nil {
		return nil, err
	}
	return CampaignToProto(c, &campaign.Stats{}), nil
}

// GetCampaign implements the RPC.
func (s *Server) GetCampaign(ctx context.Context, req *campaignv1.GetCampaignRequest) (*campaignv1.Campaign, error) {
	c, st, err := s.svc.Get(ctx, req.GetDealer(), req.GetCampaign())
	if err != nil {
		return nil, err
	}
	return CampaignToProto(c, &st), nil
}

// ListCampaigns implements the RPC.
func (s *Server) ListCampaigns(ctx context.Context, req *campaignv1.ListCampaignsRequest) (*campaignv1.ListCampaignsResponse, error) {
	cs, next, err := s.svc.List(ctx, req.GetDealer(), stateOf(req.GetState()),
		campaign.Page{After: req.GetPageToken(), Size: int(req.GetPageSize())})
	if err != nil {
		return nil, err
	}
	out := &campaignv1.ListCampaignsResponse{NextPageToken: next}
	for i := range cs {
		out.Campaigns = append(out.Campaigns, CampaignToProto(&cs[i], nil))
	}
	return out, nil
}

// UpdateCampaign implements the RPC; the mask's paths are the Campaign
// message's field names.
func (s *Server) UpdateCampaign(ctx context.Context, req *campaignv1.UpdateCampaignRequest) (*campaignv1.Campaign, error) {
	edit := campaignFromProto(req.GetCampaign())
	mask := req.GetUpdateMask().GetPaths()
	c, err := s.svc.Update(ctx, req.GetDealer(), req.GetCampaign().GetId(), edit, mask)
	if err != nil {
		return nil, err
	}
	return CampaignToProto(c, nil), nil
}

// PreviewCampaign implements the RPC.
func (s *Server) PreviewCampaign(ctx context.Context, req *campaignv1.PreviewCampaignRequest) (*campaignv1.CampaignPreview, error) {
	p, err := s.svc.Preview(ctx, req.GetDealer(), req.GetCampaign(), int(req.GetSampleSize()))
	if err != nil {
		return nil, err
	}
	out := &campaignv1.CampaignPreview{Count: p.Count, CountByDealer: p.CountByDealer}
	for _, r := range p.Sample {
		out.Sample = append(out.Sample, &campaignv1.PreviewRecipient{Customer: r.Customer, Dealer: r.Dealer, Name: r.Name,
			Mobile: r.Mobile, Channel: channelToProto(r.Channel), Text: r.Text})
	}
	return out, nil
}

// ScheduleCampaign implements the RPC.
func (s *Server) ScheduleCampaign(ctx context.Context, req *campaignv1.ScheduleCampaignRequest) (*campaignv1.Campaign, error) {
	c, err := s.svc.Schedule(ctx, req.GetDealer(), req.GetCampaign(), pbconv.Time(req.GetStartTime()))
	if err != nil {
		return nil, err
	}
	return CampaignToProto(c, nil), nil
}

// CancelCampaign implements the RPC.
func (s *Server) CancelCampaign(ctx context.Context, req *campaignv1.CancelCampaignRequest) (*campaignv1.Campaign, error) {
	c, err := s.svc.Cancel(ctx, req.GetDealer(), req.GetCampaign(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return CampaignToProto(c, nil), nil
}

// ListCampaignRecipients implements the RPC.
func (s *Server) ListCampaignRecipients(ctx context.Context, req *campaignv1.ListCampaignRecipientsRequest) (*campaignv1.ListCampaignRecipientsResponse, error) {
	rs, next, err := s.svc.Recipients(ctx, req.GetDealer(), req.GetCampaign(), recipientStateOf(req.GetState()), false, req.GetReturnedOnly(),
		campaign.Page{After: req.GetPageToken(), Size: int(req.GetPageSize())})
	if err != nil {
		return nil, err
	}
	out := &campaignv1.ListCampaignRecipientsResponse{NextPageToken: next}
	for _, r := range rs {
		out.Recipients = append(out.Recipients, recipientToProto(r))
	}
	return out, nil
}

// ListCampaignMessages implements the RPC.
func (s *Server) ListCampaignMessages(ctx context.Context, req *campaignv1.ListCampaignMessagesRequest) (*campaignv1.ListCampaignMessagesResponse, error) {
	rs, next, err := s.svc.Recipients(ctx, req.GetDealer(), req.GetCampaign(), "", true, false,
		campaign.Page{After: req.GetPageToken(), Size: int(req.GetPageSize())})
	if err != nil {
		return nil, err
	}
	out := &campaignv1.ListCampaignMessagesResponse{NextPageToken: next}
	for _, r := range rs {
		out.Messages = append(out.Messages, messageToProto(r))
	}
	return out, nil
}

// CreateOptOut implements the RPC.
func (s *Server) CreateOptOut(ctx context.Context, req *campaignv1.CreateOptOutRequest) (*campaignv1.OptOut, error) {
	o := req.GetOptOut()
	if err := s.svc.OptOut(ctx, req.GetDealer(), o.GetCustomer(), channelOf(o.GetChannel()), o.GetSource()); err != nil {
		return nil, err
	}
	return &campaignv1.OptOut{Customer: o.GetCustomer(), Channel: o.GetChannel(), Source: o.GetSource()}, nil
}

// GetMessagingPolicy implements the RPC.
func (s *Server) GetMessagingPolicy(ctx context.Context, _ *campaignv1.GetMessagingPolicyRequest) (*campaignv1.MessagingPolicy, error) {
	p, err := s.svc.Policy(ctx)
	if err != nil {
		return nil, err
	}
	return policyToProto(p), nil
}

var policyFields = []string{"quiet_start", "quiet_end", "frequency_cap", "frequency_window", "cap_exempt_kinds",
	"greeting_lead", "greeting_hour", "greeting_zone"}

// UpdateMessagingPolicy implements the RPC.
func (s *Server) UpdateMessagingPolicy(ctx context.Context, req *campaignv1.UpdateMessagingPolicyRequest) (*campaignv1.MessagingPolicy, error) {
	mask := req.GetUpdateMask().GetPaths()
	for _, f := range mask {
		if !slices.Contains(policyFields, f) {
			return nil, apperr.Invalid("update_mask", "cannot update field "+f).ZhReason("不能修改字段 " + f)
		}
	}
	if len(mask) == 0 {
		mask = policyFields
	}
	in := req.GetPolicy()
	p, err := s.svc.SetPolicy(ctx, func(p *campaign.Policy) {
		for _, f := range mask {
			switch f {
			case "quiet_start":
				p.QuietStart = in.GetQuietStart()
			case "quiet_end":
				p.QuietEnd = in.GetQuietEnd()
			case "frequency_cap":
				p.FrequencyCap = int(in.GetFrequencyCap())
			case "frequency_window":
				p.FrequencyWindow = durationOr(in.GetFrequencyWindow(), p.FrequencyWindow)
			case "greeting_lead":
				p.GreetingLead = durationOr(in.GetGreetingLead(), p.GreetingLead)
			case "greeting_hour":
				p.GreetingHour = int(in.GetGreetingHour())
			case "greeting_zone":
				p.GreetingZone = in.GetGreetingZone()
			case "cap_exempt_kinds":
				p.CapExemptKinds = nil
				for _, k := range in.GetCapExemptKinds() {
					p.CapExemptKinds = append(p.CapExemptKinds, kindOf(k))
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return policyToProto(p), nil
}

// WorkflowServer implements the internal campaignv1.CampaignWorkflowServiceServer:
// only the platform's service identity (the worker) may call it.
type WorkflowServer struct {
	campaignv1.UnimplementedCampaignWorkflowServiceServer
	svc *campaign.Service
}

// NewWorkflowServer returns the workflow's API.
func NewWorkflowServer(svc *campaign.Service) *WorkflowServer { return &WorkflowServer{svc: svc} }

// StartCampaign implements the RPC.
func (s *WorkflowServer) StartCampaign(ctx context.Context, req *campaignv1.StartCampaignRequest) (*campaignv1.StartCampaignResponse, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	c, n, done, err := s.svc.StartPage(ctx, req.GetDealer(), req.GetCampaign())
	if err != nil && c == nil {
		return nil, err
	}
	return &campaignv1.StartCampaignResponse{Campaign: CampaignToProto(c, nil), Targeted: n, AudienceComplete: done}, nil
}

// DispatchBatch implements the RPC.
func (s *WorkflowServer) DispatchBatch(ctx context.Context, req *campaignv1.DispatchBatchRequest) (*campaignv1.DispatchBatchResponse, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	b, err := s.svc.Dispatch(ctx, req.GetDealer(), req.GetCampaign(), int(req.GetLimit()))
	if err != nil {
		return nil, err
	}
	return &campaignv1.DispatchBatchResponse{Sent: int32(b.Sent), Suppressed: int32(b.Suppressed), Failed: int32(b.Failed),
		Remaining: b.Remaining, NextDueTime: pbconv.Timestamp(b.NextDue), Cancelled: b.Cancelled}, nil
}

// ReconcileReturns implements the RPC.
func (s *WorkflowServer) ReconcileReturns(ctx context.Context, req *campaignv1.ReconcileReturnsRequest) (*campaignv1.ReconcileReturnsResponse, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	n, end, err := s.svc.Reconcile(ctx, req.GetDealer(), req.GetCampaign())
	if err != nil {
		return nil, err
	}
	return &campaignv1.ReconcileReturnsResponse{Returned: n, WindowEnd: pbconv.Timestamp(end)}, nil
}

// CompleteCampaign implements the RPC.
func (s *WorkflowServer) CompleteCampaign(ctx context.Context, req *campaignv1.CompleteCampaignRequest) (*campaignv1.Campaign, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	c, err := s.svc.Complete(ctx, req.GetDealer(), req.GetCampaign())
	if err != nil {
		return nil, err
	}
	return CampaignToProto(c, nil), nil
}

// RemindVehicle implements the RPC.
func (s *WorkflowServer) RemindVehicle(ctx context.Context, req *campaignv1.RemindVehicleRequest) (*campaignv1.RemindVehicleResponse, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	r, err := s.svc.RemindVehicle(ctx, req.GetVin(), req.GetDealer(), req.GetDueDate(), req.GetStep())
	if err != nil {
		return nil, err
	}
	return &campaignv1.RemindVehicleResponse{Campaign: r.Campaign, Recipients: int32(r.Recipients), NextAttemptTime: pbconv.Timestamp(r.NextAttempt)}, nil
}
