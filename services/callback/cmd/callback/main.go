// Command callback runs the callback service (回访: tasks, attempts,
// questionnaires, reports; the callback workflows run in the worker).
//
//	callback           serve gRPC (default)
//	callback migrate   apply the schema's migrations as the owner and exit
package main

import (
	"github.com/dealercare/dealercare/pkg/program"
	"github.com/dealercare/dealercare/pkg/telemetry"
	"github.com/dealercare/dealercare/services/callback/app"
)

func main() {
	program.Main(program.Program[app.Config]{
		Name:       "callback",
		LoadConfig: app.LoadConfig,
		Telemetry:  func(c app.Config) telemetry.Config { return c.Telemetry },
		New:        func(c app.Config) program.Process { return &app.Main{Config: c} },
		Migrate:    app.Migrate,
	})
}
