// Package events defines the business events services publish through
// their transactional outbox and workflows receive: the contract between a
// service and the workflows of the others. Payloads are JSON; fields are
// only ever added.
package events

import "time"

// Vehicle events go to the vehicle's lifecycle workflow, whose id is the
// business key vehicle/<VIN>, whichever dealer the vehicle visits.
const (
	VehicleWorkflowType = "VehicleLifecycle"
	VehicleTaskQueue    = "dealercare-vehicles"
	VehicleSignal       = "vehicle-event"

	KindRepairOrderClosed = "repair_order.closed"
	KindVehicleDelivered  = "vehicle.delivered"
)

// BackfillAge is how long after it happened a business fact may be
// recorded and still count as live: older ones (a DMS backfill, a year of
// history loaded at once) are outbox.Event.Backfill, so the relay hands a
// dealer's live events off first.
const BackfillAge = 24 * time.Hour

// IsBackfill reports whether a fact that happened at happened, recorded at
// recorded, is history rather than news (see BackfillAge).
func IsBackfill(happened, recorded time.Time) bool {
	return recorded.Sub(happened) > BackfillAge
}

// VehicleWorkflowID is the business key of a vehicle's workflow.
func VehicleWorkflowID(vin string) string { return "vehicle/" + vin }

// RepairOrderClosed: a service visit ended. It starts the 3DC callback and
// resets the vehicle's maintenance cycle.
type RepairOrderClosed struct {
	Dealer        string    `json:"dealer"`
	RepairOrderID string    `json:"repair_order_id"`
	Number        string    `json:"number"`
	VIN           string    `json:"vin"`
	VehicleID     string    `json:"vehicle_id"`
	CustomerID    string    `json:"customer_id"`
	Type          string    `json:"type"`
	OpenTime      time.Time `json:"open_time"`
	CloseTime     time.Time `json:"close_time"`
	MileageKM     int       `json:"mileage_km"`
	ByAppointment bool      `json:"by_appointment"`
	CampaignCode  string    `json:"campaign_code,omitempty"`
}

// VehicleDelivered: a vehicle was handed to its buyer. It starts the 7DC
// callback and the first-maintenance reminder.
type VehicleDelivered struct {
	Dealer        string    `json:"dealer"`
	SaleID        string    `json:"sale_id"`
	VIN           string    `json:"vin"`
	VehicleID     string    `json:"vehicle_id"`
	CustomerID    string    `json:"customer_id"`
	Salesperson   string    `json:"salesperson,omitempty"`
	DeliveredTime time.Time `json:"delivered_time"`
	MileageKM     int       `json:"mileage_km"`
}

// VehicleStart is the vehicle workflow's input when an event starts it.
type VehicleStart struct {
	VIN string `json:"vin"`
}
