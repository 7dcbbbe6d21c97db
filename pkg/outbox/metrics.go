package outbox

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/dealercare/dealercare/pkg/postgres"
)

// Metric names (OpenTelemetry; Prometheus sees them as
// dealercare_outbox_pending, dealercare_outbox_oldest_pending_age_seconds
// and dealercare_outbox_delivery_lag_seconds_*, deploy/monitoring).
const (
	MetricPending          = "dealercare.outbox.pending"
	MetricOldestPendingAge = "dealercare.outbox.oldest_pending_age"
	MetricDeliveryLag      = "dealercare.outbox.delivery.lag"
)

// relayMetrics are what operators alert on: how many events wait, how old
// the oldest is (a stuck relay or an unreachable Temporal shows here
// first), and how long delivered events waited.
type relayMetrics struct {
	lag   metric.Float64Histogram
	table attribute.KeyValue
	unreg metric.Registration
}

// newRelayMetrics registers the relay's instruments on the global meter
// provider; the gauges query the table when the reader collects.
func (r *Relay) newRelayMetrics(s settings) *relayMetrics {
	m := otel.Meter("dealercare/outbox")
	rm := &relayMetrics{table: attribute.String("outbox.table", s.table)}
	var err error
	rm.lag, err = m.Float64Histogram(MetricDeliveryLag, metric.WithUnit("s"),
		metric.WithDescription("Time from an event's recording to its hand-off to Temporal."),
		metric.WithExplicitBucketBoundaries(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600))
	if err != nil {
		s.log.Warn("outbox relay: metric", "name", MetricDeliveryLag, "error", err)
	}
	pending, err1 := m.Int64ObservableGauge(MetricPending, metric.WithUnit("{event}"),
		metric.WithDescription("Events recorded and not yet handed to Temporal."))
	oldest, err2 := m.Float64ObservableGauge(MetricOldestPendingAge, metric.WithUnit("s"),
		metric.WithDescription("Age of the oldest event not yet handed to Temporal (0 when none waits)."))
	if err1 != nil || err2 != nil {
		s.log.Warn("outbox relay: metrics", "error", err1, "error2", err2)
		return rm
	}
	rm.unreg, err = m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var n int64
		var age float64
		err := postgres.InTx(ctx, r.Pool, postgres.AllDealers(), func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `
SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8
FROM `+s.table+` WHERE delivered_at IS NULL`).Scan(&n, &age)
		})
		if err != nil {
			return err
		}
		o.ObserveInt64(pending, n, metric.WithAttributes(rm.table))
		o.ObserveFloat64(oldest, age, metric.WithAttributes(rm.table))
		return nil
	}, pending, oldest)
	if err != nil {
		s.log.Warn("outbox relay: metric callback", "error", err)
	}
	return rm
}

func (rm *relayMetrics) delivered(ctx context.Context, events []*claimed) {
	if rm == nil || rm.lag == nil {
		return
	}
	now := time.Now()
	for _, e := range events {
		rm.lag.Record(ctx, now.Sub(e.createdAt).Seconds(), metric.WithAttributes(rm.table))
	}
}

func (rm *relayMetrics) close() {
	if rm != nil && rm.unreg != nil {
		_ = rm.unreg.Unregister()
	}
}
