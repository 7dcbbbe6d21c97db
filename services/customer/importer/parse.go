package importer

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/validate"
	"github.com/dealercare/dealercare/services/customer/archive"
)

// maxCellRunes bounds any cell: longer values are export accidents (a
// whole memo pasted into a column), not archive data.
const maxCellRunes = 500

// columnSet is a set of columns: those a row fills.
type columnSet uint32

func (s columnSet) has(c column) bool { return s&(1<<c) != 0 }
func (s *columnSet) add(c column)     { *s |= 1 << c }

// vehicleColumns are the columns that describe a row's vehicle.
var vehicleColumns = []column{colDMSVehicleID, colVIN, colPlate, colBrand, colModel, colModelYear, colPurchaseDate}

// row is a validated data row: its customer's and vehicle's values in
// canonical form, and which of them the row filled.
type row struct {
	num  int
	cust archive.Customer // IDNumber clear, normalized; Kind and Tier "" unless filled
	set  columnSet
	// idIndex is the blind index of cust.IDNumber (nil without one).
	idIndex []byte
	// purchase is the vehicle's purchase date as an instant in the
	// dealer's zone: the trigger time of a customer that has none.
	purchase time.Time
	veh      *archive.Vehicle // nil when the row has no vehicle
	// custLast and vehLast: this is the last row of its DMS customer id,
	// of its VIN (see the package documentation).
	custLast, vehLast bool
}

// parser turns records into rows.
type parser struct {
	h     *header
	now   time.Time // in the dealer's zone
	loc   *time.Location
	index func(id string) []byte
}

// parse validates one record; a rejected row returns its errors, one per
// faulty column.
func (p *parser) parse(num int, rec []string) (*row, []RowError) {
	var errs []RowError
	fail := func(c column, reason string) {
		errs = append(errs, RowError{Row: num, Field: c.String(), Reason: reason})
	}

	var vals [numColumns]string
	var bad columnSet
	r := &row{num: num}
	for c := column(0); c < numColumns; c++ {
		v := p.h.value(rec, c)
		if v == "" {
			continue
		}
		switch {
		case strings.IndexByte(v, 0) >= 0:
			fail(c, "contains a NUL character")
			bad.add(c)
			continue
		case utf8.RuneCountInString(v) > maxCellRunes:
			fail(c, fmt.Sprintf("must be at most %d characters", maxCellRunes))
			bad.add(c)
			continue
		}
		vals[c] = v
		r.set.add(c)
	}
	if !r.set.has(colDMSCustomerID) && !bad.has(colDMSCustomerID) {
		fail(colDMSCustomerID, "is required: the DMS's customer id matches the row with the archive")
	}

	c := &r.cust
	c.DMSID = vals[colDMSCustomerID]
	c.Name = vals[colName]
	c.Mobile = vals[colMobile]
	c.Email = vals[colEmail]
	c.Address = vals[colAddress]
	c.IDNumber = vals[colIDNumber]
	c.ContactName = vals[colContactName]
	if v := vals[colGender]; v != "" {
		g, ok := genders[strings.ToLower(v)]
		switch {
		case !ok:
			fail(colGender, "must be 男, 女, male or female")
		case g == "":
			r.set &^= 1 << colGender // 未知: not given
		}
		c.Gender = g
	}
	if v := vals[colTier]; v != "" {
		t, ok := tiers[strings.ToLower(strings.TrimSuffix(v, "客户"))]
		if !ok {
			fail(colTier, "must be 关键, 常规, 潜力, 临时 or key, regular, potential, temporary")
		}
		c.Tier = t
	}
	if v := vals[colKind]; v != "" {
		k, ok := kinds[strings.ToLower(strings.TrimSuffix(v, "客户"))]
		if !ok {
			fail(colKind, "must be 个人 or 企业 (individual or enterprise)")
		}
		c.Kind = k
	}
	if v := vals[colBirthday]; v != "" {
		d, ok := parseDate(v)
		if !ok {
			fail(colBirthday, "must be a date such as 1990-03-07 or 1990/3/7")
		}
		c.Birthday = d
	}
	if v := vals[colTriggerTime]; v != "" {
		t, ok := parseTime(v, p.loc)
		switch {
		case !ok:
			fail(colTriggerTime, "must be a date or a time such as 2024-05-01 or 2024-05-01 14:30")
		case t.After(p.now):
			fail(colTriggerTime, "is in the future")
		}
		c.TriggerTime = t
	}
	if len(errs) == 0 {
		kind, tier := c.Kind, c.Tier
		if err := c.Normalize(p.now); err != nil {
			errs = append(errs, rowErrors(num, err)...)
		}
		c.Kind, c.Tier = kind, tier // defaults apply to new customers only
		if c.IDNumber != "" {
			r.idIndex = p.index(c.IDNumber)
		}
	}

	switch {
	case r.set.has(colVIN):
		v := &archive.Vehicle{
			VIN: vals[colVIN], Plate: vals[colPlate], Brand: vals[colBrand], Model: vals[colModel],
			DMSID: vals[colDMSVehicleID],
		}
		ok := true
		if s := vals[colModelYear]; s != "" {
			y, err := strconv.Atoi(strings.TrimRight(s, "款年"))
			if err != nil {
				fail(colModelYear, "must be a year such as 2021")
				ok = false
			}
			v.ModelYear = y
		}
		if s := vals[colPurchaseDate]; s != "" {
			d, good := parseDate(s)
			if !good {
				fail(colPurchaseDate, "must be a date such as 2021-06-30 or 2021/6/30")
				ok = false
			}
			v.PurchaseDate = d
		}
		if ok {
			if err := v.Normalize(p.now); err != nil {
				errs = append(errs, rowErrors(num, err)...)
			} else if v.PurchaseDate != "" {
				d, _ := time.ParseInLocation(time.DateOnly, v.PurchaseDate, p.loc)
				r.purchase = d
			}
		}
		r.veh = v
	default:
		for _, vc := range vehicleColumns {
			if r.set.has(vc) {
				fail(colVIN, fmt.Sprintf("is required when the row has vehicle data (%s is filled)", vc))
				break
			}
		}
	}
	if len(errs) > 0 {
		return nil, uniqueFields(errs)
	}
	return r, nil
}

