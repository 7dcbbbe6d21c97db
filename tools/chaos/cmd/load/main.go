// Command load is `make load`: it runs the whole stack from bin/ in a
// directory of its own, seeds a few dealers through the REST API, then
// sends a steady mix of reads and writes (valid tokens, an
// Idempotency-Key on every write) through the gateway with vegeta for
// -duration, and prints throughput, p50/p99 per route, errors and the
// memory of every process before, during and after. It exits 1 on any
// failed request.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/dealercare/dealercare/tools/chaos"
	"github.com/dealercare/dealercare/tools/dev/stack"
)

func main() {
	duration := flag.Duration("duration", 10*time.Minute, "how long the load runs")
	rate := flag.Int("rate", 20, "requests a second")
	dealers := flag.Int("dealers", 4, "dealers the load is spread over")
	customers := flag.Int("customers", 50, "customers (each with a vehicle) seeded per dealer")
	sample := flag.Duration("sample", time.Minute, "how often the processes' memory is read")
	keep := flag.Bool("keep", false, "keep the working directory (cluster, logs, results) afterwards")
	flag.Parse()

	root, err := stack.LocateRepoRoot()
	if err != nil {
		fail(err)
	}
	paths := stack.Paths{Root: root}
	if err := paths.MakeRunDir(); err != nil {
		fail(err)
	}
	if err := paths.MakeClustersDir(); err != nil {
		fail(err)
	}
	dir, err := os.MkdirTemp(paths.Clusters(), "load-")
	if err != nil {
		fail(err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	fmt.Printf("load: %s, %d requests a second over %d dealers, started %s\n", *duration, *rate, *dealers, time.Now().UTC().Format(time.RFC3339))
	r, s, err := chaos.RunLoad(ctx, chaos.LoadConfig{
		Dir: dir, Bin: filepath.Join(root, "bin"), Duration: *duration, Rate: *rate, Dealers: *dealers,
		Customers: *customers, Sample: *sample, Log: os.Stderr,
	})
	if s != nil {
		s.Stop()
	}
	if !*keep && err == nil && r.OK() {
		os.RemoveAll(dir)
	} else {
		fmt.Fprintf(os.Stderr, "load: logs, data and results kept in %s\n", dir)
	}
	if err != nil {
		fail(err)
	}
	r.Print(os.Stdout)
	if !r.OK() {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "load:", err)
	os.Exit(2)
}
