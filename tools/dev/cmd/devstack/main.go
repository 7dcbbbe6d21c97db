// Command devstack runs dealercare locally.
//
//	devstack run                  start PostgreSQL, Temporal, the services and
//	                              the gateway, load the demo network, print a
//	                              token; Ctrl-C stops everything (make run)
//	devstack testenv -- CMD ARGS  run CMD with a throwaway PostgreSQL and
//	                              Temporal for the integration tests, exiting
//	                              with CMD's status (make test)
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/dealercare/dealercare/tools/dev/stack"
)

const usage = `usage:
  devstack run                   start the local stack (make run)
  devstack testenv -- CMD [ARG...]  run CMD with test servers (make test)
`

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	root, err := stack.LocateRepoRoot()
	if err != nil {
		return fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal a second one ends devstack at once; the next
	// run cleans up what it leaves behind.
	go func() {
		<-ctx.Done()
		stop()
	}()

	switch args[0] {
	case "run":
		if len(args) > 1 {
			fmt.Fprint(os.Stderr, usage)
			return 2
		}
		if err := stack.Run(ctx, root, os.Stdout, os.Stderr); err != nil {
			return fail(err)
		}
		return 0
	case "testenv":
		cmd := args[1:]
		if len(cmd) > 0 && cmd[0] == "--" {
			cmd = cmd[1:]
		}
		code, err := stack.TestEnv(ctx, root, cmd, os.Stderr)
		if err != nil {
			return fail(err)
		}
		return code
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
		return 0
	default:
		fmt.Fprintf(os.Stderr, "devstack: unknown command %q\n%s", args[0], usage)
		return 2
	}
}

func fail(err error) int {
	fmt.Fprintf(os.Stderr, "devstack: %v\n", err)
	return 1
}
