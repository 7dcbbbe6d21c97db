// Command gateway serves dealercare's REST API (grpc-gateway) in front of
// the gRPC services.
//
//	gateway            serve HTTP (default)
//	gateway migrate    apply the gateway schema's migrations and exit
package main

import (
	"github.com/dealercare/dealercare/pkg/program"
	"github.com/dealercare/dealercare/pkg/telemetry"
	"github.com/dealercare/dealercare/services/gateway/app"
	"github.com/dealercare/dealercare/services/gateway/idempotency"
)

func main() {
	program.Main(program.Program[app.Config]{
		Name:       "gateway",
		LoadConfig: app.LoadConfig,
		Telemetry:  func(c app.Config) telemetry.Config { return c.Telemetry },
		New:        func(c app.Config) program.Process { return &app.Main{Config: c} },
		Migrate:    idempotency.Migrate,
	})
}
