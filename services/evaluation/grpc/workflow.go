package grpc

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	evaluationv1 "github.com/dealercare/dealercare/gen/go/dealercare/evaluation/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/dealerlist"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
	"github.com/dealercare/dealercare/services/evaluation/feeds"
	"github.com/dealercare/dealercare/services/evaluation/postgres"
)

// WorkflowServer implements the internal
// evaluationv1.EvaluationWorkflowServiceServer: only the platform's
// service identity (the worker's feed workflows) may call it, and every
// call is idempotent.
type WorkflowServer struct {
	evaluationv1.UnimplementedEvaluationWorkflowServiceServer
	store   *postgres.Store
	feeds   *feeds.Feeds
	network customerv1.DealerNetworkServiceClient
	// tokenFile holds the service's token for the dealer network.
	tokenFile string
	now       func() time.Time
}

// NewWorkflowServer returns the feed workflows' API.
func NewWorkflowServer(store *postgres.Store, f *feeds.Feeds, network customerv1.DealerNetworkServiceClient, tokenFile string, now func() time.Time) *WorkflowServer {
	return &WorkflowServer{store: store, feeds: f, network: network, tokenFile: tokenFile, now: now}
}

// SyncFeed implements the RPC.
func (s *WorkflowServer) SyncFeed(ctx context.Context, req *evaluationv1.SyncFeedRequest) (*evaluationv1.SyncFeedResponse, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	res, err := s.feeds.Sync(ctx, req.GetSource(), int(req.GetLimit()))
	if err != nil {
		return nil, err
	}
	return &evaluationv1.SyncFeedResponse{Applied: int32(res.Applied), More: res.More}, nil
}

// Rollup implements the RPC.
func (s *WorkflowServer) Rollup(ctx context.Context, req *evaluationv1.RollupRequest) (*evaluationv1.RollupResponse, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	limit := int(req.GetLimit())
	if limit == 0 {
		limit = 100
	}
	res, err := s.store.Rollup(ctx, limit)
	if err != nil {
		return nil, err
	}
	if !res.More {
		// Dealers without new facts whose week or month has just ended.
		if _, err := s.store.Publish(ctx); err != nil {
			return nil, err
		}
	}
	return &evaluationv1.RollupResponse{Dealers: int32(res.Dealers), Days: int32(res.Days), More: res.More}, nil
}

// SyncDealers implements the RPC.
func (s *WorkflowServer) SyncDealers(ctx context.Context, _ *evaluationv1.SyncDealersRequest) (*evaluationv1.SyncDealersResponse, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(s.tokenFile)
	if err != nil {
		return nil, fmt.Errorf("read SERVICE_TOKEN_FILE: %w", err)
	}
	list, err := dealerlist.Dealers(auth.WithToken(ctx, strings.TrimSpace(string(raw))), s.network)
	if err != nil {
		return nil, err
	}
	dealers := make([]evaluation.Dealer, 0, len(list))
	for _, d := range list {
		zone := d.GetTimeZone()
		if zone == "" {
			zone = tenancy.DefaultTimeZone
		}
		dealers = append(dealers, evaluation.Dealer{Code: d.GetCode(), Region: d.GetRegion(), TimeZone: zone, Name: d.GetName()})
	}
	if err := s.store.SyncDealers(ctx, dealers, s.now()); err != nil {
		return nil, err
	}
	return &evaluationv1.SyncDealersResponse{Dealers: int32(len(dealers))}, nil
}
