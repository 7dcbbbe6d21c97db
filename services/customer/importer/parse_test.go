package importer

import (
	"strings"
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	for in, want := range map[string]string{
		"2024-05-01": "2024-05-01", "2024/5/1": "2024-05-01", "2024.05.1": "2024-05-01", "20240501": "2024-05-01",
		"2024年5月1日": "2024-05-01", "2024-05-01 14:30:00": "2024-05-01", "2024/5/1 0:00": "2024-05-01",
		"2024-02-30": "", "24-05-01": "", "2024-5": "", "May 1, 2024": "", "2024-05-01x": "", "45413": "",
	} {
		got, ok := parseDate(in)
		if got != want || ok != (want != "") {
			t.Errorf("parseDate(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestParseTime(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	for in, want := range map[string]time.Time{
		"2024-05-01":           time.Date(2024, 5, 1, 0, 0, 0, 0, shanghai),
		"2024/5/1 9:05":        time.Date(2024, 5, 1, 9, 5, 0, 0, shanghai),
		"2024-05-01 14:30:15":  time.Date(2024, 5, 1, 14, 30, 15, 0, shanghai),
		"2024-05-01T06:30:00Z": time.Date(2024, 5, 1, 6, 30, 0, 0, time.UTC),
		"2024-05-01 25:00":     {},
		"yesterday":            {},
	} {
		got, ok := parseTime(in, shanghai)
		if !got.Equal(want) || ok == want.IsZero() {
			t.Errorf("parseTime(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
}

const testHeader = "dms_customer_id,name,mobile,gender,birthday,id_number,tier,kind,trigger_time,dms_vehicle_id,vin,plate,model_year,purchase_date"

func testParser(t *testing.T) *parser {
	h, err := mapHeader(strings.Split(testHeader, ","))
	if err != nil {
		t.Fatal(err)
	}
	loc := time.FixedZone("CST", 8*3600)
	return &parser{h: h, loc: loc, now: time.Date(2025, 6, 1, 12, 0, 0, 0, loc), index: func(id string) []byte { return []byte("idx:" + id) }}
}

func TestParseRow(t *testing.T) {
	p := testParser(t)
	r, errs := p.parse(2, strings.Split("C1, 张三 ,=\"138-1234-5678\",男,1990/3/7,11010519491231002x,关键客户,个人,2024-05-01 10:00,V1,lsvab2bm9mn123456,粤b·12345,2021款,2021/6/30", ","))
	if errs != nil {
		t.Fatalf("errors = %+v", errs)
	}
	c := r.cust
	if c.DMSID != "C1" || c.Name != "张三" || c.Mobile != "+8613812345678" || c.Gender != "male" || c.Birthday != "1990-03-07" ||
		c.IDNumber != "11010519491231002X" || c.Tier != "key" || c.Kind != "individual" {
		t.Errorf("customer = %+v", c)
	}
	if string(r.idIndex) != "idx:11010519491231002X" {
		t.Errorf("id index = %q", r.idIndex)
	}
	if want := time.Date(2024, 5, 1, 2, 0, 0, 0, time.UTC); !c.TriggerTime.Equal(want) {
		t.Errorf("trigger = %v, want %v", c.TriggerTime, want)
	}
	v := r.veh
	if v == nil || v.VIN != "LSVAB2BM9MN123456" || v.Plate != "粤B12345" || v.ModelYear != 2021 || v.PurchaseDate != "2021-06-30" || v.DMSID != "V1" {
		t.Errorf("vehicle = %+v", v)
	}

	// Empty cells are not filled: Kind and Tier stay empty for the merge.
	r, errs = p.parse(3, []string{"C2"})
	if errs != nil || r.set != 1<<colDMSCustomerID || r.cust.Kind != "" || r.cust.Tier != "" || r.veh != nil {
		t.Errorf("short row: %+v, %+v", r, errs)
	}
}

func TestParseRowErrors(t *testing.T) {
	p := testParser(t)
	tests := []struct {
		row  string
		want string // field: reason fragment; several separated by |
	}{
		{",张三", "dms_customer_id: is required"},
		{"C1,,12345", "mobile: a mainland China mobile number has 11 digits"},
		{"C1,,,男性", "gender: must be 男, 女, male or female"},
		{"C1,,,,2030-01-01", "birthday: must not be in the future"},
		{"C1,,,,1990-13-01", "birthday: must be a date"},
		{"C1,,,,,110105194912310021", "id_number: character 18 must be the check character"},
		{"C1,,,,,,VIP1", "tier: must be 关键"},
		{"C1,,,,,,,学校", "kind: must be 个人 or 企业"},
		{"C1,,,,,,,,2030-01-01", "trigger_time: is in the future"},
		{"C1,,,,,,,,1949-12-31 23:00", "trigger_time: must not be before 1950-01-01"},
		{"C1,,,,,,,,,,LSVAB2BM0MN123456", "vin: character 9 must be the check digit '9', got '0'"},
		{"C1,,,,,,,,,,LSVAB2BM9MN123456,沪A1234", "plate: has 6 characters"},
		{"C1,,,,,,,,,,LSVAB2BM9MN123456,,twenty", "model_year: must be a year"},
		{"C1,,,,,,,,,,LSVAB2BM9MN123456,,1900", "model_year: must be between 1950 and next year"},
		{"C1,,,,,,,,,,LSVAB2BM9MN123456,,,2099-01-01", "purchase_date: must not be in the future"},
		{"C1,,,,,,,,,,LSVAB2BM9MN123456,,,1949-12-31", "purchase_date: must not be before 1950-01-01"},
		{"C1,,,,,,,,,V1,,粤B12345", "vin: is required when the row has vehicle data (dms_vehicle_id is filled)"},
		{"C1,张\x00三", "name: contains a NUL character"},
		{"C1,,,男性,,,,,,,LSVAB2BM0MN123456", "gender: must be|vin: character 9"},
	}
	for _, tt := range tests {
		r, errs := p.parse(7, strings.Split(tt.row, ","))
		if r != nil {
			t.Errorf("%q accepted", tt.row)
			continue
		}
		wants := strings.Split(tt.want, "|")
		if len(errs) != len(wants) {
			t.Errorf("%q: errors %+v, want %d", tt.row, errs, len(wants))
			continue
		}
		for i, w := range wants {
			field, reason, _ := strings.Cut(w, ": ")
			if e := errs[i]; e.Row != 7 || e.Field != field || !strings.Contains(e.Reason, reason) {
				t.Errorf("%q: error %+v, want row 7, field %s, reason with %q", tt.row, e, field, reason)
			}
		}
	}
}
