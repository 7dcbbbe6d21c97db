package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/pgtest"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
	"github.com/dealercare/dealercare/services/evaluation/postgres"
	"github.com/jackc/pgx/v5"
)

// A kept ranking (kpi_rankings, by generation) is the ranking computed
// from the rollups: the same answer as a service without the cache at
// every step, and it moves when a late fact changes a rollup, when HQ sets
// new targets or weights, and when a dealer is renamed; reading it again
// unchanged answers from the kept row.
func TestKeptRankingFollowsLateFactsAndTargets(t *testing.T) {
	db := pgtest.NewFrom(t, postgres.Schema, postgres.Migrations)
	s := postgres.NewStore(db.AppPool(t, pg.Config{}))
	ctx := auth.NewContextWithPrincipal(context.Background(), &auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	now := func() time.Time { return time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC) }
	dealers := fourZones
	if err := s.SyncDealers(ctx, dealers, now()); err != nil {
		t.Fatal(err)
	}
	g := &generator{r: rand.New(rand.NewPCG(15, 2026)), dealers: dealers,
		from: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), span: 100 * 24 * time.Hour}
	for i := range 20 {
		g.vins = append(g.vins, fmt.Sprintf("VIN%03d", i))
	}
	w := newWorld(dealers)
	facts := g.facts(400)
	// SH001's October 3DC calls, all made in time (corrected below).
	zone, _ := time.LoadLocation("Asia/Shanghai")
	var made evaluation.Facts
	for i := range 6 {
		due := time.Date(2026, 10, 10+i, 10, 0, 0, 0, zone)
		made.Callbacks = append(made.Callbacks, evaluation.Versioned[evaluation.CallbackFact]{Seq: g.next(), Fact: evaluation.CallbackFact{
			Dealer: "SH001", TaskID: fmt.Sprintf("oct-%d", i), Kind: "3DC", SourceID: "ro", Status: "completed",
			DueTime: due, Deadline: due.Add(48 * time.Hour), CompleteTime: due.Add(time.Hour), Score: 95}})
	}
	facts.Callbacks = append(facts.Callbacks, made.Callbacks...)
	apply(t, s, w, facts)
	rollUp(t, s)

	cached := evaluation.NewService(s, tenancy.Access{}, now)
	// The same store without its RankingCache: every ranking computed.
	plain := evaluation.NewService(struct{ evaluation.Store }{s}, tenancy.Access{}, now)
	hq := auth.NewContextWithPrincipal(ctx, &auth.Principal{Subject: "hq-admin", Roles: []auth.Role{auth.RoleHQAdmin}})
	setTargets := func(weights ...float64) {
		t.Helper()
		set := evaluation.TargetSet{EffectiveMonth: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Targets: []evaluation.Target{
			{KPI: "callback_rate_3dc", Target: 0.95, Weight: weights[0]}, {KPI: "appointment_rate", Target: 0.6, Weight: weights[1]},
			{KPI: "first_time_fix_rate", Target: 0.95, Weight: weights[2]}}}
		if _, err := cached.CreateTargetSet(hq, set); err != nil {
			t.Fatal(err)
		}
	}
	setTargets(3, 1, 1)
	q := evaluation.Query{Granularity: evaluation.Month, Date: "2026-10-01"}
	places := func(r *evaluation.RankingResult) []place {
		var out []place
		for _, x := range r.Ranks {
			out = append(out, place{x.Dealer, x.Name, x.Rank, x.PreviousRank, x.Movement, x.Score})
		}
		return out
	}
	// rank answers the kept ranking for each scope, checked against the
	// computed one.
	rank := func(step string) map[string][]place {
		t.Helper()
		out := map[string][]place{}
		for _, region := range []string{"", "EAST", "SOUTH"} {
			got, err := cached.Rank(hq, q, region)
			if err != nil {
				t.Fatal(err)
			}
			want, err := plain.Rank(hq, q, region)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(places(got), places(want)) || got.TargetVersion != want.TargetVersion || got.Median != want.Median {
				t.Fatalf("%s, region %q: kept ranking %+v (targets v%d), computed %+v (targets v%d)", step, region,
					places(got), got.TargetVersion, places(want), want.TargetVersion)
			}
			if len(got.Ranks) == 0 {
				t.Fatalf("%s, region %q: nothing ranked", step, region)
			}
			out[region] = places(got)
		}
		return out
	}
	keptRows := func() int {
		t.Helper()
		var n int
		// The kept rows are every dealer's: only an all-dealers
		// transaction sees them.
		if err := pg.InReadOnlyTx(ctx, db.Pool, pg.AllDealers(), func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM `+postgres.Schema+`.kpi_rankings k
				JOIN `+postgres.Schema+`.rollup_generation g ON g.generation = k.generation`).Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}

	first := rank("first read")
	if n := keptRows(); n != 3 {
		t.Fatalf("after the first reads %d current rankings kept, want 3", n)
	}
	if again := rank("read again"); !equalPlaces(again, first) {
		t.Fatalf("read again unchanged: %v, first %v", again, first)
	}

	// A late fact: an October callback of SH001 turns out not completed
	// (and its rollup moves): the kept ranking follows at once.
	before := rank("before the late fact")
	var late evaluation.Facts
	for _, c := range made.Callbacks {
		c.Seq = g.next()
		c.Fact.Status, c.Fact.CompleteTime, c.Fact.Score = "expired", time.Time{}, 0
		late.Callbacks = append(late.Callbacks, c)
	}
	apply(t, s, w, late)
	if keptRows() != 3 {
		t.Fatal("applying facts (before their rollup) moved the generation")
	}
	rollUp(t, s)
	if keptRows() != 0 {
		t.Fatal("a rollup left the kept rankings current")
	}
	afterLate := rank("after the late fact")
	if scoreOf(afterLate[""], "SH001") >= scoreOf(before[""], "SH001") {
		t.Fatalf("SH001's score did not fall with its late missed calls: %v then %v", before[""], afterLate[""])
	}

	// HQ weighs appointments only: the scores and order change.
	setTargets(0, 1, 0)
	reweighed := rank("after new weights")
	if equalPlaces(reweighed, afterLate) {
		t.Fatalf("new weights left the ranking as it was: %v", reweighed)
	}
	if got, _ := cached.Rank(hq, q, ""); got.TargetVersion != 2 {
		t.Fatalf("the ranking uses targets v%d, want 2", got.TargetVersion)
	}

	// A renamed dealer.
	renamed := slices.Clone(dealers)
	renamed[0].Name = "Shanghai Renamed Motors"
	if err := s.SyncDealers(ctx, renamed, now()); err != nil {
		t.Fatal(err)
	}
	for _, p := range rank("after a rename")[""] {
		if p.Dealer == "SH001" && p.Name != "Shanghai Renamed Motors" {
			t.Fatalf("SH001 is still named %q", p.Name)
		}
	}
}

// place is a dealer's place as the tests compare them.
type place struct {
	Dealer, Name        string
	Rank, Previous, Mov int
	Score               float64
}

func scoreOf(ps []place, dealer string) float64 {
	for _, p := range ps {
		if p.Dealer == dealer {
			return p.Score
		}
	}
	return -1
}

func equalPlaces(a, b map[string][]place) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
