package vehicle

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
)

// Bounds of the state, which travels through every ContinueAsNew.
const (
	// MaxVisits is how many visits the state keeps: enough history for the
	// mileage rate, bounded so the state stays small.
	MaxVisits = 20
	// MaxDeliveries is how many deliveries (sales of this VIN) it keeps.
	MaxDeliveries = 10
)

// maxClockSkew is how far an event's business time may lie after the
// moment it was recorded. Beyond it a dealer's clock or a typo is wrong, and
// trusting it would make every later, genuine event look older and be
// ignored, so the recording time is used instead.
const maxClockSkew = time.Hour

// State is what the vehicle's workflow knows; the "state" query returns it.
type State struct {
	VIN string `json:"vin"`
	// Deliveries are the last MaxDeliveries sales of the VIN, oldest first.
	Deliveries []Delivery `json:"deliveries,omitempty"`
	// Visits are the last MaxVisits cycle starts (repair orders at any
	// dealer and deliveries), oldest first.
	Visits []Visit `json:"visits,omitempty"`
	// LastVisitTime and LastVisitDealer are the latest visit: the start of
	// the current maintenance cycle.
	LastVisitTime   time.Time `json:"last_visit_time,omitzero"`
	LastVisitDealer string    `json:"last_visit_dealer,omitempty"`
	// NextDue is nil until the first visit.
	NextDue *Due `json:"next_due,omitempty"`
	// Applied counts events that changed the state; Ignored those that did
	// not (older than the last visit, unknown kind, undecodable, other VIN);
	// Redeliveries those dropped as already seen.
	Applied      int `json:"applied"`
	Ignored      int `json:"ignored"`
	Redeliveries int `json:"redeliveries"`
	// RecordError is why the last RecordServiceState failed for good (it is
	// retried with the next event); empty after a success.
	RecordError string `json:"record_error,omitempty"`

	// Reminders is the current cycle's reminder schedule and what was
	// already done (VersionReminders), so it survives ContinueAsNew.
	Reminders *Reminders `json:"reminders,omitempty"`

	// Plan is HQ's maintenance plan for the vehicle's model as last loaded
	// (VersionPlans); nil: DefaultPlan.
	Plan *Plan `json:"plan,omitempty"`
}

// Delivery is one sale of the vehicle.
type Delivery struct {
	Time      time.Time `json:"time"`
	Dealer    string    `json:"dealer"`
	SaleID    string    `json:"sale_id"`
	MileageKM int       `json:"mileage_km"`
}

// apply folds one (not redelivered) event into s and reports whether it
// changed the cycle; why is set when the event is ignored. plan and loc feed
// NextService. now stands in for the recording time when the envelope has
// none. keepOlder (workflow version VersionKeepOlderVisits) takes a visit
// older than the last one into the history, where the mileage rate and the
// readings need it, without moving the cycle back; before it such a visit
// (saved while Temporal was down, delivered after a newer one at another
// dealer) was dropped.
func (s *State) apply(env outbox.Envelope, plan Plan, loc *time.Location, now time.Time, keepOlder bool) (changed bool, why string) {
	var (
		visit    Visit
		delivery *Delivery
		vin      string
	)
	recorded := env.OccurredAt
	if recorded.IsZero() {
		recorded = now
	}
	switch env.Kind {
	case events.KindRepairOrderClosed:
		var ro events.RepairOrderClosed
		if err := env.Decode(&ro); err != nil {
			return s.ignore(err.Error())
		}
		vin = ro.VIN
		visit = Visit{
			Time:      businessTime(ro.CloseTime, recorded),
			Dealer:    cmp.Or(ro.Dealer, env.DealerID),
			MileageKM: ro.MileageKM,
			Type:      cmp.Or(ro.Type, "repair_order"),
			Ref:       ro.RepairOrderID,
		}
	case events.KindVehicleDelivered:
		var d events.VehicleDelivered
		if err := env.Decode(&d); err != nil {
			return s.ignore(err.Error())
		}
		vin = d.VIN
		visit = Visit{
			Time:      businessTime(d.DeliveredTime, recorded),
			Dealer:    cmp.Or(d.Dealer, env.DealerID),
			MileageKM: d.MileageKM,
			Type:      VisitDelivery,
			Ref:       d.SaleID,
		}
		delivery = &Delivery{Time: visit.Time, Dealer: visit.Dealer, SaleID: d.SaleID, MileageKM: d.MileageKM}
	default:
		return s.ignore(fmt.Sprintf("unknown event kind %q", env.Kind))
	}
	if vin != "" && vin != s.VIN {
		return s.ignore(fmt.Sprintf("event for VIN %s", vin))
	}
	// Events carry no ordering guarantee: a late one must not move the
	// cycle back. An equal time is accepted, as RecordServiceState does.
	older := visit.Time.Before(s.LastVisitTime)
	if older && !keepOlder {
		return s.ignore(fmt.Sprintf("%s of %s is older than the last visit of %s",
			env.Kind, visit.Time.Format(time.RFC3339), s.LastVisitTime.Format(time.RFC3339)))
	}

	same := func(v Visit) bool {
		return visit.Ref != "" && v.Ref == visit.Ref && v.Dealer == visit.Dealer && v.Type == visit.Type
	}
	if older {
		// Into its place in time; the newest MaxVisits stay.
		s.Visits = append(slices.DeleteFunc(s.Visits, same), visit)
		slices.SortStableFunc(s.Visits, func(a, b Visit) int { return a.Time.Compare(b.Time) })
		if over := len(s.Visits) - MaxVisits; over > 0 {
			s.Visits = slices.Delete(s.Visits, 0, over)
		}
	} else {
		s.Visits = appendBounded(s.Visits, visit, MaxVisits, same)
	}
	if delivery != nil {
		s.Deliveries = appendBounded(s.Deliveries, *delivery, MaxDeliveries, func(d Delivery) bool {
			return delivery.SaleID != "" && d.SaleID == delivery.SaleID && d.Dealer == delivery.Dealer
		})
	}
	if !older {
		s.LastVisitTime, s.LastVisitDealer = visit.Time, visit.Dealer
	}
	if due, ok := NextService(s.Visits, plan, loc); ok {
		s.NextDue = &due
	}
	s.Applied++
	return true, ""
}

func (s *State) ignore(why string) (bool, string) {
	s.Ignored++
	return false, why
}

// businessTime is the event's own time unless it is missing or implausibly
// later than when the event was recorded.
func businessTime(t, recorded time.Time) time.Time {
	if t.IsZero() || t.After(recorded.Add(maxClockSkew)) {
		return recorded.UTC()
	}
	return t.UTC()
}

// appendBounded drops the element same matches (the same repair order
// closed again), appends x and keeps the last limit elements.
func appendBounded[T any](xs []T, x T, limit int, same func(T) bool) []T {
	xs = slices.DeleteFunc(xs, same)
	xs = append(xs, x)
	if over := len(xs) - limit; over > 0 {
		xs = slices.Delete(xs, 0, over)
	}
	return xs
}
