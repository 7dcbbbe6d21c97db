package demo

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// The demo's year differs by dealer: with the generators loadDealerArchive
// uses, the model dealer books more of its visits and sees fewer repair
// comebacks within 30 days (first_time_fix_rate) than the weak ones, and
// no two dealers share a profile.
func TestDealersDifferInTheirYear(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 30, 0, 0, time.UTC)
	year := func(dealer string) (booked, fixedFirstTime float64) {
		p := ProfileOf(dealer)
		r := rand.New(rand.NewPCG(11, 20261122))
		var visits, appointments, comebacks int
		for c := range DefaultArchiveSize.CustomersPerDealer {
			purchase := purchaseTime(r, c, now)
			for _, v := range withComebacks(r, visitTimes(r, purchase, now, r.IntN(2*DefaultArchiveSize.VisitsPerYear+1), c%recentVisitEvery == 0), p, now) {
				visits++
				if r.Float64() < p.Appointment {
					appointments++
				}
				if v.comeback {
					comebacks++
				}
			}
		}
		return float64(appointments) / float64(visits), 1 - float64(comebacks)/float64(visits-comebacks)
	}
	goodBooked, goodFixed := year("SH001")
	for _, weak := range []string{"TJ001", "KSG001"} {
		booked, fixed := year(weak)
		if booked > goodBooked-0.3 || fixed > goodFixed-0.1 {
			t.Errorf("%s books %.2f and fixes %.2f first time; SH001 %.2f and %.2f: want the weak dealer well below", weak, booked, fixed, goodBooked, goodFixed)
		}
	}
	answered := func(dealer string) float64 {
		n := 0
		for i := range 1000 {
			if Answers(dealer, fmt.Sprintf("00000000-0000-4000-8000-%012d", i)) {
				n++
			}
		}
		return float64(n) / 1000
	}
	if good, weak := answered("SH001"), answered("TJ001"); good < 0.9 || weak > 0.4 {
		t.Errorf("SH001's agents complete %.2f of their calls, TJ001's %.2f: want TJ001 to miss most", good, weak)
	}
	seen := map[Profile]string{}
	for _, d := range Network().Dealers {
		p := ProfileOf(d.Code)
		if other, ok := seen[p]; ok {
			t.Errorf("%s and %s share the profile %+v", d.Code, other, p)
		}
		seen[p] = d.Code
		if p.Appointment <= 0 || p.Appointment >= 1 || p.Comebacks < 0 || p.Comebacks >= 1 {
			t.Errorf("%s: profile %+v out of range", d.Code, p)
		}
	}
}
