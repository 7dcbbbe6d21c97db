package demo

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestVisitTimesStayInTheYearAfterThePurchase(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 30, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		purchase := purchaseTime(r, i, now)
		recent := i%3 == 0
		got := visitTimes(r, purchase, now, r.IntN(5), recent)
		if !slices.IsSortedFunc(got, time.Time.Compare) {
			t.Fatalf("visits %v are not oldest first", got)
		}
		for _, v := range got {
			if v.Before(purchase) {
				t.Fatalf("visit %v before the purchase %v", v, purchase)
			}
			if v.Before(now.AddDate(-1, 0, 0).Add(-repairHours - time.Hour)) {
				t.Fatalf("visit %v more than a year before %v", v, now)
			}
			if v.Add(repairHours).After(now.Add(-time.Hour)) {
				t.Fatalf("visit %v: its repair order could still be open at %v", v, now)
			}
		}
		if recent && purchase.Before(now.AddDate(0, 0, -recentVisitDays)) {
			if len(got) == 0 || got[len(got)-1].Before(now.AddDate(0, 0, -recentVisitDays)) {
				t.Fatalf("a recent visitor's visits %v: none in the last %d days", got, recentVisitDays)
			}
		}
	}
}

// TestADealerHasWorkToday draws a dealer's purchases and visits with the
// generators loadDealerArchive uses (the loader's own draws interleave
// names and plates, so its dealers differ in detail): a year of repair
// orders in every month, and callbacks due at start-up and over the next
// days (3DC: 3 to 5 days after the repair order; 7DC: 7 to 10 days after
// delivery, SPEC's default policy).
func TestADealerHasWorkToday(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 30, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(7, 20261122))
	months := map[string]int{}
	var due3DC, later3DC, due7DC, later7DC int
	for c := range DefaultArchiveSize.CustomersPerDealer {
		purchase := purchaseTime(r, c, now)
		switch age := now.Sub(purchase); {
		case age >= 7*24*time.Hour && age < 10*24*time.Hour:
			due7DC++
		case age < 7*24*time.Hour:
			later7DC++
		}
		for _, v := range visitTimes(r, purchase, now, r.IntN(2*DefaultArchiveSize.VisitsPerYear+1), c%recentVisitEvery == 0) {
			months[v.Format("2006-01")]++
			switch age := now.Sub(v.Add(repairHours)); {
			case age >= 3*24*time.Hour && age < 5*24*time.Hour:
				due3DC++
			case age < 3*24*time.Hour:
				later3DC++
			}
		}
	}
	for m := now.AddDate(0, -11, 0); !m.After(now); m = m.AddDate(0, 1, 0) {
		if months[m.Format("2006-01")] < 10 {
			t.Errorf("%s: %d repair orders, want a month's worth (%v)", m.Format("2006-01"), months[m.Format("2006-01")], months)
		}
	}
	if due3DC < 5 || later3DC < 5 || due7DC < 2 || later7DC < 2 {
		t.Errorf("3DC callbacks due now %d, later %d; 7DC due now %d, later %d: want a queue of each", due3DC, later3DC, due7DC, later7DC)
	}
	t.Logf("3DC due now %d, later %d; 7DC due now %d, later %d; repair orders by month %v", due3DC, later3DC, due7DC, later7DC, months)
}
