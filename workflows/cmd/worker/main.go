// Command worker runs dealercare's Temporal workflows and activities.
package main

import (
	"github.com/dealercare/dealercare/pkg/program"
	"github.com/dealercare/dealercare/pkg/telemetry"
	"github.com/dealercare/dealercare/workflows/app"
)

func main() {
	program.Main(program.Program[app.Config]{
		Name:       "worker",
		LoadConfig: app.LoadConfig,
		Telemetry:  func(c app.Config) telemetry.Config { return c.Telemetry },
		New:        func(c app.Config) program.Process { return &app.Main{Config: c} },
	})
}
