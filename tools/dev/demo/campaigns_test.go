package demo

import (
	"testing"

	"github.com/dealercare/dealercare/pkg/validate"
)

// TestRecallVINsSpreadAcrossTheNetwork checks the demo recall's list on
// the demo network: a few hundred distinct valid archive VINs of every
// service dealer, none the hotline's nor one that visited another dealer
// today (that dealer would own it), and a part repaired at another dealer
// of the owner's region, so every service dealer both has VINs completed
// elsewhere and repairs another's.
func TestRecallVINsSpreadAcrossTheNetwork(t *testing.T) {
	n := Network()
	region, index := map[string]string{}, map[string]int{}
	for i, d := range n.Dealers {
		region[d.Code], index[d.Code] = d.Region, i
	}
	elsewhere := map[string]bool{}
	for i := range n.Dealers {
		for c := 0; c < DefaultArchiveSize.CustomersPerDealer; c += visitElsewhereEvery {
			elsewhere[demoVIN(i, c)] = true
		}
	}
	vins := RecallVINs(n, DefaultArchiveSize)
	if want := RecallVINsPerDealer * (len(n.Dealers) - 1); len(vins) != want {
		t.Fatalf("%d VINs, want %d", len(vins), want)
	}
	seen := map[string]bool{}
	owned, repairs, repaired := map[string]int{}, map[string]int{}, 0
	for _, v := range vins {
		if _, err := validate.VIN(v.VIN); err != nil || seen[v.VIN] || elsewhere[v.VIN] || v.Owner == hotline {
			t.Fatalf("VIN %v: a repeat, invalid, visited elsewhere or the hotline's", v)
		}
		seen[v.VIN] = true
		if _, ok := index[v.Owner]; !ok {
			t.Fatalf("VIN %v of an unknown dealer", v)
		}
		if v.RepairedAt == "" {
			continue
		}
		if v.RepairedAt == v.Owner || v.RepairedAt == hotline || region[v.RepairedAt] != region[v.Owner] {
			t.Errorf("VIN %v repaired at its owner, the hotline or another region", v)
		}
		owned[v.Owner]++
		repairs[v.RepairedAt]++
		repaired++
	}
	if repaired == 0 || repaired*2 > len(vins) {
		t.Errorf("%d of %d repaired, want a part", repaired, len(vins))
	}
	for _, d := range n.Dealers {
		if d.Code != hotline && (owned[d.Code] == 0 || repairs[d.Code] == 0) {
			t.Errorf("dealer %s: %d VINs repaired elsewhere, %d repairs of another's; want some of each", d.Code, owned[d.Code], repairs[d.Code])
		}
	}
}
