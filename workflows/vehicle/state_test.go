package vehicle

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
)

func TestStateApply(t *testing.T) {
	jan := day("2026-01-10")
	mar := day("2026-03-01")
	now := day("2026-06-01")
	tests := []struct {
		name string
		in   []outbox.Envelope
		// wantIgnored is a substring of the reason the last event was
		// ignored; empty means it was applied.
		wantIgnored string
		check       func(t *testing.T, s State)
	}{
		{
			name: "delivery starts the cycle",
			in:   []outbox.Envelope{deliveredEvent("e1", "D001", "S1", jan, 12)},
			check: func(t *testing.T, s State) {
				if len(s.Deliveries) != 1 || s.Deliveries[0].SaleID != "S1" || s.Deliveries[0].MileageKM != 12 {
					t.Errorf("deliveries = %+v", s.Deliveries)
				}
				if s.LastVisitDealer != "D001" || !s.LastVisitTime.Equal(jan) {
					t.Errorf("last visit = %s at %s", s.LastVisitTime, s.LastVisitDealer)
				}
				if s.NextDue == nil || s.NextDue.Date != date("2026-05-15") || s.NextDue.MileageKM != 5012 {
					t.Errorf("next due = %+v", s.NextDue)
				}
			},
		},
		{
			name: "equal time is accepted",
			in: []outbox.Envelope{
				roClosedEvent("e1", "D001", "R1", mar, 2000),
				roClosedEvent("e2", "D002", "R2", mar, 2000),
			},
			check: func(t *testing.T, s State) {
				if s.LastVisitDealer != "D002" || s.Applied != 2 {
					t.Errorf("state = %+v", s)
				}
			},
		},
		{
			name: "older event ignored before VersionKeepOlderVisits",
			in: []outbox.Envelope{
				roClosedEvent("e1", "D001", "R1", mar, 2000),
				deliveredEvent("e2", "D001", "S1", jan, 0),
			},
			wantIgnored: "older than the last visit",
			check: func(t *testing.T, s State) {
				if len(s.Deliveries) != 0 || len(s.Visits) != 1 || !s.LastVisitTime.Equal(mar) || s.Ignored != 1 {
					t.Errorf("state = %+v", s)
				}
			},
		},
		{
			name: "re-closed repair order replaces its visit",
			in: []outbox.Envelope{
				roClosedEvent("e1", "D001", "R1", jan, 2000),
				roClosedEvent("e2", "D001", "R1", mar, 2010),
			},
			check: func(t *testing.T, s State) {
				if len(s.Visits) != 1 || s.Visits[0].MileageKM != 2010 || s.Applied != 2 {
					t.Errorf("visits = %+v", s.Visits)
				}
			},
		},
		{
			name: "same repair order id at another dealer is another visit",
			in: []outbox.Envelope{
				roClosedEvent("e1", "D001", "R1", jan, 2000),
				roClosedEvent("e2", "D002", "R1", mar, 4000),
			},
			check: func(t *testing.T, s State) {
				if len(s.Visits) != 2 {
					t.Errorf("visits = %+v", s.Visits)
				}
			},
		},
		{
			name:        "event for another VIN ignored",
			in:          []outbox.Envelope{envelope("e1", events.KindRepairOrderClosed, "D001", mar, events.RepairOrderClosed{VIN: "LFV2A21K0A3000001", CloseTime: mar})},
			wantIgnored: "event for VIN LFV2A21K0A3000001",
		},
		{
			name:        "unknown kind ignored",
			in:          []outbox.Envelope{envelope("e1", "callback.completed", "D001", mar, struct{}{})},
			wantIgnored: `unknown event kind "callback.completed"`,
		},
		{
			name:        "undecodable payload ignored",
			in:          []outbox.Envelope{{EventID: "e1", Kind: events.KindRepairOrderClosed, Payload: json.RawMessage(`[1]`)}},
			wantIgnored: "decode repair_order.closed event e1",
		},
		{
			name: "dealer and time fall back to the envelope",
			in: []outbox.Envelope{{
				EventID: "e1", Kind: events.KindRepairOrderClosed, DealerID: "D009", OccurredAt: mar,
				Payload: json.RawMessage(`{"vin":"` + testVIN + `","mileage_km":1500}`),
			}},
			check: func(t *testing.T, s State) {
				if s.LastVisitDealer != "D009" || !s.LastVisitTime.Equal(mar) || s.Visits[0].Type != "repair_order" {
					t.Errorf("state = %+v", s)
				}
			},
		},
		{
			name: "recording time stands in when the envelope has none",
			in: []outbox.Envelope{{
				EventID: "e1", Kind: events.KindVehicleDelivered, DealerID: "D001",
				Payload: json.RawMessage(`{"vin":"` + testVIN + `"}`),
			}},
			check: func(t *testing.T, s State) {
				if !s.LastVisitTime.Equal(now) {
					t.Errorf("last visit = %s, want %s", s.LastVisitTime, now)
				}
			},
		},
		{
			name: "business time far after recording is not trusted",
			in: []outbox.Envelope{func() outbox.Envelope {
				e := roClosedEvent("e1", "D001", "R1", day("2027-03-01"), 2000) // a dealer clock a year ahead
				e.OccurredAt = mar
				return e
			}()},
			check: func(t *testing.T, s State) {
				if !s.LastVisitTime.Equal(mar) {
					t.Errorf("last visit = %s, want %s", s.LastVisitTime, mar)
				}
			},
		},
		{
			name: "visits and deliveries are bounded",
			in: func() []outbox.Envelope {
				var in []outbox.Envelope
				for i := range MaxVisits + 5 {
					at := jan.AddDate(0, 0, i)
					id := fmt.Sprint(i)
					if i%2 == 0 {
						in = append(in, deliveredEvent("d"+id, "D001", "S"+id, at, i*100))
					} else {
						in = append(in, roClosedEvent("r"+id, "D001", "R"+id, at, i*100))
					}
				}
				return in
			}(),
			check: func(t *testing.T, s State) {
				if len(s.Visits) != MaxVisits || len(s.Deliveries) != MaxDeliveries {
					t.Fatalf("%d visits, %d deliveries", len(s.Visits), len(s.Deliveries))
				}
				if s.Visits[0].MileageKM != 500 || s.Visits[MaxVisits-1].MileageKM != (MaxVisits+4)*100 {
					t.Errorf("kept visits %d..%d km", s.Visits[0].MileageKM, s.Visits[MaxVisits-1].MileageKM)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := State{VIN: testVIN}
			var changed bool
			var why string
			for _, e := range tt.in {
				changed, why = s.apply(e, DefaultPlan(), time.UTC, now, false)
			}
			switch {
			case tt.wantIgnored == "" && !changed:
				t.Fatalf("last event ignored: %s", why)
			case tt.wantIgnored != "" && changed:
				t.Fatalf("last event applied, want ignored (%s)", tt.wantIgnored)
			case !strings.Contains(why, tt.wantIgnored):
				t.Fatalf("ignored because %q, want %q", why, tt.wantIgnored)
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

func TestOlderVisitKept(t *testing.T) {
	jan, mar, now := day("2026-01-10"), day("2026-03-01"), day("2026-06-01")
	s := State{VIN: testVIN}
	for _, e := range []outbox.Envelope{
		roClosedEvent("e1", "D001", "R1", mar, 2000),
		deliveredEvent("e2", "D001", "S1", jan, 0), // delivered late
	} {
		if changed, why := s.apply(e, DefaultPlan(), time.UTC, now, true); !changed {
			t.Fatalf("ignored: %s", why)
		}
	}
	if len(s.Visits) != 2 || !s.Visits[0].Time.Equal(jan) || len(s.Deliveries) != 1 || !s.LastVisitTime.Equal(mar) || s.LastVisitDealer != "D001" {
		t.Errorf("state = %+v", s)
	}
	if !s.NextDue.RateEstimated {
		t.Errorf("next due = %+v, want the rate estimated from the delivery and the visit", s.NextDue)
	}
}
