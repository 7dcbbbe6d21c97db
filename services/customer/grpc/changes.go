package grpc

import (
	"context"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/pbconv"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/customer/postgres"
)

// ChangeServer implements the internal
// customerv1.ArchiveChangeServiceServer, the feed of repair orders,
// deliveries, archive entries and maintenance dues the evaluation service
// reads (service identity only). No personal data leaves through it.
type ChangeServer struct {
	customerv1.UnimplementedArchiveChangeServiceServer
	store *postgres.ChangeStore
}

// NewChangeServer returns the change feed's API.
func NewChangeServer(store *postgres.ChangeStore) *ChangeServer { return &ChangeServer{store: store} }

// ListArchiveChanges implements the RPC.
func (s *ChangeServer) ListArchiveChanges(ctx context.Context, req *customerv1.ListArchiveChangesRequest) (*customerv1.ListArchiveChangesResponse, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	after, err := pg.ParseChangeCursor("after", req.GetAfter())
	if err != nil {
		return nil, err
	}
	changes, more, err := s.store.ListChanges(ctx, after, int(req.GetLimit()))
	if err != nil {
		return nil, err
	}
	out := &customerv1.ListArchiveChangesResponse{NextCursor: req.GetAfter(), More: more}
	for _, c := range changes {
		ch := &customerv1.ArchiveChange{Dealer: c.Dealer, Seq: c.Cursor.Seq}
		switch c.Kind {
		case postgres.ChangeRepairOrder:
			ch.Change = &customerv1.ArchiveChange_RepairOrder{RepairOrder: &customerv1.RepairOrderChange{RepairOrder: c.ID, Vin: c.VIN,
				Type: c.Type, OpenTime: pbconv.Timestamp(c.OpenTime), CloseTime: pbconv.Timestamp(c.CloseTime),
				ByAppointment: c.ByAppointment, CampaignCode: c.CampaignCode}}
		case postgres.ChangeSale:
			ch.Change = &customerv1.ArchiveChange_Sale{Sale: &customerv1.SaleChange{Sale: c.ID, Vin: c.VIN, DeliveredTime: pbconv.Timestamp(c.Time)}}
		case postgres.ChangeCustomer:
			ch.Change = &customerv1.ArchiveChange_Customer{Customer: &customerv1.CustomerArchiveChange{Customer: c.ID,
				TriggerTime: pbconv.Timestamp(c.TriggerTime), EnteredTime: pbconv.Timestamp(c.Time), Valid: c.Valid}}
		case postgres.ChangeServiceDue:
			ch.Change = &customerv1.ArchiveChange_ServiceDue{ServiceDue: &customerv1.ServiceDueChange{Vin: c.VIN, DueTime: pbconv.Timestamp(c.Time)}}
		}
		out.Changes = append(out.Changes, ch)
		out.NextCursor = c.Cursor.String()
	}
	return out, nil
}
