// Command evaluation runs the evaluation service (评价: KPIs, targets,
// rankings; its feed and rollup workflows run in the worker).
//
//	evaluation           serve gRPC (default)
//	evaluation migrate   apply the schema's migrations as the owner and exit
package main

import (
	"github.com/dealercare/dealercare/pkg/program"
	"github.com/dealercare/dealercare/pkg/telemetry"
	"github.com/dealercare/dealercare/services/evaluation/app"
)

func main() {
	program.Main(program.Program[app.Config]{
		Name:       "evaluation",
		LoadConfig: app.LoadConfig,
		Telemetry:  func(c app.Config) telemetry.Config { return c.Telemetry },
		New:        func(c app.Config) program.Process { return &app.Main{Config: c} },
		Migrate:    app.Migrate,
	})
}
