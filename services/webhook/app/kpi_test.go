package app_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	evaluationv1 "github.com/dealercare/dealercare/gen/go/dealercare/evaluation/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/grpcclient"
	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/pkg/pgtest"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/program/programtest"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
	evalpg "github.com/dealercare/dealercare/services/evaluation/postgres"
	"github.com/dealercare/dealercare/services/webhook/delivery"
	"github.com/dealercare/dealercare/services/webhook/webhook"
	"github.com/jackc/pgx/v5"
)

// outboxed is a kpi_period.published event in the evaluation service's
// outbox: what its rollup wrote, and whether its relay handed it on.
type outboxed struct {
	id, dealer, resource string
	relayed              bool
}

func evaluationOutbox(t *testing.T, db *pgtest.DB) []outboxed {
	t.Helper()
	var out []outboxed
	err := pg.InReadOnlyTx(context.Background(), db.Pool, pg.AllDealers(), func(tx pgx.Tx) error {
		rows, err := tx.Query(context.Background(), `SELECT id::text, dealer_id, payload, delivered_at IS NOT NULL
            FROM evaluation.outbox_events WHERE kind = $1 ORDER BY created_at, id`, "webhook."+events.WebhookKpiPeriodPublished)
		if err != nil {
			return err
		}
		var o outboxed
		var raw []byte
		_, err = pgx.ForEachRow(rows, []any{&o.id, &o.dealer, &raw, &o.relayed}, func() error {
			var p events.WebhookPayload
			if err := json.Unmarshal(raw, &p); err != nil {
				return err
			}
			o.resource = p.Resource
			out = append(out, o)
			return nil
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestKpiPeriodPublishedReachesSubscribers is kpi_period.published end
// to end through the real parts: the evaluation binary's rollup (called
// as the worker calls it) writes the event into its outbox, the
// evaluation binary's relay hands it to Temporal, the webhook binary's
// delivery workflow signs and posts it to the dealer's receiver, which
// verifies the signature and deduplicates by event id. The dealer's
// receiver gets each published period once, with aggregates only; a late
// fact and a rerun bring revision 2 of the week it falls in; another
// dealer's subscription gets nothing.
func TestKpiPeriodPublishedReachesSubscribers(t *testing.T) {
	e := setup(t)
	evalBin := serviceBin(t, "evaluation")
	evalDB := pgtest.NewFrom(t, evalpg.Schema, evalpg.Migrations)
	facts := evalpg.NewStore(evalDB.AppPool(t, pg.Config{}))
	ctx := context.Background()

	// The dealers and their facts, as the feed workflows would bring them
	// (the source services are not part of this test). The week before
	// this one, in Shanghai, has ended: the first rollup publishes it.
	sh, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Now().In(sh)
	weekStart := evaluation.LastEnded(evaluation.Week, evaluation.DateOf(now, sh))
	lastWeek := evaluation.StartOf(weekStart, sh).Add(10 * time.Hour) // its Monday, 10:00
	if err := facts.SyncDealers(ctx, []evaluation.Dealer{{Code: "SH001", TimeZone: "Asia/Shanghai"},
		{Code: "BJ002", TimeZone: "Asia/Shanghai"}}, now); err != nil {
		t.Fatal(err)
	}
	seq := int64(0)
	var vins []string
	addRepairOrder := func(open time.Time, byAppointment bool) {
		t.Helper()
		seq++
		id := outbox.NewID()
		vins = append(vins, "LSVAU2180N"+id[:7])
		f := evaluation.Facts{RepairOrders: []evaluation.Versioned[evaluation.RepairOrderFact]{{Seq: seq,
			Fact: evaluation.RepairOrderFact{Dealer: "SH001", RepairOrderID: id, VIN: vins[len(vins)-1], Type: "maintenance",
				OpenTime: open, ByAppointment: byAppointment}}}}
		if _, err := facts.ApplyFacts(ctx, f, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	addRepairOrder(lastWeek, true)

	// Subscriptions: SH001's and BJ002's, each to kpi_period.published.
	shR, bjR := newReceiver(t), newReceiver(t)
	_, shSecret, err := e.svc.Create(manager("SH001"), "SH001", webhook.Subscription{URL: shR.srv.URL + "/bi",
		EventTypes: []string{events.WebhookKpiPeriodPublished}})
	if err != nil {
		t.Fatal(err)
	}
	_, bjSecret, err := e.svc.Create(manager("BJ002"), "BJ002", webhook.Subscription{URL: bjR.srv.URL + "/bi",
		EventTypes: []string{events.WebhookKpiPeriodPublished}})
	if err != nil {
		t.Fatal(err)
	}
	shR.secrets, bjR.secrets = []string{shSecret}, []string{bjSecret}

	// Both services share the webhook test's Temporal namespace: the
	// evaluation's relay starts the webhook's delivery workflows there.
	evalAddr := programtest.FreePorts(t, 1)[0]
	programtest.Start(t, evalBin, e.dir, slices.Concat(e.authEnv, e.temporalEnv, []string{
		"DATABASE_URL=" + evalDB.AppURL, "EVALUATION_GRPC_ADDR=" + evalAddr, "SERVICE_TOKEN_FILE=" + e.id.ServiceTokenFile,
		"CUSTOMER_GRPC_TARGET=127.0.0.1:1", "CALLBACK_GRPC_TARGET=127.0.0.1:1", "COMPLAINT_GRPC_TARGET=127.0.0.1:1",
		"LOG_LEVEL=warn",
	}))
	programtest.Start(t, e.bin, e.dir, e.baseEnv)

	conn, err := grpcclient.Dial(evalAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	rollups := evaluationv1.NewEvaluationWorkflowServiceClient(conn)
	token, err := os.ReadFile(e.id.ServiceTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	svcCtx := auth.WithToken(ctx, strings.TrimSpace(string(token)))
	// rollup is the worker's rollup loop: until no dealer is left dirty
	// (the evaluation service answers once it has started).
	rollup := func() {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			res, err := rollups.Rollup(svcCtx, &evaluationv1.RollupRequest{})
			if err != nil {
				if time.Now().After(deadline) {
					t.Fatalf("rollup: %v", err)
				}
				time.Sleep(100 * time.Millisecond)
				continue
			}
			if !res.GetMore() {
				return
			}
		}
	}

	// waitDelivered waits until SH001's receiver has every event of the
	// evaluation's outbox, then a moment more for any stray one.
	waitDelivered := func(n int) []outboxed {
		t.Helper()
		var out []outboxed
		waitUntil(t, 2*time.Minute, "the evaluation's events at SH001's receiver", func() bool {
			out = evaluationOutbox(t, evalDB)
			got, _, _, _, _ := shR.snapshot()
			return len(out) == n && len(got) >= n
		})
		time.Sleep(3 * time.Second)
		return evaluationOutbox(t, evalDB)
	}

	week := evaluation.PeriodResource("SH001", evaluation.Week, weekStart)
	rollup()
	rollup() // a rerun publishes nothing
	first := evaluationOutbox(t, evalDB)
	if !slices.ContainsFunc(first, func(o outboxed) bool { return o.resource == week }) {
		t.Fatalf("the rollup published %+v, want %s among them", first, week)
	}
	first = waitDelivered(len(first))

	// A late fact in the published week, then the rollup and a rerun:
	// revision 2 of that week (and of any other period the fact changes).
	addRepairOrder(lastWeek.Add(time.Hour), false)
	rollup()
	rollup()
	all := evaluationOutbox(t, evalDB)
	if len(all) <= len(first) {
		t.Fatalf("the late fact published nothing: %+v", all)
	}
	all = waitDelivered(len(all))

	got, badSig, dups, _, _ := shR.snapshot()
	t.Logf("SH001: %d events once each (%d duplicates dropped) for the %d in the evaluation's outbox", len(got), dups, len(all))
	if badSig != 0 {
		t.Errorf("%d deliveries failed verification", badSig)
	}
	want := map[string]outboxed{}
	for _, o := range all {
		if !o.relayed {
			t.Errorf("event %s of %s not marked relayed in the evaluation's outbox", o.id, o.resource)
		}
		want[o.id] = o
	}
	if len(got) != len(all) {
		t.Errorf("SH001's receiver has %d distinct events, want the %d published", len(got), len(all))
	}
	revisions := map[string][]int{} // resource -> revisions in arrival order
	for _, b := range got {
		o, ok := want[b.ID]
		if !ok {
			t.Errorf("SH001 got event %s (%s of %s) the evaluation did not publish", b.ID, b.Type, b.Resource)
			continue
		}
		if b.Type != events.WebhookKpiPeriodPublished || b.Dealer != "SH001" || b.Resource != o.resource {
			t.Errorf("event %s arrived as %s/%s/%s, want %s of SH001's %s", b.ID, b.Type, b.Dealer, b.Resource,
				events.WebhookKpiPeriodPublished, o.resource)
		}
		checkAggregatesOnly(t, b, vins)
		var d evaluation.PublishedPeriod
		if err := json.Unmarshal(b.Data, &d); err != nil {
			t.Fatalf("event %s: %v", b.ID, err)
		}
		if d.Dealer != "SH001" || evaluation.PeriodResource(d.Dealer, evaluation.Granularity(d.Granularity), mustDate(t, d.PeriodStart)) != b.Resource {
			t.Errorf("event %s of %s carries the period %+v", b.ID, b.Resource, d)
		}
		revisions[b.Resource] = append(revisions[b.Resource], d.Revision)
		if b.Resource == week {
			if a := appointmentRate(d); a.Denominator != int64(d.Revision) {
				t.Errorf("%s revision %d: appointment rate over %d repair orders, want %d", week, d.Revision, a.Denominator, d.Revision)
			}
		}
	}
	t.Logf("SH001's revisions per period, in arrival order: %v", revisions)
	if !slices.Equal(revisions[week], []int{1, 2}) {
		t.Errorf("%s arrived as revisions %v, want [1 2]", week, revisions[week])
	}

	if got, badSig, _, _, _ := bjR.snapshot(); len(got) != 0 || badSig != 0 {
		t.Errorf("BJ002's receiver got %d events (%d badly signed), want none of SH001's", len(got), badSig)
	}
}

// checkAggregatesOnly: the delivered body names no person or vehicle.
func checkAggregatesOnly(t *testing.T, b delivery.Body, vins []string) {
	t.Helper()
	raw := strings.ToLower(string(b.Data))
	for _, v := range vins {
		if strings.Contains(raw, strings.ToLower(v)) {
			t.Errorf("event %s carries the VIN %s: %s", b.ID, v, b.Data)
		}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b.Data, &fields); err != nil {
		t.Fatalf("event %s: %v", b.ID, err)
	}
	for k := range fields {
		if !slices.Contains([]string{"dealer", "granularity", "period_start", "period_end", "time_zone", "revision", "kpis",
			"composite_score", "target_set_version"}, k) {
			t.Errorf("event %s has the field %q beyond the aggregates: %s", b.ID, k, b.Data)
		}
	}
	for _, pii := range []string{"name", "mobile", "vin", "id_number", "phone"} {
		if strings.Contains(raw, `"`+pii) {
			t.Errorf("event %s has a %q field: %s", b.ID, pii, b.Data)
		}
	}
}

func appointmentRate(d evaluation.PublishedPeriod) evaluation.PublishedKPI {
	for _, k := range d.KPIs {
		if k.KPI == evaluation.AppointmentRate {
			return k
		}
	}
	return evaluation.PublishedKPI{}
}

func mustDate(t *testing.T, s string) evaluation.Date {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatalf("date %q: %v", s, err)
	}
	return d
}
