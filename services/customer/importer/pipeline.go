package importer

// The pipeline of one claimed import: its rows are parsed into batches per
// lane (produce), each lane written by a writer of its own (runLanes,
// write, writeBatch), each batch planned against the archive and written
// in one transaction (apply).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/dealercare/dealercare/pkg/calendar"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// batch is a run of parsed rows of one lane, written in one transaction.
type batch struct {
	num     int // in the order batches were cut, across lanes (test hooks)
	lane    int
	rows    []*row
	errs    []RowError // rows rejected while parsing
	failed  int        // how many rows errs covers
	data    int        // data rows in the batch
	lastRow int        // row number of the batch's last record
	last    bool       // the lane's last batch
	err     error      // reading the file failed
}

// run processes one claimed import as far as it can.
//
// An import's rows are written in lanes (Store.StartImport fixes how many
// when the import first starts): lanes 1..n-1, written at once by one
// writer each, take the customers by a hash of their DMS id; lane 0 takes
// the customers that share a vehicle with another customer in the file
// and is written after the others, alone (see scan.lane). Each lane
// commits its batches in file order with its own checkpoint, so a resumed
// import skips exactly what each lane committed.
func (r *Runner) run(ctx context.Context, job *Job) error {
	l := job.Lease
	log := r.log.With("dealer", l.Dealer, "import", l.ImportID)
	sc, err := scanFile(job.Content, job.Encoding)
	job.Content = nil // sc.src holds what it needs
	var fe *fileError
	var lanes []int
	switch {
	case errors.As(err, &fe):
		log.Info("import failed: the file cannot be read", "reason", fe.msg)
		err = r.store.FailImport(ctx, l, fe.msg)
	case err == nil:
		n := 1 // one writer: everything in lane 0
		if r.cfg.Writers > 1 {
			n = 1 + r.cfg.Writers
		}
		lanes, err = r.store.StartImport(ctx, l, sc.src.encoding, sc.total, n)
	}
	switch {
	case errors.Is(err, ErrLeaseLost):
		log.Info("import taken over by another runner")
		return nil
	case err != nil:
		return r.giveUp(ctx, log, job, err)
	case fe != nil:
		return nil
	}
	if slices.ContainsFunc(lanes, func(last int) bool { return last > 1 }) {
		log.Info("import resumed", "lanes_after_rows", lanes)
	}

	ctx, span := r.tracer.Start(ctx, "import", trace.WithAttributes(
		attribute.String("dealercare.dealer", l.Dealer), attribute.String("dealercare.import.id", l.ImportID),
		attribute.Int("dealercare.import.total_rows", sc.total), attribute.Int("dealercare.import.lanes", len(lanes))))
	defer span.End()

	loc := calendar.Zone(job.TimeZone)
	p := &parser{h: sc.header, loc: loc, index: r.store.IndexIDNumber}
	// The parallel lanes (none with one writer), then the serial lane 0,
	// which finishes the import.
	var parallel []int
	for lane := 1; lane < len(lanes); lane++ {
		parallel = append(parallel, lane)
	}
	for _, phase := range [][]int{parallel, {0}} {
		if len(phase) == 0 {
			continue
		}
		if err := r.runLanes(ctx, job.Lease, sc, p, lanes, phase); err != nil {
			switch {
			case errors.Is(err, errAbandoned):
				return err
			case errors.Is(err, ErrLeaseLost):
				log.Info("import taken over by another runner")
				return nil
			case ctx.Err() != nil:
				err = nil // stopping: give the import up at once
			}
			if err != nil {
				span.SetStatus(otelcodes.Error, err.Error())
			}
			return r.giveUp(ctx, log, job, err)
		}
	}
	log.Info("import finished", "rows", sc.total)
	return nil
}

