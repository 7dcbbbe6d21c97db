// Command chaos is `make chaos`: it runs the whole stack from bin/ in a
// directory of its own, drives mixed operations through the REST API
// while killing every component with SIGKILL at random moments, then
// checks that nothing acknowledged was lost or done twice. It prints the
// counts and exits 1 on any loss or duplicate.
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
	ops := flag.Int("ops", 10000, "acknowledged operations to reach")
	clients := flag.Int("clients", 8, "concurrent clients")
	dealers := flag.Int("dealers", 4, "dealers the load is spread over")
	every := flag.Duration("kill-every", 8*time.Second, "mean time between two kills")
	pause := flag.Duration("pause", 3*time.Second, "longest pause before a killed component is started again")
	settle := flag.Duration("settle", 3*time.Minute, "bound of the wait for callbacks and outboxes after the load")
	keep := flag.Bool("keep", false, "keep the working directory (cluster, logs) afterwards")
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
	dir, err := os.MkdirTemp(paths.Clusters(), "chaos-")
	if err != nil {
		fail(err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	r, s, _, err := chaos.Run(ctx, chaos.Config{
		Dir: dir, Bin: filepath.Join(root, "bin"), Ops: *ops, Clients: *clients, Dealers: *dealers,
		KillEvery: *every, Pause: *pause, Settle: *settle, Log: os.Stderr,
	})
	if s != nil {
		s.Stop()
	}
	if !*keep && err == nil && r.OK() {
		os.RemoveAll(dir)
	} else {
		fmt.Fprintf(os.Stderr, "chaos: logs and data kept in %s\n", dir)
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
	fmt.Fprintln(os.Stderr, "chaos:", err)
	os.Exit(2)
}
