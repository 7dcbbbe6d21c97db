package campaign

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// service plays the campaign service's workflow API for one campaign whose
// audience resolves at once and is sent in one batch, and counts the
// calls. Its return window ends at windowEnd.
type service struct {
	campaignv1.CampaignWorkflowServiceClient
	windowEnd time.Time
	mu        sync.Mutex
	calls     map[string]int
}

func (s *service) note(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[name]++
}

func (s *service) count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[name]
}

func (s *service) StartCampaign(context.Context, *campaignv1.StartCampaignRequest, ...grpc.CallOption) (*campaignv1.StartCampaignResponse, error) {
	s.note("start")
	return &campaignv1.StartCampaignResponse{Campaign: &campaignv1.Campaign{}, Targeted: 2, AudienceComplete: true}, nil
}

func (s *service) DispatchBatch(context.Context, *campaignv1.DispatchBatchRequest, ...grpc.CallOption) (*campaignv1.DispatchBatchResponse, error) {
	s.note("dispatch")
	return &campaignv1.DispatchBatchResponse{}, nil
}

func (s *service) CompleteCampaign(context.Context, *campaignv1.CompleteCampaignRequest, ...grpc.CallOption) (*campaignv1.Campaign, error) {
	s.note("complete")
	return &campaignv1.Campaign{}, nil
}

func (s *service) ReconcileReturns(context.Context, *campaignv1.ReconcileReturnsRequest, ...grpc.CallOption) (*campaignv1.ReconcileReturnsResponse, error) {
	s.note("reconcile")
	return &campaignv1.ReconcileReturnsResponse{WindowEnd: timestamppb.New(s.windowEnd)}, nil
}

func (s *service) ChaseRecallVins(context.Context, *campaignv1.ChaseRecallVinsRequest, ...grpc.CallOption) (*campaignv1.ChaseRecallVinsResponse, error) {
	s.note("chase")
	return &campaignv1.ChaseRecallVinsResponse{Open: 1}, nil
}

// cancelled is the relay's signal of the campaign's cancellation.
func cancelled(ref Ref) outbox.Envelope {
	p, _ := json.Marshal(events.CampaignChanged{Owner: ref.Owner, Campaign: ref.Campaign, State: "cancelled"})
	return outbox.Envelope{EventID: "ev-cancel-" + ref.Campaign, Kind: events.KindCampaignCancelled, DealerID: events.CampaignOutboxDealer,
		OccurredAt: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), Payload: p}
}
