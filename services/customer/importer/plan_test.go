package importer

import (
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/services/customer/archive"
)

const (
	vinA = "LSVAB2BM9MN123456"
	vinB = "LFV3A23C7K3012345"
)

// rowOf parses a record of testHeader as row num, last of its customer and
// vehicle unless told otherwise.
func rowOf(t *testing.T, num int, rec string) *row {
	t.Helper()
	r, errs := testParser(t).parse(num, strings.Split(rec, ","))
	if errs != nil {
		t.Fatalf("row %d: %+v", num, errs)
	}
	r.custLast, r.vehLast = true, r.veh != nil
	return r
}

func TestPlannerNewCustomer(t *testing.T) {
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	p := newPlanner("D1", now, nil, nil)
	first := rowOf(t, 2, "C1,张三,13812345678,,,,,,,V1,"+vinA+",,,2021-06-30")
	first.custLast = false // C1 comes again on row 3
	p.add(first)
	p.add(rowOf(t, 3, "C1,张三丰,,,,,,,,,"+vinB))
	if len(p.errs) != 0 {
		t.Fatalf("errors %+v", p.errs)
	}
	cw := p.customerWrites()
	if len(cw) != 1 {
		t.Fatalf("customer writes = %+v", cw)
	}
	c := cw[0].Customer
	// The archive's defaults; the later row's name; the sale as trigger.
	if c.Kind != archive.KindIndividual || c.Tier != archive.TierRegular || c.Name != "张三丰" || c.Mobile != "+8613812345678" ||
		c.Source != "import" || !c.TriggerTime.Equal(time.Date(2021, 6, 29, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("customer = %+v", c)
	}
	if got := problemFields(c.Problems); got != "gender,birthday,address" {
		t.Errorf("problems = %s", got)
	}
	vw := p.vehicleWrites()
	if len(vw) != 2 || vw[0].Customer != c.ID || vw[1].Customer != c.ID || vw[0].DMSID != "V1" {
		t.Fatalf("vehicle writes = %+v", vw)
	}
	ins, upd, unch := p.count(map[string]Outcome{"C1": Inserted}, map[string]Outcome{vw[0].ID: Inserted, vw[1].ID: Inserted})
	if ins != 2 || upd != 0 || unch != 0 {
		t.Errorf("counts = %d %d %d", ins, upd, unch)
	}
}

func problemFields(ps []archive.Problem) string {
	var fs []string
	for _, p := range ps {
		fs = append(fs, p.Field)
	}
	return strings.Join(fs, ",")
}

func TestPlannerExisting(t *testing.T) {
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	existing := []ExistingCustomer{
		{Customer: archive.Customer{ID: "c-1", DMSID: "C1", Kind: "individual", Tier: "key", Name: "张三", Mobile: "+8613812345678",
			Email: "z@example.com", Gender: "male", Birthday: "1990-03-07", Address: "深圳", TriggerTime: now.AddDate(-1, 0, 0)},
			IDNumberIndex: []byte("idx:11010519491231002X")},
		{Customer: archive.Customer{ID: "c-9", DMSID: "C9", MergedInto: "c-1"}},
	}
	existing[0].Problems = existing[0].Check()
	vehicles := []archive.Vehicle{
		{ID: "v-1", Customer: "c-1", VIN: vinA, DMSID: "V1", Plate: "粤B12345"},
		{ID: "v-2", Customer: "c-7", VIN: vinB, DMSID: ""},
	}
	p := newPlanner("D1", now, existing, vehicles)
	// Same values, empty cells, the same ID number: unchanged.
	p.add(rowOf(t, 2, "C1,张三,,,,11010519491231002x,,,,V1,"+vinA+",粤B12345"))
	if w := p.customerWrites(); len(w) != 0 {
		t.Errorf("unchanged customer written: %+v", w)
	}
	if w := p.vehicleWrites(); len(w) != 0 {
		t.Errorf("unchanged vehicle written: %+v", w)
	}
	// A VIN known without a DMS id moves to C1 and takes the DMS id.
	p.add(rowOf(t, 3, "C1,,,,,,,,,V2,"+vinB))
	// A DMS vehicle id whose VIN differs; a merged customer.
	p.add(rowOf(t, 4, "C1,,13900000000,,,,,,,V1,"+vinB))
	p.add(rowOf(t, 5, "C9,赵六"))
	if len(p.errs) != 2 || p.errs[0].Row != 4 || p.errs[0].Field != "vin" || p.errs[1].Row != 5 || p.errs[1].Field != "dms_customer_id" {
		t.Fatalf("errors = %+v", p.errs)
	}
	// Row 4 was rejected whole: its mobile did not reach C1.
	if w := p.customerWrites(); len(w) != 0 {
		t.Errorf("customer written: %+v", w)
	}
	vw := p.vehicleWrites()
	if len(vw) != 1 || vw[0].ID != "v-2" || vw[0].Customer != "c-1" || vw[0].DMSID != "V2" {
		t.Fatalf("vehicle writes = %+v", vw)
	}
	// A new ID number changes the customer; the clear value goes to the store.
	p.add(rowOf(t, 6, "C1,,,,,110105194912310046"))
	cw := p.customerWrites()
	if len(cw) != 1 || cw[0].Customer.IDNumber != "110105194912310046" || string(cw[0].IDNumberIndex) != "idx:110105194912310046" ||
		cw[0].Customer.Email != "z@example.com" {
		t.Fatalf("customer writes = %+v", cw)
	}
	ins, upd, unch := p.count(map[string]Outcome{"C1": Updated}, map[string]Outcome{"v-2": Updated})
	if ins != 0 || upd != 3 || unch != 0 {
		t.Errorf("counts = %d inserted, %d updated, %d unchanged; want 0, 3, 0", ins, upd, unch)
	}
}

func TestPlannerVINUnderOtherDMSID(t *testing.T) {
	p := newPlanner("D1", time.Now(), nil, []archive.Vehicle{{ID: "v-1", Customer: "c-1", VIN: vinA, DMSID: "V1"}})
	p.add(rowOf(t, 2, "C5,,,,,,,,,V5,"+vinA))
	if len(p.errs) != 1 || p.errs[0].Field != "dms_vehicle_id" || !strings.Contains(p.errs[0].Reason, "V1") {
		t.Fatalf("errors = %+v", p.errs)
	}
	if len(p.customerWrites()) != 0 || len(p.vehicleWrites()) != 0 {
		t.Error("a rejected row was planned")
	}
}
