package grpc

import (
	"context"

	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	"github.com/dealercare/dealercare/pkg/pbconv"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/campaign/postgres"
)

// ChangeServer implements the internal
// campaignv1.CampaignChangeServiceServer, the feed of campaign targets
// the evaluation service reads (service identity only).
type ChangeServer struct {
	campaignv1.UnimplementedCampaignChangeServiceServer
	store *postgres.Store
}

// NewChangeServer returns the change feed's API.
func NewChangeServer(store *postgres.Store) *ChangeServer { return &ChangeServer{store: store} }

// ListCampaignTargetChanges implements the RPC.
func (s *ChangeServer) ListCampaignTargetChanges(ctx context.Context, req *campaignv1.ListCampaignTargetChangesRequest) (*campaignv1.ListCampaignTargetChangesResponse, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	after, err := pg.ParseChangeCursor("after", req.GetAfter())
	if err != nil {
		return nil, err
	}
	changes, more, err := s.store.ListTargetChanges(ctx, after, int(req.GetLimit()))
	if err != nil {
		return nil, err
	}
	out := &campaignv1.ListCampaignTargetChangesResponse{NextCursor: req.GetAfter(), More: more}
	for _, c := range changes {
		out.Changes = append(out.Changes, &campaignv1.CampaignTargetChange{Dealer: c.Dealer, Owner: c.Owner, Campaign: c.Campaign,
			Customer: c.Customer, Vin: c.VIN, Kind: c.Kind, Code: c.Code, WindowStart: pbconv.Timestamp(c.WindowStart),
			WindowEnd: pbconv.Timestamp(c.WindowEnd), Seq: c.Cursor.Seq})
		out.NextCursor = c.Cursor.String()
	}
	return out, nil
}
