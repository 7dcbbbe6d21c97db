package grpc

import (
	"context"

	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	"github.com/dealercare/dealercare/pkg/pbconv"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/complaint/postgres"
)

// ChangeServer implements the internal
// complaintv1.ComplaintChangeServiceServer, the feed of complaint changes
// the evaluation service reads (service identity only).
type ChangeServer struct {
	complaintv1.UnimplementedComplaintChangeServiceServer
	store *postgres.Store
}

// NewChangeServer returns the change feed's API.
func NewChangeServer(store *postgres.Store) *ChangeServer { return &ChangeServer{store: store} }

// ListComplaintChanges implements the RPC.
func (s *ChangeServer) ListComplaintChanges(ctx context.Context, req *complaintv1.ListComplaintChangesRequest) (*complaintv1.ListComplaintChangesResponse, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	after, err := pg.ParseChangeCursor("after", req.GetAfter())
	if err != nil {
		return nil, err
	}
	changes, more, err := s.store.ListComplaintChanges(ctx, after, int(req.GetLimit()))
	if err != nil {
		return nil, err
	}
	out := &complaintv1.ListComplaintChangesResponse{NextCursor: req.GetAfter(), More: more}
	for _, c := range changes {
		out.Changes = append(out.Changes, &complaintv1.ComplaintChange{Dealer: c.Dealer, Complaint: c.Complaint, Severity: c.Severity,
			CreateTime: pbconv.Timestamp(c.CreateTime), ResponseMet: c.ResponseMet, ResolutionMet: c.ResolutionMet,
			CloseTime: pbconv.Timestamp(c.CloseTime), ReopenCount: int32(c.ReopenCount), Seq: c.Cursor.Seq})
		out.NextCursor = c.Cursor.String()
	}
	return out, nil
}
