// Package chaos is `make chaos`: mixed operations through the REST API from
// clients that retry with idempotency keys, while a controller kills every
// program, the Temporal dev server and PostgreSQL with SIGKILL at random
// moments and starts them again; afterwards it checks from the databases
// and Temporal that every acknowledged write is there exactly once and
// nothing was done twice.
package chaos

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Config is one chaos run.
type Config struct {
	Dir     string // working directory (cluster, Temporal file, logs)
	Bin     string // the repository's bin/
	Ops     int    // acknowledged operations to reach
	Clients int
	Dealers int
	// KillEvery is the mean time between two kills; each kill is followed
	// by a pause of up to Pause before the component is started again.
	KillEvery, Pause time.Duration
	// Settle bounds the wait, after the load, for callbacks and outboxes.
	Settle time.Duration
	Log    io.Writer
}

// Report is what a run counted.
type Report struct {
	Acknowledged int
	ByKind       map[string]int
	Refused      map[string]int
	Samples      []string
	Requests     int64
	Retried      int64 // calls that needed more than one request
	Resent       int64 // requests that were retries
	Kills        map[string]int
	Unexpected   map[string]int // exits nobody caused, restarted
	Checks       Checks
	Took         time.Duration
}

// OK reports whether nothing was lost or duplicated.
func (r Report) OK() bool { return r.Checks.Losses() == 0 && r.Checks.Duplicates() == 0 }

// Print writes the counts.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "chaos: %d operations acknowledged in %s (%d HTTP requests; %d calls retried, %d requests resent)\n",
		r.Acknowledged, r.Took.Round(time.Second), r.Requests, r.Retried, r.Resent)
	fmt.Fprintf(w, "  by kind: %s\n", formatCounts(r.ByKind))
	if len(r.Refused) > 0 {
		fmt.Fprintf(w, "  refused (final non-retryable answer): %s\n", formatCounts(r.Refused))
		for _, s := range r.Samples {
			fmt.Fprintf(w, "    %s\n", truncate(s, 300))
		}
	}
	fmt.Fprintf(w, "  kills (SIGKILL): %s\n", formatCounts(r.Kills))
	if len(r.Unexpected) > 0 {
		fmt.Fprintf(w, "  exited by themselves (restarted): %s\n", formatCounts(r.Unexpected))
	}
	for _, f := range r.Checks.Findings {
		fmt.Fprintf(w, "  check %-36s rows %6d  losses %d  duplicates %d\n", f.Check, f.Rows, f.Losses, f.Duplicates)
		for _, e := range f.Examples {
			fmt.Fprintf(w, "      %s\n", truncate(e, 300))
		}
	}
	fmt.Fprintf(w, "chaos: rows checked %d, losses %d, duplicates %d\n", r.Checks.Rows(), r.Checks.Losses(), r.Checks.Duplicates())
}

func formatCounts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Run starts the stack, drives the load under the controller's kills,
// lets the stack settle and checks. The stack is left running for the
// caller (to plant faults, say), who stops it; it is nil when it did not
// start.
func Run(ctx context.Context, cfg Config) (Report, *Stack, *Ledger, error) {
	began := time.Now()
	logf := func(format string, args ...any) { fmt.Fprintf(cfg.Log, "chaos: "+format+"\n", args...) }
	s, err := StartStack(ctx, cfg.Dir, cfg.Bin)
	if err != nil {
		return Report{}, nil, nil, err
	}
	logf("stack ready: gateway %s, PostgreSQL and Temporal %s (%s)", s.GatewayURL(), s.TemporalAddr(), time.Since(began).Round(time.Millisecond))
	w := &workload{c: newClient(s.GatewayURL()), ledger: newLedger(fmt.Sprintf("%08x", rand.Uint32())), target: int64(cfg.Ops)}
	if err := w.setUp(ctx, s.Token, cfg.Dealers); err != nil {
		return Report{}, s, nil, fmt.Errorf("set-up: %w", err)
	}

	ctl := &controller{s: s, every: cfg.KillEvery, pause: cfg.Pause, logf: logf, kills: map[string]int{}, unexpected: map[string]int{}}
	ctlCtx, stopCtl := context.WithCancel(ctx)
	var ctlDone sync.WaitGroup
	ctlDone.Go(func() { ctl.loop(ctlCtx) })
	w.drive(ctx, cfg.Clients)
	stopCtl()
	ctlDone.Wait()
	if err := ctx.Err(); err != nil {
		return Report{}, s, w.ledger, err
	}
	logf("load done: %d operations acknowledged; %d kills; settling", w.ledger.Acknowledged(), ctl.total())
	// Whatever is down (a component exited by itself) comes back first.
	ctl.restartExited(ctx)

	// Callbacks fall due threeDCDelay after their close; outboxes drain.
	time.Sleep(threeDCDelay)
	if pending, err := WaitDrained(ctx, s.AdminURL(), cfg.Settle); len(pending) > 0 || err != nil {
		logf("outboxes not drained after %s: %v %v", cfg.Settle, pending, err)
	}
	waitTasks(ctx, s.AdminURL(), w.ledger, cfg.Settle, logf)
	checks, err := Check(ctx, s.AdminURL(), s.TemporalAddr(), w.ledger)
	if err != nil {
		return Report{}, s, w.ledger, fmt.Errorf("check: %w", err)
	}
	w.ledger.mu.Lock()
	r := Report{
		Acknowledged: int(w.done.Load()), ByKind: maps.Clone(w.ledger.ops), Refused: maps.Clone(w.ledger.refused), Samples: slices.Clone(w.ledger.samples),
		Requests: w.c.requests.Load(), Retried: w.c.retried.Load(), Resent: w.c.resent.Load(),
		Kills: ctl.kills, Unexpected: ctl.unexpected, Checks: checks, Took: time.Since(began),
	}
	w.ledger.mu.Unlock()
	return r, s, w.ledger, nil
}

