// Package grpc is the customer service's gRPC port: it converts between
// protobuf messages and the domain, and nothing else. Errors pass through
// as application errors; pkg/grpcserver maps them to statuses.
package grpc

import (
	"context"
	"encoding/base64"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/calendar/calendarpb"
	"github.com/dealercare/dealercare/services/customer/network"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// NetworkServer implements customerv1.DealerNetworkServiceServer.
type NetworkServer struct {
	customerv1.UnimplementedDealerNetworkServiceServer
	svc *network.Service
}

// NewNetworkServer returns the gRPC server of the dealer network.
func NewNetworkServer(svc *network.Service) *NetworkServer { return &NetworkServer{svc: svc} }

// Page tokens are the last code of the previous page, opaque to callers.
func decodePageToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !network.IsCode(string(b)) {
		return "", apperr.Invalid("page_token", "is not a token returned by a previous call").ZhReason("不是上一次调用返回的分页令牌")
	}
	return string(b), nil
}

func encodePageToken(last string, n, size int) string {
	if n < size || last == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(last))
}

func effectiveSize(n int32) int {
	switch {
	case n <= 0:
		return network.DefaultPageSize
	case n > network.MaxPageSize:
		return network.MaxPageSize
	}
	return int(n)
}

func regionToProto(r *network.Region) *customerv1.Region {
	return &customerv1.Region{Code: r.Code, Name: r.Name, DealerCount: int32(r.DealerCount), CreateTime: timestamppb.New(r.CreateTime)}
}

func dealerToProto(d *network.Dealer) *customerv1.Dealer {
	return &customerv1.Dealer{
		Code: d.Code, Name: d.Name, Region: d.Region, TimeZone: d.TimeZone, City: d.City,
		CreateTime: timestamppb.New(d.CreateTime), UpdateTime: timestamppb.New(d.UpdateTime),
	}
}

func dealerFromProto(d *customerv1.Dealer) network.Dealer {
	return network.Dealer{Code: d.GetCode(), Name: d.GetName(), Region: d.GetRegion(), TimeZone: d.GetTimeZone(), City: d.GetCity()}
}

// ListRegions implements the RPC.
func (s *NetworkServer) ListRegions(ctx context.Context, req *customerv1.ListRegionsRequest) (*customerv1.ListRegionsResponse, error) {
	after, err := decodePageToken(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	size := effectiveSize(req.GetPageSize())
	regions, err := s.svc.ListRegions(ctx, network.Page{After: after, Size: size})
	if err != nil {
		return nil, err
	}
	resp := &customerv1.ListRegionsResponse{}
	for i := range regions {
		resp.Regions = append(resp.Regions, regionToProto(&regions[i]))
	}
	if n := len(regions); n > 0 {
		resp.NextPageToken = encodePageToken(regions[n-1].Code, n, size)
	}
	return resp, nil
}

// GetRegion implements the RPC.
func (s *NetworkServer) GetRegion(ctx context.Context, req *customerv1.GetRegionRequest) (*customerv1.Region, error) {
	r, err := s.svc.GetRegion(ctx, req.GetRegion())
	if err != nil {
		return nil, err
	}
	return regionToProto(r), nil
}

// CreateRegion implements the RPC.
func (s *NetworkServer) CreateRegion(ctx context.Context, req *customerv1.CreateRegionRequest) (*customerv1.Region, error) {
	r, err := s.svc.CreateRegion(ctx, network.Region{Code: req.GetRegion().GetCode(), Name: req.GetRegion().GetName()})
	if err != nil {
		return nil, err
	}
	return regionToProto(r), nil
}

// ListDealers implements the RPC.
func (s *NetworkServer) ListDealers(ctx context.Context, req *customerv1.ListDealersRequest) (*customerv1.ListDealersResponse, error) {
	after, err := decodePageToken(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	size := effectiveSize(req.GetPageSize())
	dealers, err := s.svc.ListDealers(ctx, req.GetRegion(), network.Page{After: after, Size: size})
	if err != nil {
		return nil, err
	}
	resp := &customerv1.ListDealersResponse{}
	for i := range dealers {
		resp.Dealers = append(resp.Dealers, dealerToProto(&dealers[i]))
	}
	if n := len(dealers); n > 0 {
		resp.NextPageToken = encodePageToken(dealers[n-1].Code, n, size)
	}
	return resp, nil
}

// GetDealer implements the RPC.
func (s *NetworkServer) GetDealer(ctx context.Context, req *customerv1.GetDealerRequest) (*customerv1.Dealer, error) {
	d, err := s.svc.GetDealer(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	return dealerToProto(d), nil
}

// CreateDealer implements the RPC.
func (s *NetworkServer) CreateDealer(ctx context.Context, req *customerv1.CreateDealerRequest) (*customerv1.Dealer, error) {
	d, err := s.svc.CreateDealer(ctx, dealerFromProto(req.GetDealer()))
	if err != nil {
		return nil, err
	}
	return dealerToProto(d), nil
}

// UpdateDealer implements the RPC.
func (s *NetworkServer) UpdateDealer(ctx context.Context, req *customerv1.UpdateDealerRequest) (*customerv1.Dealer, error) {
	d, err := s.svc.UpdateDealer(ctx, dealerFromProto(req.GetDealer()), req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	return dealerToProto(d), nil
}

// GetBusinessCalendar implements the RPC.
func (s *NetworkServer) GetBusinessCalendar(ctx context.Context, req *customerv1.GetBusinessCalendarRequest) (*customerv1.BusinessCalendar, error) {
	c, err := s.svc.GetCalendar(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	return CalendarToProto(c), nil
}

// UpdateBusinessCalendar implements the RPC.
func (s *NetworkServer) UpdateBusinessCalendar(ctx context.Context, req *customerv1.UpdateBusinessCalendarRequest) (*customerv1.BusinessCalendar, error) {
	spec, err := calendarpb.FromProto(req.GetCalendar())
	if err != nil {
		return nil, err
	}
	c, err := s.svc.PutCalendar(ctx, req.GetCalendar().GetDealer(), spec)
	if err != nil {
		return nil, err
	}
	return CalendarToProto(c), nil
}

// AddBusinessTime implements the RPC.
func (s *NetworkServer) AddBusinessTime(ctx context.Context, req *customerv1.AddBusinessTimeRequest) (*customerv1.AddBusinessTimeResponse, error) {
	end, open, err := s.svc.AddBusinessTime(ctx, req.GetDealer(), req.GetStartTime().AsTime(), req.GetDuration().AsDuration())
	if err != nil {
		return nil, err
	}
	return &customerv1.AddBusinessTimeResponse{EndTime: timestamppb.New(end), StartInBusinessHours: open}, nil
}

// CalendarToProto converts a stored calendar to the wire form.
func CalendarToProto(c *network.StoredCalendar) *customerv1.BusinessCalendar {
	out := calendarpb.ToProto(c.Dealer, c.Spec)
	out.UpdateTime = timestamppb.New(c.UpdateTime)
	return out
}
