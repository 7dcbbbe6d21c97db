// Command customer runs the customer archive service (which also owns the
// dealer network's master data).
//
//	customer            serve gRPC (default)
//	customer migrate    apply the schema's migrations as the owner and exit
package main

import (
	"github.com/dealercare/dealercare/pkg/program"
	"github.com/dealercare/dealercare/pkg/telemetry"
	"github.com/dealercare/dealercare/services/customer/app"
)

func main() {
	program.Main(program.Program[app.Config]{
		Name:       "customer",
		LoadConfig: app.LoadConfig,
		Telemetry:  func(c app.Config) telemetry.Config { return c.Telemetry },
		New:        func(c app.Config) program.Process { return &app.Main{Config: c} },
		Migrate:    app.Migrate,
	})
}