// runLanes parses the rows of the given lanes once and writes each lane's
// batches with a writer of its own; the first writer to fail stops the
// others, and its error is returned.
func (r *Runner) runLanes(ctx context.Context, l Lease, sc *scan, p *parser, lanes, phase []int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	outs := make(map[int]chan *batch, len(phase))
	for _, lane := range phase {
		outs[lane] = make(chan *batch, 2) // parse ahead while lanes write
	}
	var wg sync.WaitGroup
	wg.Go(func() { r.produce(ctx, sc, p, lanes, phase, outs) })
	for _, lane := range phase {
		wg.Go(func() {
			if err := r.write(ctx, l, p.loc, lane, lanes[lane], outs[lane]); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// write commits one lane's batches in order, from the lane's checkpoint.
func (r *Runner) write(ctx context.Context, l Lease, loc *time.Location, lane, from int, batches <-chan *batch) error {
	for b := range batches {
		if b.err != nil {
			return b.err
		}
		if b.data == 0 && !(b.last && lane == 0) {
			continue // nothing to write; only lane 0's end finishes the import
		}
		if err := r.writeBatch(ctx, l, loc, lane, from, b); err != nil {
			return err
		}
		from = b.lastRow
		if r.afterCommit != nil {
			r.afterCommit(b.num)
		}
	}
	return nil
}

// writeBatch commits one batch of a lane whose checkpoint is from, in a
// span of its own.
func (r *Runner) writeBatch(ctx context.Context, l Lease, loc *time.Location, lane, from int, b *batch) (err error) {
	ctx, span := r.tracer.Start(ctx, "import batch", trace.WithAttributes(
		attribute.Int("dealercare.import.lane", lane), attribute.Int("dealercare.import.rows", b.data),
		attribute.Int("dealercare.import.last_row", b.lastRow)))
	began := time.Now()
	var progress Progress
	defer func() {
		result := "committed"
		if err != nil {
			result = "failed"
			span.RecordError(err)
			span.SetStatus(otelcodes.Error, err.Error())
		}
		r.batchDur.Record(ctx, time.Since(began).Seconds(), metric.WithAttributes(attribute.String("result", result)))
		span.End()
	}()
	now := r.now().In(loc)
	err = r.store.ApplyBatch(ctx, l, lane, from, func(tx BatchTx) (Progress, error) {
		p, err := r.apply(ctx, tx, l.Dealer, now, b)
		if err == nil && r.beforeCommit != nil {
			if herr := r.beforeCommit(b.num); herr != nil {
				return p, fmt.Errorf("%w: %w", errAbandoned, herr)
			}
		}
		progress = p
		return p, err
	})
	if err != nil {
		if errors.Is(err, errAbandoned) || errors.Is(err, ErrLeaseLost) {
			return err
		}
		return fmt.Errorf("lane %d, rows %d-%d: %w", lane, from+1, b.lastRow, err)
	}
	for outcome, n := range map[string]int{"inserted": progress.Inserted, "updated": progress.Updated,
		"unchanged": progress.Unchanged, "failed": progress.Failed} {
		if n > 0 {
			r.rows.Add(ctx, int64(n), metric.WithAttributes(attribute.String("outcome", outcome)))
		}
	}
	return nil
}

// produce parses the rows of the lanes in phase that come after each
// lane's checkpoint (from) into batches, sent to the lane's channel in
// outs; every lane's last batch, sent at the end of the file, is marked
// last. It returns when ctx is done.
func (r *Runner) produce(ctx context.Context, sc *scan, p *parser, from, phase []int, outs map[int]chan *batch) {
	defer func() {
		for _, out := range outs {
			close(out)
		}
	}()
	send := func(b *batch) bool {
		select {
		case outs[b.lane] <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	fail := func(err error) {
		for _, lane := range phase {
			if !send(&batch{lane: lane, err: err}) {
				return
			}
		}
	}
	rs := sc.src.records()
	if _, err := rs.next(); err != nil { // the header, read fine by scan
		fail(err)
		return
	}
	num := 0
	open := make(map[int]*batch, len(phase))
	for _, lane := range phase {
		num++
		open[lane] = &batch{num: num, lane: lane, lastRow: from[lane]}
	}
	for {
		rec, err := rs.next()
		if errors.Is(err, io.EOF) {
			for _, lane := range phase {
				b := open[lane]
				b.last = true
				if !send(b) {
					return
				}
			}
			return
		}
		if err != nil {
			fail(err)
			return
		}
		if blank(rec) {
			continue
		}
		lane := sc.lane(sc.header.value(rec, colDMSCustomerID), len(from))
		b := open[lane]
		if b == nil || rs.row <= from[lane] {
			continue
		}
		b.lastRow = rs.row
		if b.data == 0 {
			p.now = r.now().In(p.loc)
		}
		b.data++
		row, errs := sc.parse(p, rs.row, rec)
		if row == nil {
			b.errs = append(b.errs, errs...)
			b.failed++
		} else {
			b.rows = append(b.rows, row)
		}
		if b.data == r.cfg.BatchSize {
			if !send(b) {
				return
			}
			num++
			open[lane] = &batch{num: num, lane: lane, lastRow: b.lastRow}
		}
	}
}

// apply plans a batch against the archive and writes it; it runs inside
// the batch's transaction.
func (r *Runner) apply(ctx context.Context, tx BatchTx, dealer string, now time.Time, b *batch) (Progress, error) {
	dms := make([]string, 0, len(b.rows))
	var vins, vehicleDMS []string
	seen := make(map[string]bool, len(b.rows))
	for _, row := range b.rows {
		if !seen[row.cust.DMSID] {
			seen[row.cust.DMSID] = true
			dms = append(dms, row.cust.DMSID)
		}
		if row.veh != nil {
			vins = append(vins, row.veh.VIN)
			if row.veh.DMSID != "" {
				vehicleDMS = append(vehicleDMS, row.veh.DMSID)
			}
		}
	}
	customers, err := tx.Customers(ctx, dms)
	if err != nil {
		return Progress{}, fmt.Errorf("load customers: %w", err)
	}
	vehicles, err := tx.Vehicles(ctx, vehicleDMS, vins)
	if err != nil {
		return Progress{}, fmt.Errorf("load vehicles: %w", err)
	}
	pl := newPlanner(dealer, now, customers, vehicles)
	for _, row := range b.rows {
		pl.add(row)
	}
	cOut, err := tx.WriteCustomers(ctx, pl.customerWrites())
	if err != nil {
		return Progress{}, fmt.Errorf("write customers: %w", err)
	}
	vOut, err := tx.WriteVehicles(ctx, pl.vehicleWrites())
	if err != nil {
		return Progress{}, fmt.Errorf("write vehicles: %w", err)
	}
	errs := append(b.errs, pl.errs...)
	if len(errs) > 0 {
		if err := tx.AddErrors(ctx, errs); err != nil {
			return Progress{}, fmt.Errorf("record row errors: %w", err)
		}
	}
	rejected := map[int]bool{}
	for _, e := range pl.errs {
		rejected[e.Row] = true
	}
	ins, upd, unch := pl.count(cOut, vOut)
	return Progress{
		Rows: b.data, LastRow: b.lastRow,
		Inserted: ins, Updated: upd, Unchanged: unch, Failed: b.failed + len(rejected),
		Done: b.last && b.lane == 0,
	}, nil
}
