package importer

import (
	"fmt"
	"strings"
	"testing"
)

// Lanes: customers sharing a vehicle key (VIN or DMS vehicle id) with
// another customer go to the serial lane 0; the others to lanes 1..n-1 by
// their DMS id alone, the same in every scan of the file.
func TestScanLanes(t *testing.T) {
	vin := func(i int) string { return fmt.Sprintf("LSVAB2BM0MN%06d", i) } // lanes do not check VINs
	var b strings.Builder
	b.WriteString("dms_customer_id,dms_vehicle_id,vin\n")
	for i := range 40 {
		fmt.Fprintf(&b, "C%d,V%d,%s\n", i, i, vin(i))
	}
	b.WriteString("C1,V100,lsvab2bm0mn000100\n") // C1's second vehicle: C1 stays in its lane
	b.WriteString("C2,V3,\n")                    // C2 and C3 share a DMS vehicle id
	b.WriteString("C4,,lsvab2bm0mn000005\n")     // C4 and C5 share a VIN (written in another case)
	b.WriteString("C6,,\n")                      // no vehicle
	content := []byte(b.String())

	sc, err := scanFile(content, "")
	if err != nil {
		t.Fatal(err)
	}
	again, err := scanFile(content, "")
	if err != nil {
		t.Fatal(err)
	}
	used := map[int]int{}
	for i := range 40 {
		id := fmt.Sprintf("C%d", i)
		lane := sc.lane(id, 4)
		if again.lane(id, 4) != lane {
			t.Errorf("%s is in lane %d, then %d", id, lane, again.lane(id, 4))
		}
		if sc.lane(id, 1) != 0 {
			t.Errorf("%s is in lane %d of 1", id, sc.lane(id, 1))
		}
		switch i {
		case 2, 3, 4, 5:
			if lane != 0 {
				t.Errorf("%s (tied) is in lane %d, want 0", id, lane)
			}
		default:
			if lane < 1 || lane > 3 {
				t.Errorf("%s is in lane %d, want 1-3", id, lane)
			}
			used[lane]++
		}
	}
	if len(used) != 3 {
		t.Errorf("36 customers use lanes %v, want all of 1-3", used)
	}
}
