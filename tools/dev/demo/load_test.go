package demo

import (
	"context"
	"errors"
	"strings"
	"testing"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakeNetwork answers like the customer service: AlreadyExists for a code
// it has seen. Methods Load does not call panic through the nil interface.
type fakeNetwork struct {
	customerv1.DealerNetworkServiceClient
	regions, dealers map[string]bool
	calendars        map[string]*customerv1.BusinessCalendar
	failDealer       string
}

func newFakeNetwork() *fakeNetwork {
	return &fakeNetwork{regions: map[string]bool{}, dealers: map[string]bool{}, calendars: map[string]*customerv1.BusinessCalendar{}}
}

func (f *fakeNetwork) CreateRegion(_ context.Context, req *customerv1.CreateRegionRequest, _ ...grpc.CallOption) (*customerv1.Region, error) {
	if f.regions[req.GetRegion().GetCode()] {
		return nil, status.Error(codes.AlreadyExists, "region exists")
	}
	f.regions[req.GetRegion().GetCode()] = true
	return req.GetRegion(), nil
}

func (f *fakeNetwork) CreateDealer(_ context.Context, req *customerv1.CreateDealerRequest, _ ...grpc.CallOption) (*customerv1.Dealer, error) {
	d := req.GetDealer()
	switch {
	case d.GetCode() == f.failDealer:
		return nil, status.Error(codes.PermissionDenied, "hq_admin only")
	case !f.regions[d.GetRegion()]:
		return nil, status.Error(codes.FailedPrecondition, "unknown region")
	case f.dealers[d.GetCode()]:
		return nil, status.Error(codes.AlreadyExists, "dealer exists")
	}
	f.dealers[d.GetCode()] = true
	return d, nil
}

func (f *fakeNetwork) UpdateBusinessCalendar(_ context.Context, req *customerv1.UpdateBusinessCalendarRequest, _ ...grpc.CallOption) (*customerv1.BusinessCalendar, error) {
	f.calendars[req.GetCalendar().GetDealer()] = req.GetCalendar()
	return req.GetCalendar(), nil
}

func TestLoadIsIdempotent(t *testing.T) {
	n := Network()
	f := newFakeNetwork()
	first, err := Load(t.Context(), f, n)
	if err != nil {
		t.Fatal(err)
	}
	want := Loaded{Regions: len(n.Regions), Dealers: len(n.Dealers), Calendars: len(n.Dealers)}
	if first != want {
		t.Errorf("first load %+v, want %+v", first, want)
	}
	second, err := Load(t.Context(), f, n)
	if err != nil {
		t.Fatalf("second load: %v", err)
	}
	if want := (Loaded{Calendars: len(n.Dealers)}); second != want {
		t.Errorf("second load %+v, want %+v", second, want)
	}
	if got := f.calendars["HL001"].GetWeekly(); len(got) != 7 || got[6].GetIntervals()[0].GetEnd() != "24:00" {
		t.Errorf("hotline calendar %v, want seven 00:00-24:00 days", got)
	}
}

func TestLoadStopsAtOtherErrors(t *testing.T) {
	f := newFakeNetwork()
	f.failDealer = "BJ001"
	_, err := Load(t.Context(), f, Network())
	if status.Code(errors.Unwrap(err)) != codes.PermissionDenied || !strings.Contains(err.Error(), "BJ001") {
		t.Errorf("err = %v, want BJ001's PermissionDenied", err)
	}
}
