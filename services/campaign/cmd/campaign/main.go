// Command campaign runs the campaign service (活动: campaigns, recipients,
// messages, opt-outs, the messaging policy; the sending workflows run in
// the worker).
//
//	campaign           serve gRPC and the delivery-receipt endpoint (default)
//	campaign migrate   apply the schema's migrations as the owner and exit
package main

import (
	"github.com/dealercare/dealercare/pkg/program"
	"github.com/dealercare/dealercare/pkg/telemetry"
	"github.com/dealercare/dealercare/services/campaign/app"
)

func main() {
	program.Main(program.Program[app.Config]{
		Name:       "campaign",
		LoadConfig: app.LoadConfig,
		Telemetry:  func(c app.Config) telemetry.Config { return c.Telemetry },
		New:        func(c app.Config) program.Process { return &app.Main{Config: c} },
		Migrate:    app.Migrate,
	})
}
