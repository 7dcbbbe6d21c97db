package campaign

import (
	"fmt"
	"slices"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/calendar"
	"github.com/dealercare/dealercare/pkg/validate"
)

// Audience is who a campaign reaches: a segment of the archive (resolved by
// the customer service) over the owner's dealer, or, for HQ, over the named
// dealers and regions (all dealers when both are empty).
type Audience struct {
	Dealers          []string  `json:"dealers,omitempty"`
	Regions          []string  `json:"regions,omitempty"`
	Models           []string  `json:"models,omitempty"`
	ModelYearMin     int       `json:"model_year_min,omitempty"`
	ModelYearMax     int       `json:"model_year_max,omitempty"`
	PurchaseDateFrom string    `json:"purchase_date_from,omitempty"`
	PurchaseDateTo   string    `json:"purchase_date_to,omitempty"`
	LastVisitBefore  time.Time `json:"last_visit_before,omitzero"`
	LastVisitAfter   time.Time `json:"last_visit_after,omitzero"`
	MileageMinKM     int       `json:"mileage_min_km,omitempty"`
	MileageMaxKM     int       `json:"mileage_max_km,omitempty"`
	Tiers            []string  `json:"tiers,omitempty"`
	Tags             []string  `json:"tags,omitempty"`
	ChurnRisk        bool      `json:"churn_risk,omitempty"`
	// VINs is a recall's list.
	VINs []string `json:"vins,omitempty"`
	// Birthdays: customers born on these days of the year, "MM-DD".
	Birthdays []string `json:"birthdays,omitempty"`
	// LocalSend, "YYYY-MM-DDTHH:MM", sends each recipient at that civil
	// time in their own time zone (a birthday greeting) instead of at the
	// campaign's start.
	LocalSend string `json:"local_send,omitempty"`
}

// localSendLayout is LocalSend's layout.
const localSendLayout = "2006-01-02T15:04"

// SendTime is when a recipient in zone is due: LocalSend in that zone (the
// network's default zone when it has none), never before start.
func (a *Audience) SendTime(zone string, start time.Time) time.Time {
	if a.LocalSend == "" {
		return start
	}
	t, err := time.ParseInLocation(localSendLayout, a.LocalSend, calendar.Zone(zone))
	if err != nil || t.Before(start) {
		return start
	}
	return t.UTC()
}

// MaxVINs bounds a recall list held on the campaign.
const MaxVINs = 100000

// Validate names the first bad field under prefix and normalises VINs
// (upper case, full-width folded).
func (a *Audience) Validate(prefix string) error {
	if a.ModelYearMin > 0 && a.ModelYearMax > 0 && a.ModelYearMin > a.ModelYearMax {
		return apperr.Invalid(prefix+".model_year_max", "must not be before model_year_min").ZhReason("不能小于最小年款")
	}
	if a.MileageMaxKM > 0 && a.MileageMinKM > a.MileageMaxKM {
		return apperr.Invalid(prefix+".mileage_max_km", "must not be below mileage_min_km").ZhReason("不能小于最小里程")
	}
	var from, to calendar.Date
	for _, d := range []struct {
		field string
		v     string
		dst   *calendar.Date
	}{{"purchase_date_from", a.PurchaseDateFrom, &from}, {"purchase_date_to", a.PurchaseDateTo, &to}} {
		if d.v == "" {
			continue
		}
		parsed, err := calendar.ParseDate(d.v)
		if err != nil {
			return apperr.Invalid(prefix+"."+d.field, "must be a date YYYY-MM-DD").ZhReason("须为日期 YYYY-MM-DD")
		}
		*d.dst = parsed
	}
	if a.PurchaseDateFrom != "" && a.PurchaseDateTo != "" && to.Compare(from) < 0 {
		return apperr.Invalid(prefix+".purchase_date_to", "must not be before purchase_date_from").ZhReason("不能早于起始日期")
	}
	if !a.LastVisitBefore.IsZero() && !a.LastVisitAfter.IsZero() && !a.LastVisitAfter.Before(a.LastVisitBefore) {
		return apperr.Invalid(prefix+".last_visit_before", "must be after last_visit_after").ZhReason("须晚于 last_visit_after")
	}
	for i, t := range a.Tiers {
		if !slices.Contains([]string{"key", "regular", "potential", "temporary"}, t) {
			return apperr.Invalid(fmt.Sprintf("%s.tiers[%d]", prefix, i), "is not a tier").ZhReason("不是有效的客户等级")
		}
	}
	for i, b := range a.Birthdays {
		if !validMonthDay(b) {
			return apperr.Invalid(fmt.Sprintf("%s.birthdays[%d]", prefix, i), "must be a day of the year MM-DD").ZhReason("须为月-日 MM-DD")
		}
	}
	if a.LocalSend != "" {
		if _, err := time.Parse(localSendLayout, a.LocalSend); err != nil {
			return apperr.Invalid(prefix+".local_send", "must be a civil time YYYY-MM-DDTHH:MM").ZhReason("须为 YYYY-MM-DDTHH:MM")
		}
	}
	if len(a.VINs) > MaxVINs {
		return apperr.Invalid(prefix+".vins", fmt.Sprintf("at most %d VINs", MaxVINs)).ZhReason(fmt.Sprintf("最多 %d 个 VIN", MaxVINs))
	}
	seen := make(map[string]bool, len(a.VINs))
	for i, raw := range a.VINs {
		v, err := validate.VIN(raw)
		if err != nil {
			return apperr.Invalid(fmt.Sprintf("%s.vins[%d]", prefix, i), err.Error()).ZhReason("VIN 无效")
		}
		if seen[v] {
			return apperr.Invalid(fmt.Sprintf("%s.vins[%d]", prefix, i), "repeats a VIN").ZhReason("VIN 重复")
		}
		seen[v] = true
		a.VINs[i] = v
	}
	return nil
}

// validMonthDay reports whether s is "MM-DD" of some year (02-29 included:
// 2000 had one).
func validMonthDay(s string) bool {
	_, err := time.Parse("2006-01-02", "2000-"+s)
	return len(s) == 5 && err == nil
}
