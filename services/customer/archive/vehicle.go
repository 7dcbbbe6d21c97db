package archive

import (
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/validate"
)

// Vehicle is a vehicle in a dealer's archive, with its service state as
// kept by the vehicle's workflow (vehicle/<VIN>) across every dealer.
type Vehicle struct {
	ID            string
	Dealer        string
	Customer      string
	VIN           string
	Plate         string
	Brand         string
	Model         string
	ModelYear     int
	PurchaseDate  string
	SellingDealer string
	MileageKM     int
	DMSID         string
	CreateTime    time.Time
	Service       ServiceState
}

// ServiceState is where the vehicle stands in its maintenance cycle.
type ServiceState struct {
	LastVisitTime    time.Time
	LastVisitDealer  string
	NextDueDate      string // YYYY-MM-DD
	NextDueMileageKM int
	// ChurnRiskSince is set while the vehicle is at risk of churn.
	ChurnRiskSince time.Time
}

// Normalize validates VIN, plate and dates; errors name the field.
func (v *Vehicle) Normalize(now time.Time) error {
	vin, err := validate.VIN(v.VIN)
	if err != nil {
		return invalid("vehicle.vin", err)
	}
	v.VIN = vin
	if v.Plate != "" {
		p, err := validate.Plate(v.Plate)
		if err != nil {
			return invalid("vehicle.plate", err)
		}
		v.Plate = p
	}
	if v.PurchaseDate != "" {
		d, err := validate.Date(v.PurchaseDate)
		if err != nil {
			return invalid("vehicle.purchase_date", err)
		}
		// A day: in the future when after now's day (the importer passes
		// now in the dealer's zone).
		if err := validate.EventTime(d, validate.Today(now)); err != nil {
			return invalid("vehicle.purchase_date", err)
		}
	}
	if v.ModelYear != 0 && (v.ModelYear < 1950 || v.ModelYear > now.Year()+1) {
		return apperr.Invalid("vehicle.model_year", "must be between 1950 and next year").ZhReason("须在 1950 年到明年之间")
	}
	v.Brand, v.Model = strings.TrimSpace(v.Brand), strings.TrimSpace(v.Model)
	return nil
}

// VehicleFields are the fields UpdateVehicle may change.
var VehicleFields = []string{"plate", "brand", "model", "model_year", "purchase_date", "selling_dealer", "dms_id"}

// Apply copies the masked fields of in onto v. The VIN is the vehicle's
// identity across the network (its workflow is vehicle/<VIN>): a wrong
// VIN is a different vehicle, archived anew.
func (v *Vehicle) Apply(in *Vehicle, mask []string) error {
	for _, f := range mask {
		switch f {
		case "plate":
			v.Plate = in.Plate
		case "brand":
			v.Brand = in.Brand
		case "model":
			v.Model = in.Model
		case "model_year":
			v.ModelYear = in.ModelYear
		case "purchase_date":
			v.PurchaseDate = in.PurchaseDate
		case "selling_dealer":
			v.SellingDealer = in.SellingDealer
		case "dms_id":
			v.DMSID = in.DMSID
		case "vin":
			return apperr.Invalid("update_mask", `cannot update field "vin": a vehicle's VIN never changes; archive the right VIN as a vehicle of its own`).
				ZhReason(`不能更新字段 "vin"：车辆的 VIN 不可更改，请以正确的 VIN 另建车辆档案`)
		default:
			return cannotUpdate(f)
		}
	}
	return nil
}

// Mileage reading sources.
const (
	MileageRepairOrder = "repair_order"
	MileageDelivery    = "delivery"
)

// MileageReading is one odometer reading of a vehicle as one dealer's
// archive sees it: taken there or at another dealer of the network.
type MileageReading struct {
	ID        string
	Vehicle   string
	ReadTime  time.Time
	MileageKM int
	Source    string // MileageRepairOrder or MileageDelivery
	// ReadDealer is where the reading was taken; Ref the repair order's or
	// sale's id there.
	ReadDealer string
	Ref        string
	// RepairOrderNumber is set for a repair order of this dealer.
	RepairOrderNumber string
	// LowerThanEarlier flags a reading below an earlier one.
	LowerThanEarlier bool
}

