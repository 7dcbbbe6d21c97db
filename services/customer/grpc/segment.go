package grpc

import (
	"context"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/pbconv"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/customer/archive"
	"github.com/dealercare/dealercare/services/customer/postgres"
)

// SegmentServer implements the internal customerv1.SegmentServiceServer:
// the campaign service's audience and return questions. Its answers carry
// personal data, so only the platform's service identity may call it.
type SegmentServer struct {
	customerv1.UnimplementedSegmentServiceServer
	store *postgres.SegmentStore
}

// NewSegmentServer returns the server.
func NewSegmentServer(store *postgres.SegmentStore) *SegmentServer {
	return &SegmentServer{store: store}
}

// ListSegmentMembers implements the RPC.
func (s *SegmentServer) ListSegmentMembers(ctx context.Context, req *customerv1.ListSegmentMembersRequest) (*customerv1.ListSegmentMembersResponse, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	g := req.GetSegment()
	seg := archive.Segment{
		Dealers: req.GetDealers(), Customers: req.GetCustomers(), Models: g.GetModels(),
		ModelYearMin: int(g.GetModelYearMin()), ModelYearMax: int(g.GetModelYearMax()),
		PurchaseDateFrom: g.GetPurchaseDateFrom(), PurchaseDateTo: g.GetPurchaseDateTo(),
		LastVisitBefore: pbconv.Time(g.GetLastVisitBefore()), LastVisitAfter: pbconv.Time(g.GetLastVisitAfter()),
		MileageMinKM: int(g.GetMileageMinKm()), MileageMaxKM: int(g.GetMileageMaxKm()),
		Tags: g.GetTags(), ChurnRisk: g.GetChurnRisk(), VINs: g.GetVins(), Birthdays: g.GetBirthdays(), AsOf: pbconv.Time(req.GetAsOf()),
	}
	for _, t := range g.GetTiers() {
		seg.Tiers = append(seg.Tiers, pbconv.EnumName(t.String(), "CUSTOMER_TIER_"))
	}
	if err := seg.Validate(); err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	if size <= 0 {
		size = 500
	}
	members, next, err := s.store.Members(ctx, seg, req.GetPageToken(), size)
	if err != nil {
		return nil, err
	}
	out := &customerv1.ListSegmentMembersResponse{NextPageToken: next, Members: make([]*customerv1.SegmentMember, 0, len(members))}
	for _, m := range members {
		pm := &customerv1.SegmentMember{
			Customer: m.Customer, Dealer: m.Dealer, DealerName: m.DealerName, TimeZone: m.TimeZone, Name: m.Name,
			Mobile: m.Mobile, Email: m.Email, Birthday: m.Birthday,
			Tier: customerv1.CustomerTier(pbconv.EnumValue(m.Tier, "CUSTOMER_TIER_", customerv1.CustomerTier_value)),
			Vin:  m.VIN, Plate: m.Plate, Model: m.Model, NextServiceDueDate: m.NextDueDate, LastVisitTime: pbconv.Timestamp(m.LastVisitTime),
		}
		for ch, granted := range m.Consents {
			pm.Consents = append(pm.Consents, &customerv1.Consent{
				Channel: customerv1.Channel(pbconv.EnumValue(ch, "CHANNEL_", customerv1.Channel_value)), Granted: granted,
			})
		}
		out.Members = append(out.Members, pm)
	}
	return out, nil
}

// ListVehicleVisits implements the RPC.
func (s *SegmentServer) ListVehicleVisits(ctx context.Context, req *customerv1.ListVehicleVisitsRequest) (*customerv1.ListVehicleVisitsResponse, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	visits, err := s.store.Visits(ctx, req.GetVins(), pbconv.Time(req.GetOpenedAfter()), pbconv.Time(req.GetOpenedBefore()))
	if err != nil {
		return nil, err
	}
	out := &customerv1.ListVehicleVisitsResponse{Visits: make([]*customerv1.VehicleVisit, 0, len(visits))}
	for _, v := range visits {
		out.Visits = append(out.Visits, &customerv1.VehicleVisit{
			Vin: v.VIN, Dealer: v.Dealer, RepairOrder: v.RepairOrder, CampaignCode: v.CampaignCode,
			Type:     customerv1.RepairOrderType(pbconv.EnumValue(v.Type, "REPAIR_ORDER_TYPE_", customerv1.RepairOrderType_value)),
			OpenTime: pbconv.Timestamp(v.OpenTime), CloseTime: pbconv.Timestamp(v.CloseTime),
		})
	}
	return out, nil
}

// MarkChurnRisk implements the RPC.
func (s *SegmentServer) MarkChurnRisk(ctx context.Context, req *customerv1.MarkChurnRiskRequest) (*customerv1.MarkChurnRiskResponse, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	if req.GetAtRisk() && req.GetSince() == nil {
		return nil, apperr.Invalid("since", "is required when at_risk").ZhReason("标记流失风险时必填")
	}
	n, err := s.store.MarkChurnRisk(ctx, req.GetVin(), req.GetAtRisk(), pbconv.Time(req.GetSince()))
	if err != nil {
		return nil, err
	}
	return &customerv1.MarkChurnRiskResponse{UpdatedArchives: int32(n)}, nil
}
