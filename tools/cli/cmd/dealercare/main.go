// Command dealercare is the REST API from a terminal (see package cli):
//
//	dealercare login --url http://127.0.0.1:8080 --dev --role agent --dealer SH001
//	dealercare list customers --dealer SH001
//	dealercare import dms.csv --dealer SH001
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/dealercare/dealercare/tools/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := (&cli.Main{Stdout: os.Stdout, Stderr: os.Stderr}).Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