// waitTasks waits up to limit until every closed repair order has its 3DC
// task (the workflow's timer fires threeDCDelay after the close). It
// counts the tasks of acknowledged closes only: a close whose answer was
// lost has a task too, and counting it would end the wait early.
func waitTasks(ctx context.Context, adminURL string, l *Ledger, limit time.Duration, logf func(string, ...any)) {
	l.mu.Lock()
	var closed []string
	for _, ro := range l.RepairOrders {
		if ro.Closed {
			closed = append(closed, ro.ID)
		}
	}
	l.mu.Unlock()
	deadline := time.Now().Add(limit)
	for {
		n, err := countTasks(ctx, adminURL, closed)
		if err == nil && n >= len(closed) {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			logf("%d of %d 3DC tasks after %s (%v)", n, len(closed), limit, err)
			return
		}
		time.Sleep(time.Second)
	}
}

func countTasks(ctx context.Context, adminURL string, sources []string) (int, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FROM callback.callback_tasks WHERE kind = '3DC' AND dealer_id LIKE 'CH%' AND source_id = ANY($1)`, sources).Scan(&n)
	return n, err
}

// controller kills one component at a time, at random moments, in rounds
// that each take every component once in a random order.
type controller struct {
	s            *Stack
	every, pause time.Duration
	logf         func(string, ...any)

	mu         sync.Mutex
	kills      map[string]int
	unexpected map[string]int
}

func (c *controller) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.kills {
		n += v
	}
	return n
}

func (c *controller) loop(ctx context.Context) {
	var deck []string
	for {
		wait := time.Duration(rand.Int64N(int64(2*c.every))) + 100*time.Millisecond
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		c.restartExited(ctx)
		if len(deck) == 0 {
			deck = c.s.Components()
			rand.Shuffle(len(deck), func(i, j int) { deck[i], deck[j] = deck[j], deck[i] })
		}
		comp := deck[0]
		deck = deck[1:]
		if err := c.s.Kill(comp); err != nil {
			c.logf("kill %s: %v", comp, err)
			continue
		}
		c.mu.Lock()
		c.kills[comp]++
		c.mu.Unlock()
		time.Sleep(time.Duration(rand.Int64N(int64(c.pause))) + 200*time.Millisecond)
		c.start(context.WithoutCancel(ctx), comp)
	}
}

// start starts comp again, retrying until it is up.
func (c *controller) start(ctx context.Context, comp string) {
	for attempt := 1; ; attempt++ {
		err := c.s.Start(ctx, comp)
		if err == nil {
			return
		}
		c.logf("start %s (attempt %d): %v", comp, attempt, err)
		if attempt >= 10 {
			return
		}
		time.Sleep(time.Second)
	}
}

// restartExited starts the programs that exited without being killed.
func (c *controller) restartExited(ctx context.Context) {
	for _, comp := range c.s.Exited() {
		c.mu.Lock()
		c.unexpected[comp]++
		c.mu.Unlock()
		c.logf("%s exited by itself; starting it again", comp)
		c.start(context.WithoutCancel(ctx), comp)
	}
}
