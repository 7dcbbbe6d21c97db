// Command complaint runs the complaint service (closed-loop complaints with
// SLA clocks; the escalation workflows run in the worker).
//
//	complaint           serve gRPC (default)
//	complaint migrate   apply the schema's migrations as the owner and exit
package main

import (
	"github.com/dealercare/dealercare/pkg/program"
	"github.com/dealercare/dealercare/pkg/telemetry"
	"github.com/dealercare/dealercare/services/complaint/app"
)

func main() {
	program.Main(program.Program[app.Config]{
		Name:       "complaint",
		LoadConfig: app.LoadConfig,
		Telemetry:  func(c app.Config) telemetry.Config { return c.Telemetry },
		New:        func(c app.Config) program.Process { return &app.Main{Config: c} },
		Migrate:    app.Migrate,
	})
}
