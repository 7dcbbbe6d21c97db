package archive

import (
	"fmt"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/calendar"
)

// Segment selects customers for a campaign (SegmentService). Empty fields
// do not filter; vehicle filters match a customer having such a vehicle.
type Segment struct {
	Dealers          []string
	Customers        []string
	Models           []string
	ModelYearMin     int
	ModelYearMax     int
	PurchaseDateFrom string
	PurchaseDateTo   string
	LastVisitBefore  time.Time
	LastVisitAfter   time.Time
	MileageMinKM     int
	MileageMaxKM     int
	Tiers            []string
	Tags             []string
	ChurnRisk        bool
	VINs             []string
	// Birthdays are days of the year, "MM-DD".
	Birthdays []string
	AsOf      time.Time
}

// ChurnRiskAfter is how long past due a vehicle is at risk of churn
// (SPEC "campaign": 90 days overdue).
const ChurnRiskAfter = 90 * 24 * time.Hour

// HasVehicleFilter reports whether only customers with a matching vehicle
// are members.
func (s Segment) HasVehicleFilter() bool {
	return len(s.Models) > 0 || s.ModelYearMin > 0 || s.ModelYearMax > 0 || s.PurchaseDateFrom != "" || s.PurchaseDateTo != "" ||
		!s.LastVisitBefore.IsZero() || !s.LastVisitAfter.IsZero() || s.MileageMinKM > 0 || s.MileageMaxKM > 0 || s.ChurnRisk || len(s.VINs) > 0
}

// Validate names the first bad field.
func (s Segment) Validate() error {
	if len(s.Dealers) == 0 {
		return apperr.Invalid("dealers", "at least one dealer is required").ZhReason("至少需要一个经销商")
	}
	for _, d := range []struct{ field, v string }{{"segment.purchase_date_from", s.PurchaseDateFrom}, {"segment.purchase_date_to", s.PurchaseDateTo}} {
		if d.v == "" {
			continue
		}
		if _, err := calendar.ParseDate(d.v); err != nil {
			return apperr.Invalid(d.field, "must be a date YYYY-MM-DD").ZhReason("须为日期 YYYY-MM-DD")
		}
	}
	for i, b := range s.Birthdays {
		if _, _, err := MonthDay(b); err != nil {
			return apperr.Invalid(fmt.Sprintf("segment.birthdays[%d]", i), "must be a day of the year MM-DD").ZhReason("须为月-日 MM-DD")
		}
	}
	for i, c := range s.Customers {
		if len(c) != 36 {
			return apperr.Invalid(fmt.Sprintf("customers[%d]", i), "is not a customer id").ZhReason("不是有效的客户 ID")
		}
	}
	return nil
}

// SegmentMember is one matching customer with what a message needs.
type SegmentMember struct {
	Customer, Dealer, DealerName, TimeZone string
	Name, Mobile, Email, Birthday, Tier    string
	Consents                               map[string]bool
	VIN, Plate, Model, NextDueDate         string
	LastVisitTime                          time.Time
}

// VehicleVisit is one repair order of a VIN at some dealer.
type VehicleVisit struct {
	VIN, Dealer, RepairOrder, Type, CampaignCode string
	OpenTime, CloseTime                          time.Time
}

// MonthDay parses "MM-DD", a day of some year (02-29 included).
func MonthDay(s string) (month, day int, err error) {
	t, err := time.Parse("01-02", s)
	if err != nil {
		if s != "02-29" {
			return 0, 0, err
		}
		return 2, 29, nil
	}
	return int(t.Month()), t.Day(), nil
}