// Repair order types and states.
const (
	ROMaintenance = "maintenance"
	RORepair      = "repair"
	ROWarranty    = "warranty"
	ROAccident    = "accident"
	RORecall      = "recall"
	ROCampaign    = "campaign"

	ROOpen   = "open"
	ROClosed = "closed"
)

// RepairOrder is one service visit at a dealer.
type RepairOrder struct {
	ID            string
	Dealer        string
	Number        string
	Vehicle       string
	VIN           string
	Customer      string
	Type          string
	State         string
	OpenTime      time.Time
	CloseTime     time.Time
	MileageKM     int
	AmountFen     int64
	Advisor       string
	ByAppointment bool
	CampaignCode  string
}

// Validate checks a new repair order.
func (ro *RepairOrder) Validate(now time.Time) error {
	ro.Number = strings.TrimSpace(ro.Number)
	if ro.Number == "" {
		return apperr.Invalid("repair_order.number", "is required").ZhReason("为必填项")
	}
	if ro.Type == "" {
		return apperr.Invalid("repair_order.type", "is required").ZhReason("为必填项")
	}
	if ro.OpenTime.IsZero() {
		ro.OpenTime = now
	}
	if ro.OpenTime.After(now.Add(time.Hour)) {
		return apperr.Invalid("repair_order.open_time", "is in the future").ZhReason("不能晚于当前时间")
	}
	if ro.Vehicle == "" && ro.VIN == "" {
		return apperr.Invalid("repair_order.vin", "a vehicle id or a VIN is required").ZhReason("需要车辆 ID 或 VIN")
	}
	if ro.VIN != "" {
		vin, err := validate.VIN(ro.VIN)
		if err != nil {
			return invalid("repair_order.vin", err)
		}
		ro.VIN = vin
	}
	return nil
}

// Close closes an open repair order. ECONFLICT when already closed.
func (ro *RepairOrder) Close(at time.Time, mileageKM int, amountFen int64) error {
	if ro.State == ROClosed {
		return apperr.Errorf(apperr.ECONFLICT, "repair order %s is already closed", ro.Number).Zh("维修工单 " + ro.Number + " 已关闭")
	}
	if at.Before(ro.OpenTime) {
		return apperr.Invalid("close_time", "is before the repair order was opened").ZhReason("早于工单开单时间")
	}
	if mileageKM != 0 {
		if mileageKM < ro.MileageKM {
			return apperr.Invalid("mileage_km", "is lower than the reading at opening").ZhReason("小于开单时的里程")
		}
		ro.MileageKM = mileageKM
	}
	if amountFen != 0 {
		ro.AmountFen = amountFen
	}
	ro.State, ro.CloseTime = ROClosed, at
	return nil
}

// Sale is a vehicle delivery.
type Sale struct {
	ID            string
	Dealer        string
	Vehicle       string
	Customer      string
	Salesperson   string
	DeliveredTime time.Time
	CreateTime    time.Time
}

// LoyaltyTransaction is one ledger entry.
type LoyaltyTransaction struct {
	ID         string
	Customer   string
	Points     int64
	Reason     string
	Balance    int64
	CreateTime time.Time
}

// Apply adds points to a balance; the balance never goes negative.
func ApplyPoints(balance, points int64) (int64, error) {
	if points == 0 {
		return balance, apperr.Invalid("points", "must not be zero").ZhReason("不能为 0")
	}
	if balance+points < 0 {
		return balance, apperr.Errorf(apperr.EFAILEDPRECOND, "cannot redeem %d points: the balance is %d", -points, balance).Zh("积分不足：余额为 " + itoa(balance))
	}
	return balance + points, nil
}
