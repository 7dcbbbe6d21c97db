package postgres_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/pkg/pgtest"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
	"github.com/dealercare/dealercare/services/evaluation/postgres"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

type publication struct {
	dealer, resource string
	data             evaluation.PublishedPeriod
}

// publications reads the kpi_period.published events in the outbox, in
// the order they were added.
func publications(t *testing.T, db *pgtest.DB) []publication {
	t.Helper()
	var out []publication
	err := pg.InReadOnlyTx(context.Background(), db.Pool, pg.AllDealers(), func(tx pgx.Tx) error {
		rows, err := tx.Query(context.Background(), `SELECT dealer_id, kind, workflow_id, task_queue, payload
            FROM evaluation.outbox_events ORDER BY created_at, id`)
		if err != nil {
			return err
		}
		var dealer, kind, wf, queue string
		var raw []byte
		_, err = pgx.ForEachRow(rows, []any{&dealer, &kind, &wf, &queue, &raw}, func() error {
			var p events.WebhookPayload
			if err := json.Unmarshal(raw, &p); err != nil {
				return err
			}
			if kind != "webhook."+events.WebhookKpiPeriodPublished || p.Type != events.WebhookKpiPeriodPublished ||
				wf != events.WebhookWorkflowID(p.Resource) || queue != events.WebhookTaskQueue {
				t.Errorf("event %s %s to %s on %s", kind, p.Type, wf, queue)
			}
			var d evaluation.PublishedPeriod
			if err := json.Unmarshal(p.Data, &d); err != nil {
				return err
			}
			out = append(out, publication{dealer, p.Resource, d})
			return nil
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func repairOrder(dealer, id string, open time.Time, seq int64) evaluation.Facts {
	return evaluation.Facts{RepairOrders: []evaluation.Versioned[evaluation.RepairOrderFact]{{Seq: seq,
		Fact: evaluation.RepairOrderFact{Dealer: dealer, RepairOrderID: id, VIN: "VIN" + id, Type: "maintenance",
			OpenTime: open, ByAppointment: seq%2 == 0}}}}
}

// TestPeriodsPublishedOnceWhenEndedAndAgainWhenCorrected is the rule of
// kpi_period.published: the first rollup after a week or month has ended
// in the dealer's time zone publishes it once (also for a dealer with no
// new facts), reruns publish nothing, a late fact in a published period
// publishes revision 2, and a late fact in a period never published (the
// history before) publishes nothing.
func TestPeriodsPublishedOnceWhenEndedAndAgainWhenCorrected(t *testing.T) {
	db := pgtest.NewFrom(t, postgres.Schema, postgres.Migrations)
	s := postgres.NewStore(db.AppPool(t, pg.Config{}))
	ctx := context.Background()
	sh, _ := time.LoadLocation("Asia/Shanghai")
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, sh) // a Friday
	s.Now = func() time.Time { return now }
	if err := s.SyncDealers(ctx, []evaluation.Dealer{{Code: "SH001", TimeZone: "Asia/Shanghai"},
		{Code: "NY001", TimeZone: "America/New_York"}}, now); err != nil {
		t.Fatal(err)
	}
	seq := int64(0)
	add := func(dealer string, open time.Time) {
		seq++
		if _, err := s.ApplyFacts(ctx, repairOrder(dealer, outbox.NewID(), open, seq), "", ""); err != nil {
			t.Fatal(err)
		}
	}
	roll := func() {
		t.Helper()
		rollUp(t, s)
		if _, err := s.Publish(ctx); err != nil {
			t.Fatal(err)
		}
	}
	add("SH001", time.Date(2026, 10, 15, 9, 0, 0, 0, sh))
	add("SH001", time.Date(2026, 11, 10, 9, 0, 0, 0, sh))
	add("SH001", time.Date(2026, 11, 17, 9, 0, 0, 0, sh))
	add("NY001", time.Date(2026, 11, 17, 9, 0, 0, 0, ny))
	roll()
	roll() // a rerun publishes nothing
	got := publications(t, db)
	var names []string
	for _, p := range got {
		names = append(names, p.resource)
	}
	slices.Sort(names)
	// NY001 had nothing before the week of 11-16, and October has no figure there.
	want := []string{"dealers/SH001/kpis/month/2026-10-01", "dealers/SH001/kpis/week/2026-11-09"}
	if !slices.Equal(names, want) {
		t.Fatalf("published %v, want %v", names, want)
	}
	for _, p := range got {
		d := p.data
		if a := appointments(d); p.dealer != "SH001" || d.Dealer != "SH001" || d.Revision != 1 || d.TimeZone != "Asia/Shanghai" ||
			a.Denominator != 1 || a.Value == nil {
			t.Errorf("publication %+v", p)
		}
	}
	if w := got[0].data; w.Granularity == "week" && (w.PeriodStart != "2026-11-09" || w.PeriodEnd != "2026-11-15") {
		t.Errorf("week %s..%s", w.PeriodStart, w.PeriodEnd)
	}

	// Monday 00:30 in Shanghai: SH001's week of 11-16 has ended, NY001's
	// (Sunday 11:30 there) has not; neither dealer has new facts.
	now = time.Date(2026, 11, 23, 0, 30, 0, 0, sh)
	roll()
	got = publications(t, db)
	if len(got) != 3 || got[2].resource != "dealers/SH001/kpis/week/2026-11-16" || got[2].data.Revision != 1 {
		t.Fatalf("after SH001's week ended: %+v", got)
	}
	now = time.Date(2026, 11, 23, 0, 30, 0, 0, ny)
	roll()
	roll()
	got = publications(t, db)
	if len(got) != 4 || got[3].resource != "dealers/NY001/kpis/week/2026-11-16" || got[3].dealer != "NY001" {
		t.Fatalf("after NY001's week ended: %+v", got)
	}

	// A late fact in SH001's published week of 11-09: revision 2 of it
	// (and of the week after, where the vehicle counts as active for
	// churn_rate); one in August 2025 (its periods never published, and
	// it is active only until August 2026): nothing.
	add("SH001", time.Date(2026, 11, 11, 9, 0, 0, 0, sh))
	add("SH001", time.Date(2025, 8, 3, 9, 0, 0, 0, sh))
	roll()
	roll()
	got = publications(t, db)
	if len(got) != 6 {
		t.Fatalf("after late facts %d publications, want 6: %+v", len(got), got)
	}
	revised := map[string]evaluation.PublishedPeriod{}
	for _, p := range got {
		if p.data.Revision == 2 {
			revised[p.resource] = p.data
		}
	}
	if r, ok := revised["dealers/SH001/kpis/week/2026-11-09"]; len(revised) != 2 || !ok || appointments(r).Denominator != 2 {
		t.Errorf("revisions: %+v", revised)
	}
	if _, ok := revised["dealers/SH001/kpis/week/2026-11-16"]; !ok {
		t.Errorf("revisions: %+v", revised)
	}
}

func appointments(d evaluation.PublishedPeriod) evaluation.PublishedKPI {
	for _, k := range d.KPIs {
		if k.KPI == evaluation.AppointmentRate {
			return k
		}
	}
	return evaluation.PublishedKPI{}
}

// A period published under a span (the rollup workflow's activity) keeps
// the span's trace with its event (migration 0071), so the webhook
// delivery continues the rollup's trace.
func TestPublishedPeriodCarriesTheTrace(t *testing.T) {
	db := pgtest.NewFrom(t, postgres.Schema, postgres.Migrations)
	s := postgres.NewStore(db.AppPool(t, pg.Config{}))
	sh, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, sh)
	s.Now = func() time.Time { return now }
	ctx := context.Background()
	if err := s.SyncDealers(ctx, []evaluation.Dealer{{Code: "SH001", TimeZone: "Asia/Shanghai"}}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyFacts(ctx, repairOrder("SH001", outbox.NewID(), time.Date(2026, 11, 10, 9, 0, 0, 0, sh), 1), "", ""); err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(ctx)
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	defer otel.SetTracerProvider(prev)
	ctx, span := tp.Tracer("test").Start(ctx, "rollup")
	for more := true; more; {
		res, err := s.Rollup(ctx, 100) // publishes in each dealer's transaction
		if err != nil {
			t.Fatal(err)
		}
		more = res.More || res.Dealers > 0
	}
	if _, err := s.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	span.End()
	var n, traced int
	err := pg.InReadOnlyTx(context.Background(), db.Pool, pg.AllDealers(), func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE trace_context LIKE '00-' || $1 || '-%')
            FROM evaluation.outbox_events`, span.SpanContext().TraceID().String()).Scan(&n, &traced)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || traced != n {
		t.Fatalf("%d of %d published events carry the rollup's trace", traced, n)
	}
}
