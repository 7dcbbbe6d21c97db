package importer

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Runner processes running imports in the background. Every replica of
// the service runs one; leases keep two from working on one import, and
// an import whose runner died is resumed, after its lease expires, from
// each lane's last committed batch.
type Runner struct {
	store Store
	cfg   RunnerConfig
	now   func() time.Time
	log   *slog.Logger

	// Telemetry: a span per import run with a child span per batch (the
	// batch's queries are their children), rows by outcome, batch time.
	tracer   trace.Tracer
	rows     metric.Int64Counter
	batchDur metric.Float64Histogram

	// Test hooks. beforeCommit runs inside each batch's transaction after
	// its writes; an error aborts the batch and ends Run with that error
	// without giving the import up, as a crash would. afterCommit runs
	// after each committed batch.
	beforeCommit func(batch int) error
	afterCommit  func(batch int)
}

// NewRunner returns a Runner; now is the clock (time.Now in production).
func NewRunner(store Store, cfg RunnerConfig, now func() time.Time, log *slog.Logger) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Runner{store: store, cfg: cfg.withDefaults(), now: now, log: log}
	return r, r.instrument(otel.GetTracerProvider(), otel.GetMeterProvider())
}

// instrument creates the runner's spans and metrics from these providers.
func (r *Runner) instrument(tp trace.TracerProvider, mp metric.MeterProvider) error {
	const scope = "github.com/dealercare/dealercare/services/customer/importer"
	r.tracer = tp.Tracer(scope)
	m := mp.Meter(scope)
	var err error
	if r.rows, err = m.Int64Counter("dealercare.import.rows", metric.WithUnit("{row}"),
		metric.WithDescription("DMS import rows committed, by outcome: inserted, updated, unchanged, failed")); err != nil {
		return err
	}
	r.batchDur, err = m.Float64Histogram("dealercare.import.batch.duration", metric.WithUnit("s"),
		metric.WithDescription("Time to write one DMS import batch, from its transaction's start to its commit, by result"))
	return err
}

// Sessions is the most database connections the runner's imports hold at
// once: a writer per lane of each import it runs.
func (r *Runner) Sessions() int { return r.cfg.Workers * r.cfg.Writers }

// errAbandoned ends Run when a test hook simulated a crash.
var errAbandoned = errors.New("importer: import abandoned")

// Run processes imports until ctx is cancelled, then gives up the imports
// it holds (so another replica resumes them at once) and returns nil.
func (r *Runner) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for range r.cfg.Workers {
		wg.Go(func() {
			if err := r.work(ctx); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); errors.Is(err, errAbandoned) {
		return err
	}
	return nil
}

// work claims and runs imports one after another.
func (r *Runner) work(ctx context.Context) error {
	wait := r.cfg.PollInterval
	for ctx.Err() == nil {
		job, err := r.store.ClaimImport(ctx, r.cfg.Owner, r.cfg.Lease)
		switch {
		case err != nil && ctx.Err() == nil:
			// The database is unreachable: back off rather than log every
			// poll.
			r.log.Error("claim import", "error", err, "retry_in", wait)
		case err == nil:
			wait = r.cfg.PollInterval
		}
		if job == nil {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			if err != nil {
				wait = min(2*wait, r.cfg.MaxBackoff)
			}
			continue
		}
		if err := r.run(ctx, job); errors.Is(err, errAbandoned) {
			return err
		}
	}
	return nil
}

// giveUp releases the import: at once when the runner is stopping, after
// a backoff when err is a failure (logged; the batch will be retried).
func (r *Runner) giveUp(ctx context.Context, log *slog.Logger, job *Job, err error) error {
	var backoff time.Duration
	msg := ""
	if err != nil && ctx.Err() == nil {
		backoff, msg = min(time.Second<<min(job.Attempts, 16), r.cfg.MaxBackoff), err.Error()
		log.Error("import batch failed; retrying later", "error", err, "retry_in", backoff)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if rerr := r.store.ReleaseImport(rctx, job.Lease, backoff, msg); rerr != nil && !errors.Is(rerr, ErrLeaseLost) {
		log.Error("release import", "error", rerr)
	}
	return err
}