// uniqueFields keeps the first error of each column: a row reports one
// reason per column.
func uniqueFields(errs []RowError) []RowError {
	out := make([]RowError, 0, len(errs))
	for _, e := range errs {
		if !slices.ContainsFunc(out, func(o RowError) bool { return o.Field == e.Field }) {
			out = append(out, e)
		}
	}
	return out
}

// rowErrors turns a validation error of the archive ("customer.mobile:
// ...") into row errors named by column.
func rowErrors(num int, err error) []RowError {
	e, ok := apperr.As(err)
	if !ok || len(e.Violations) == 0 {
		return []RowError{{Row: num, Field: "row", Reason: err.Error()}}
	}
	out := make([]RowError, 0, len(e.Violations))
	for _, v := range e.Violations {
		f := v.Field
		if i := strings.LastIndexByte(f, '.'); i >= 0 {
			f = f[i+1:]
		}
		if f == "dms_id" {
			f = colDMSCustomerID.String()
		}
		out = append(out, RowError{Row: num, Field: f, Reason: v.Reason})
	}
	return out
}

var genders = map[string]string{
	"男": "male", "male": "male", "m": "male", "先生": "male",
	"女": "female", "female": "female", "f": "female", "女士": "female",
	"未知": "", "unknown": "", "-": "",
}

var tiers = map[string]string{
	"关键": archive.TierKey, "key": archive.TierKey, "vip": archive.TierKey,
	"常规": archive.TierRegular, "普通": archive.TierRegular, "regular": archive.TierRegular,
	"潜力": archive.TierPotential, "潜在": archive.TierPotential, "potential": archive.TierPotential,
	"临时": archive.TierTemporary, "temporary": archive.TierTemporary,
}

var kinds = map[string]string{
	"个人": archive.KindIndividual, "私人": archive.KindIndividual, "individual": archive.KindIndividual,
	"personal": archive.KindIndividual, "private": archive.KindIndividual,
	"企业": archive.KindEnterprise, "公司": archive.KindEnterprise, "单位": archive.KindEnterprise,
	"集团": archive.KindEnterprise, "机构": archive.KindEnterprise, "enterprise": archive.KindEnterprise,
	"company": archive.KindEnterprise, "fleet": archive.KindEnterprise,
}

// splitDateTime splits "2024-05-01 14:30", "2024-05-01T14:30:00" and
// "2024年5月1日 14:30" at the time.
func splitDateTime(s string) (date, clock string) {
	if i := strings.IndexAny(s, " T"); i > 0 {
		return s[:i], strings.TrimSpace(s[i+1:])
	}
	return s, ""
}

// parseDate reads the date part of what spreadsheets and DMSs write:
// 2024-05-01, 2024/5/1, 2024.5.1, 20240501, 2024年5月1日, with an ignored
// time after it. It returns YYYY-MM-DD; the validators then check the day.
func parseDate(s string) (string, bool) {
	d, _ := splitDateTime(s)
	if len(d) == 8 && isDigits(d) {
		d = d[:4] + "-" + d[4:6] + "-" + d[6:]
	}
	d = strings.TrimSuffix(d, "日")
	parts := strings.FieldsFunc(d, func(r rune) bool { return r == '-' || r == '/' || r == '.' || r == '年' || r == '月' })
	if len(parts) != 3 || len(parts[0]) != 4 || len(parts[1]) > 2 || len(parts[2]) > 2 {
		return "", false
	}
	for _, p := range parts {
		if !isDigits(p) {
			return "", false
		}
	}
	out := parts[0] + "-" + pad2(parts[1]) + "-" + pad2(parts[2])
	if _, err := validate.Date(out); err != nil {
		return "", false
	}
	return out, true
}

// parseTime reads a trigger time: RFC 3339, or a date with an optional
// HH:MM[:SS] in loc (the dealer's zone).
func parseTime(s string, loc *time.Location) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	d, clock := splitDateTime(s)
	day, ok := parseDate(d)
	if !ok {
		return time.Time{}, false
	}
	layout, value := time.DateOnly, day
	switch strings.Count(clock, ":") {
	case 0:
		if clock != "" {
			return time.Time{}, false
		}
	case 1:
		layout, value = time.DateOnly+" 15:04", day+" "+pad2Clock(clock)
	case 2:
		layout, value = time.DateOnly+" 15:04:05", day+" "+pad2Clock(clock)
	default:
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(layout, value, loc)
	return t, err == nil
}

// pad2Clock pads "9:05" to "09:05".
func pad2Clock(s string) string {
	if i := strings.IndexByte(s, ':'); i == 1 {
		return "0" + s
	}
	return s
}

func pad2(s string) string {
	if len(s) == 1 {
		return "0" + s
	}
	return s
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
