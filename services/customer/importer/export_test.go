package importer

import (
	"errors"
	"io"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// SetHooks lets the integration tests (package importer_test) stop a
// runner between batches or crash it inside one; see Runner's fields.
func SetHooks(r *Runner, beforeCommit func(batch int) error, afterCommit func(batch int)) {
	r.beforeCommit, r.afterCommit = beforeCommit, afterCommit
}

// HashLane is the lane of a customer tied to no other (see scan.lane).
func HashLane(dmsID string, lanes int) int { return (&scan{}).lane(dmsID, lanes) }

// PrepareFile does, with no database, the runner's own share of an import:
// it reads the file, parses and validates every row, plans each batch of
// batchSize rows against an empty archive and encrypts the ID numbers the
// plans write. It returns the customers and vehicles planned.
func PrepareFile(content []byte, batchSize int, index func(string) []byte, encrypt func(string) ([]byte, error)) (customers, vehicles int, err error) {
	sc, err := scanFile(content, "")
	if err != nil {
		return 0, 0, err
	}
	now := time.Now()
	p := &parser{h: sc.header, now: now, loc: time.UTC, index: index}
	rs := sc.src.records()
	if _, err := rs.next(); err != nil {
		return 0, 0, err
	}
	plan := func(pl *planner) error {
		for _, c := range pl.customerWrites() {
			if c.Customer.IDNumber != "" {
				if _, err := encrypt(c.Customer.IDNumber); err != nil {
					return err
				}
			}
			customers++
		}
		vehicles += len(pl.vehicleWrites())
		return nil
	}
	pl, n := newPlanner("D001", now, nil, nil), 0
	for {
		rec, err := rs.next()
		if errors.Is(err, io.EOF) {
			return customers, vehicles, plan(pl)
		}
		if err != nil {
			return 0, 0, err
		}
		if row, _ := sc.parse(p, rs.row, rec); row != nil {
			pl.add(row)
		}
		if n++; n == batchSize {
			if err := plan(pl); err != nil {
				return 0, 0, err
			}
			pl, n = newPlanner("D001", now, nil, nil), 0
		}
	}
}

// SetTelemetry makes a runner record to these providers instead of the
// global ones.
func SetTelemetry(r *Runner, tp trace.TracerProvider, mp metric.MeterProvider) error {
	return r.instrument(tp, mp)
}
