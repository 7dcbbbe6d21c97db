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
