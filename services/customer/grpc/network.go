// Package grpc is the customer service's gRPC port: it converts between
// protobuf messages and the domain, and nothing else. Errors pass through
// as application errors; pkg/grpcserver maps them to statuses.
package grpc

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/calendar"
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
	if err != nil {
		return "", apperr.Invalid("page_token", "is not a token returned by a previous call")
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
	spec, err := CalendarFromProto(req.GetCalendar())
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

// Weekdays: proto numbers ISO (Monday=1 .. Sunday=7), Go numbers Sunday=0.
func weekdayFromProto(d customerv1.DayOfWeek) time.Weekday {
	return time.Weekday(int(d) % 7)
}

func weekdayToProto(wd time.Weekday) customerv1.DayOfWeek {
	if wd == time.Sunday {
		return customerv1.DayOfWeek_DAY_OF_WEEK_SUNDAY
	}
	return customerv1.DayOfWeek(wd)
}

// CalendarFromProto converts and validates the wire form; errors name the
// field in the request's path syntax.
func CalendarFromProto(c *customerv1.BusinessCalendar) (calendar.Spec, error) {
	spec := calendar.Spec{TimeZone: c.GetTimeZone(), Weekly: map[time.Weekday][]calendar.Interval{}}
	for i, oh := range c.GetWeekly() {
		wd := weekdayFromProto(oh.GetDay())
		if _, dup := spec.Weekly[wd]; dup {
			return spec, apperr.Invalid(fmt.Sprintf("calendar.weekly[%d].day", i), "weekday listed twice")
		}
		ivs := []calendar.Interval{}
		for j, iv := range oh.GetIntervals() {
			parsed, err := calendar.ParseInterval(iv.GetStart() + "-" + iv.GetEnd())
			if err != nil {
				return spec, apperr.Invalid(fmt.Sprintf("calendar.weekly[%d].intervals[%d]", i, j), err.Error())
			}
			ivs = append(ivs, parsed)
		}
		spec.Weekly[wd] = ivs
	}
	for i, h := range c.GetHolidays() {
		d, err := calendar.ParseDate(h)
		if err != nil {
			return spec, apperr.Invalid(fmt.Sprintf("calendar.holidays[%d]", i), err.Error())
		}
		spec.Holidays = append(spec.Holidays, d)
	}
	for i, a := range c.GetAdjustedWorkingDays() {
		d, err := calendar.ParseDate(a.GetDate())
		if err != nil {
			return spec, apperr.Invalid(fmt.Sprintf("calendar.adjusted_working_days[%d].date", i), err.Error())
		}
		spec.WorkingDays = append(spec.WorkingDays, calendar.AdjustedDay{Date: d, HoursOf: weekdayFromProto(a.GetHoursOf())})
	}
	return spec, nil
}

// CalendarToProto converts a stored calendar to the wire form, weekdays in
// ISO order.
func CalendarToProto(c *network.StoredCalendar) *customerv1.BusinessCalendar {
	out := &customerv1.BusinessCalendar{Dealer: c.Dealer, TimeZone: c.Spec.TimeZone, UpdateTime: timestamppb.New(c.UpdateTime)}
	for _, wd := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		ivs, ok := c.Spec.Weekly[wd]
		if !ok || len(ivs) == 0 {
			continue
		}
		oh := &customerv1.OpeningHours{Day: weekdayToProto(wd)}
		for _, iv := range ivs {
			start, end, _ := strings.Cut(iv.String(), "-") // "HH:MM-HH:MM"
			oh.Intervals = append(oh.Intervals, &customerv1.TimeInterval{Start: start, End: end})
		}
		out.Weekly = append(out.Weekly, oh)
	}
	for _, h := range c.Spec.Holidays {
		out.Holidays = append(out.Holidays, h.String())
	}
	for _, a := range c.Spec.WorkingDays {
		out.AdjustedWorkingDays = append(out.AdjustedWorkingDays, &customerv1.AdjustedWorkingDay{Date: a.Date.String(), HoursOf: weekdayToProto(a.HoursOf)})
	}
	return out
}
