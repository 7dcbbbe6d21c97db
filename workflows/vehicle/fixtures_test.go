package vehicle

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	"google.golang.org/grpc"
)

const testVIN = "LSVAU2180N2183294"

// envelope wraps a payload as the relay does; the event is recorded a
// minute after its business time.
func envelope(id, kind, dealer string, at time.Time, payload any) outbox.Envelope {
	b, err := json.Marshal(payload)
	if err != nil {
		panic(err)
	}
	return outbox.Envelope{EventID: id, Kind: kind, DealerID: dealer, OccurredAt: at.Add(time.Minute), Payload: b}
}

func roClosedEvent(id, dealer, roID string, at time.Time, km int) outbox.Envelope {
	return envelope(id, events.KindRepairOrderClosed, dealer, at, events.RepairOrderClosed{
		Dealer: dealer, RepairOrderID: roID, Number: "RO" + roID, VIN: testVIN, Type: "maintenance",
		OpenTime: at.Add(-3 * time.Hour), CloseTime: at, MileageKM: km,
	})
}

func deliveredEvent(id, dealer, saleID string, at time.Time, km int) outbox.Envelope {
	return envelope(id, events.KindVehicleDelivered, dealer, at, events.VehicleDelivered{
		Dealer: dealer, SaleID: saleID, VIN: testVIN, DeliveredTime: at, MileageKM: km,
	})
}

// fakeVehicleState is the customer service's VehicleStateService: it
// records requests and fails the first calls with errs.
type fakeVehicleState struct {
	mu   sync.Mutex
	errs []error
	reqs []*customerv1.RecordServiceStateRequest
	// calls counts attempts, failed ones included; vins has their VINs.
	calls int
	vins  []string
}

func (f *fakeVehicleState) RecordServiceState(_ context.Context, req *customerv1.RecordServiceStateRequest, _ ...grpc.CallOption) (*customerv1.RecordServiceStateResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.vins = append(f.vins, req.GetVin())
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return nil, err
	}
	f.reqs = append(f.reqs, req)
	return &customerv1.RecordServiceStateResponse{UpdatedArchives: 2}, nil
}

func (f *fakeVehicleState) recorded() []*customerv1.RecordServiceStateRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*customerv1.RecordServiceStateRequest(nil), f.reqs...)
}

func (f *fakeVehicleState) attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// attemptsFor counts the calls, failed ones included, for vin.
func (f *fakeVehicleState) attemptsFor(vin string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, v := range f.vins {
		if v == vin {
			n++
		}
	}
	return n
}

// lastRecordedFor is the last successful request for vin, or nil.
func (f *fakeVehicleState) lastRecordedFor(vin string) *customerv1.RecordServiceStateRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.reqs) - 1; i >= 0; i-- {
		if f.reqs[i].GetVin() == vin {
			return f.reqs[i]
		}
	}
	return nil
}
