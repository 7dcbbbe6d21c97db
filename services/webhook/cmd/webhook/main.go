// Command webhook runs the webhook service (signed webhooks out to DMS and
// BI endpoints: subscriptions, secrets, the delivery log, and the worker of
// the delivery workflows).
//
//	webhook           serve gRPC, the outbox relay and the delivery worker (default)
//	webhook migrate   apply the schema's migrations as the owner and exit
package main

import (
	"github.com/dealercare/dealercare/pkg/program"
	"github.com/dealercare/dealercare/pkg/telemetry"
	"github.com/dealercare/dealercare/services/webhook/app"
)

func main() {
	program.Main(program.Program[app.Config]{
		Name:       "webhook",
		LoadConfig: app.LoadConfig,
		Telemetry:  func(c app.Config) telemetry.Config { return c.Telemetry },
		New:        func(c app.Config) program.Process { return &app.Main{Config: c} },
		Migrate:    app.Migrate,
	})
}
