// Package customer is the campaign service's adapter to the customer
// service: the dealer network (which dealers an HQ audience spans) and the
// SegmentService (audiences, contacts at send time, returns). It calls
// with the service's own token: the answers carry personal data that the
// campaign service uses in memory and never stores.
package customer

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/pbconv"
	"github.com/dealercare/dealercare/services/campaign/campaign"
	campaigngrpc "github.com/dealercare/dealercare/services/campaign/grpc"
)

// Directory implements campaign.Directory over the customer service.
type Directory struct {
	Network  customerv1.DealerNetworkServiceClient
	Segments customerv1.SegmentServiceClient
	// TokenFile holds the service's token (SERVICE_TOKEN_FILE), re-read
	// per call so rotation needs no restart.
	TokenFile string
}

var _ campaign.Directory = (*Directory)(nil)

func (d *Directory) ctx(ctx context.Context) (context.Context, error) {
	raw, err := os.ReadFile(d.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("read SERVICE_TOKEN_FILE: %w", err)
	}
	return auth.WithToken(ctx, strings.TrimSpace(string(raw))), nil
}

// Dealers lists the dealers an HQ audience spans: the named ones and those
// of the named regions, or every dealer when both are empty.
func (d *Directory) Dealers(ctx context.Context, dealers, regions []string) ([]string, error) {
	if len(regions) == 0 && len(dealers) > 0 {
		return slices.Clone(dealers), nil
	}
	regionOf, err := d.Regions(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for code, region := range regionOf {
		if len(regions) == 0 || slices.Contains(regions, region) || slices.Contains(dealers, code) {
			out = append(out, code)
		}
	}
	slices.Sort(out)
	return out, nil
}

func contactOf(m *customerv1.SegmentMember) campaign.Contact {
	ct := campaign.Contact{
		Customer: m.GetCustomer(), Dealer: m.GetDealer(), DealerName: m.GetDealerName(), TimeZone: m.GetTimeZone(),
		Name: m.GetName(), Mobile: m.GetMobile(), Email: m.GetEmail(), VIN: m.GetVin(), Plate: m.GetPlate(), Model: m.GetModel(),
		DueDate: m.GetNextServiceDueDate(), LastVisit: pbconv.Time(m.GetLastVisitTime()), Found: true, Consents: map[string]bool{},
	}
	for _, c := range m.GetConsents() {
		ct.Consents[pbconv.EnumName(c.GetChannel().String(), "CHANNEL_")] = c.GetGranted()
	}
	return ct
}

// Members pages the audience.
func (d *Directory) Members(ctx context.Context, dealers []string, a campaign.Audience, asOf time.Time, after string, limit int) ([]campaign.Contact, string, error) {
	if len(dealers) == 0 {
		return nil, "", nil
	}
	ctx, err := d.ctx(ctx)
	if err != nil {
		return nil, "", err
	}
	resp, err := d.Segments.ListSegmentMembers(ctx, &customerv1.ListSegmentMembersRequest{
		Dealers: dealers, Segment: campaigngrpc.SegmentToProto(a), AsOf: pbconv.Timestamp(asOf),
		PageSize: int32(limit), PageToken: after,
	})
	if err != nil {
		return nil, "", fmt.Errorf("list segment members: %w", err)
	}
	out := make([]campaign.Contact, 0, len(resp.GetMembers()))
	for _, m := range resp.GetMembers() {
		out = append(out, contactOf(m))
	}
	return out, resp.GetNextPageToken(), nil
}

// Contacts loads one dealer's customers as they are now.
func (d *Directory) Contacts(ctx context.Context, dealer string, customers []string) ([]campaign.Contact, error) {
	ctx, err := d.ctx(ctx)
	if err != nil {
		return nil, err
	}
	var out []campaign.Contact
	for chunk := range slices.Chunk(customers, 1000) {
		resp, err := d.Segments.ListSegmentMembers(ctx, &customerv1.ListSegmentMembersRequest{
			Dealers: []string{dealer}, Customers: chunk, PageSize: int32(len(chunk)),
		})
		if err != nil {
			return nil, fmt.Errorf("load contacts: %w", err)
		}
		for _, m := range resp.GetMembers() {
			out = append(out, contactOf(m))
		}
	}
	return out, nil
}

// Visits lists repair orders of the VINs at any dealer.
func (d *Directory) Visits(ctx context.Context, vins []string, after, before time.Time) ([]campaign.Visit, error) {
	ctx, err := d.ctx(ctx)
	if err != nil {
		return nil, err
	}
	var out []campaign.Visit
	for chunk := range slices.Chunk(vins, 5000) {
		resp, err := d.Segments.ListVehicleVisits(ctx, &customerv1.ListVehicleVisitsRequest{
			Vins: chunk, OpenedAfter: pbconv.Timestamp(after), OpenedBefore: pbconv.Timestamp(before),
		})
		if err != nil {
			return nil, fmt.Errorf("list vehicle visits: %w", err)
		}
		for _, v := range resp.GetVisits() {
			out = append(out, campaign.Visit{VIN: v.GetVin(), Dealer: v.GetDealer(), RepairOrder: v.GetRepairOrder(),
				Type: pbconv.EnumName(v.GetType().String(), "REPAIR_ORDER_TYPE_"), CampaignCode: v.GetCampaignCode(),
				OpenTime: pbconv.Time(v.GetOpenTime()), CloseTime: pbconv.Time(v.GetCloseTime())})
		}
	}
	return out, nil
}

// Regions maps every dealer to its region.
func (d *Directory) Regions(ctx context.Context) (map[string]string, error) {
	ctx, err := d.ctx(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	token := ""
	for {
		resp, err := d.Network.ListDealers(ctx, &customerv1.ListDealersRequest{PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list dealers: %w", err)
		}
		for _, dl := range resp.GetDealers() {
			out[dl.GetCode()] = dl.GetRegion()
		}
		if token = resp.GetNextPageToken(); token == "" {
			return out, nil
		}
	}
}
