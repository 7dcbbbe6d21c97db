package importer

import (
	"fmt"
	"strings"
	"unicode"
)

// column is a canonical column of a DMS export.
type column int

// The columns the importer reads; their names (columnNames) are what row
// errors report.
const (
	colDMSCustomerID column = iota
	colName
	colMobile
	colGender
	colBirthday
	colIDNumber
	colAddress
	colEmail
	colTier
	colKind
	colContactName
	colTriggerTime
	colDMSVehicleID
	colVIN
	colPlate
	colBrand
	colModel
	colModelYear
	colPurchaseDate
	numColumns
)

var columnNames = [numColumns]string{
	colDMSCustomerID: "dms_customer_id",
	colName:          "name",
	colMobile:        "mobile",
	colGender:        "gender",
	colBirthday:      "birthday",
	colIDNumber:      "id_number",
	colAddress:       "address",
	colEmail:         "email",
	colTier:          "tier",
	colKind:          "kind",
	colContactName:   "contact_name",
	colTriggerTime:   "trigger_time",
	colDMSVehicleID:  "dms_vehicle_id",
	colVIN:           "vin",
	colPlate:         "plate",
	colBrand:         "brand",
	colModel:         "model",
	colModelYear:     "model_year",
	colPurchaseDate:  "purchase_date",
}

func (c column) String() string { return columnNames[c] }

// aliases are the headers DMS exports use, besides the canonical names.
// They are compared after headerKey (case, spaces, '_' and '-' ignored).
// 购车日期 is the vehicle's purchase date; a customer without a trigger
// time takes it as the archive's triggering event (the sale).
var aliases = map[column][]string{
	colDMSCustomerID: {"客户编号", "客户代码", "客户ID", "客户号", "dms客户编号", "customer_id", "customer_no", "dms_id"},
	colName:          {"姓名", "客户名称", "客户姓名", "客户名", "customer_name", "full_name"},
	colMobile:        {"手机", "手机号", "手机号码", "移动电话", "mobile_phone", "mobile_no", "cell_phone"},
	colGender:        {"性别", "sex"},
	colBirthday:      {"生日", "出生日期", "birth_date", "date_of_birth"},
	colIDNumber:      {"身份证号", "身份证号码", "身份证", "证件号码", "id_no", "id_card", "id_card_no"},
	colAddress:       {"地址", "联系地址", "家庭地址", "通讯地址"},
	colEmail:         {"邮箱", "电子邮箱", "电子邮件", "e-mail", "email_address"},
	colTier:          {"客户级别", "客户等级", "级别", "customer_tier", "level"},
	colKind:          {"客户类型", "客户性质", "customer_kind", "customer_type"},
	colContactName:   {"联系人", "联系人姓名", "contact"},
	colTriggerTime:   {"首次到店日期", "首次到店时间", "首次进店日期", "触发时间", "触发日期", "first_visit", "first_visit_date", "first_visit_time", "trigger_date"},
	colDMSVehicleID:  {"车辆编号", "车辆代码", "车辆ID", "vehicle_id", "vehicle_no"},
	colVIN:           {"车架号", "VIN码", "车辆识别代号", "车辆识别码", "底盘号"},
	colPlate:         {"车牌号", "车牌", "车牌号码", "号牌号码", "plate_no", "plate_number", "license_plate"},
	colBrand:         {"品牌", "车辆品牌"},
	colModel:         {"车型", "车型名称"},
	colModelYear:     {"年款", "车型年款", "year"},
	colPurchaseDate:  {"购车日期", "购买日期", "交车日期", "开票日期"},
}

// columnByKey maps headerKey of every name and alias to its column.
var columnByKey = func() map[string]column {
	m := map[string]column{}
	for c := column(0); c < numColumns; c++ {
		for _, name := range append([]string{columnNames[c]}, aliases[c]...) {
			k := headerKey(name)
			if other, dup := m[k]; dup && other != c {
				panic(fmt.Sprintf("importer: header %q maps to both %s and %s", name, other, c))
			}
			m[k] = c
		}
	}
	return m
}()

// headerKey folds a header for lookup: lower case, full-width ASCII
// narrowed, and spaces, '_', '-' and '*' (a "required" marker some exports
// add) dropped, so "DMS Customer ID", "dms_customer_id" and "*客户编号"
// match.
func headerKey(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimPrefix(s, "\uFEFF") {
		if r >= '！' && r <= '～' { // full-width ASCII block
			r -= '！' - '!'
		}
		switch {
		case unicode.IsSpace(r) || r == '_' || r == '-' || r == '*' || r == '\u3000':
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// header is the column layout of a file: where each canonical column is,
// -1 when absent.
type header struct {
	index [numColumns]int
}

func (h *header) has(c column) bool { return h.index[c] >= 0 }

// value returns column c of record, trimmed; "" when absent or short.
// Spreadsheets' guards that keep a number as text (="0123", '0123) are
// dropped.
func (h *header) value(record []string, c column) string {
	i := h.index[c]
	if i < 0 || i >= len(record) {
		return ""
	}
	v := strings.TrimSpace(record[i])
	if len(v) >= 3 && strings.HasPrefix(v, `="`) && strings.HasSuffix(v, `"`) {
		v = v[2 : len(v)-1]
	}
	return strings.TrimPrefix(v, "'")
}

// mapHeader finds the columns of a header record. It fails when a
// required column is missing or two headers name the same column, with a
// message for the uploader.
func mapHeader(record []string) (*header, error) {
	h := &header{}
	for i := range h.index {
		h.index[i] = -1
	}
	seen := map[column]string{}
	for i, name := range record {
		c, ok := columnByKey[headerKey(name)]
		if !ok {
			continue // unknown columns are ignored
		}
		if first, dup := seen[c]; dup {
			return nil, fmt.Errorf("the header has two columns for %s: %q and %q", c, first, strings.TrimSpace(name))
		}
		seen[c] = strings.TrimSpace(name)
		h.index[c] = i
	}
	if !h.has(colDMSCustomerID) {
		return nil, fmt.Errorf("the header has no %s column (客户编号); it is required to match rows with the archive. Columns found: %s",
			colDMSCustomerID, describeHeader(record))
	}
	return h, nil
}

// describeHeader lists a header's cells for a failure message, shortened.
func describeHeader(record []string) string {
	cells := make([]string, 0, len(record))
	for _, c := range record {
		if c = strings.TrimSpace(c); c != "" {
			cells = append(cells, fmt.Sprintf("%q", c))
		}
	}
	if len(cells) == 0 {
		return "none"
	}
	if len(cells) > 20 {
		cells = append(cells[:20], "...")
	}
	return strings.Join(cells, ", ")
}
