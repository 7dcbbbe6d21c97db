package stack

import (
	"fmt"
	"strings"

	"github.com/dealercare/dealercare/pkg/auth"
)

// Every fixed address of `devstack run` is in this file. Adding a service
// is one line in services; every program then gets its gRPC target.
const (
	postgresPort = 55432
	temporalAddr = "127.0.0.1:7233"
)

// services are the programs of bin/ that `devstack run` starts, in order;
// they are stopped in reverse order.
var services = []service{
	{name: "customer", addrEnv: "CUSTOMER_GRPC_ADDR", addr: "127.0.0.1:9101", health: healthGRPC, database: true, personalData: true},
	{name: "complaint", addrEnv: "COMPLAINT_GRPC_ADDR", addr: "127.0.0.1:9103", health: healthGRPC, database: true, serviceToken: true},
	{name: "callback", addrEnv: "CALLBACK_GRPC_ADDR", addr: "127.0.0.1:9102", health: healthGRPC, database: true, serviceToken: true},
	{name: "evaluation", addrEnv: "EVALUATION_GRPC_ADDR", addr: "127.0.0.1:9104", health: healthGRPC, database: true, serviceToken: true},
	{name: "campaign-provider", addrEnv: "PROVIDER_HTTP_ADDR", addr: "127.0.0.1:9185", health: healthHTTP},
	{name: "campaign", addrEnv: "CAMPAIGN_GRPC_ADDR", addr: "127.0.0.1:9105", health: healthGRPC, database: true, serviceToken: true},
	{name: "worker", addrEnv: "WORKER_HEALTH_ADDR", addr: "127.0.0.1:9190", health: healthHTTP, serviceToken: true},
	{name: "webhook", addrEnv: "WEBHOOK_GRPC_ADDR", addr: "127.0.0.1:9106", health: healthGRPC, database: true, personalData: true, serviceToken: true},
	{name: "gateway", addrEnv: "GATEWAY_HTTP_ADDR", addr: "127.0.0.1:8080", health: healthHTTP, database: true},
}

// The services `devstack run` itself talks to.
const (
	gatewayService = "gateway"  // its URL is printed
	demoService    = "customer" // loads the demo network
)

// The dev database and its roles.
var devDatabase = Database{
	Name:        "dealercare",
	Owner:       "dealercare_owner",
	App:         "dealercare_app",
	AppPassword: "dealercare_app",
}

type healthKind int

const (
	healthGRPC healthKind = iota // grpc.health.v1 on addr reports SERVING
	healthHTTP                   // GET http://addr/healthz answers 200
)

// service is a program `devstack run` starts.
type service struct {
	name    string // its binary in bin/; also names its log and pid file
	addrEnv string // the variable it reads its listen address from
	addr    string
	health  healthKind
	// database: `<name> migrate` runs before any service starts, and the
	// service gets DATABASE_URL for the app role.
	database bool
	// personalData: the service gets the PII_* keys that encrypt personal
	// data; no other process sees them.
	personalData bool
	// serviceToken: the service gets SERVICE_TOKEN_FILE, a "service" role token
	// for calling other services.
	serviceToken bool
}

// targetEnv names the variable other programs find a gRPC service by, e.g.
// CUSTOMER_GRPC_TARGET.
func (s service) targetEnv() string {
	return strings.ToUpper(strings.ReplaceAll(s.name, "-", "_")) + "_GRPC_TARGET"
}

func serviceNamed(name string) (service, error) {
	for _, s := range services {
		if s.name == name {
			return s, nil
		}
	}
	return service{}, fmt.Errorf("no service %q in the devstack services table", name)
}

// stackSettings are the values the services' environment is built from.
type stackSettings struct {
	keysDir          string
	appDatabaseURL   string
	serviceTokenFile string
	piiEnv           []string // PII_KEYS, PII_CURRENT_KEY, PII_INDEX_KEY
}

// commonEnv is what every program gets: how to verify tokens, where
// Temporal is, and the target of every gRPC service.
func commonEnv(st stackSettings) []string {
	env := []string{
		"AUTH_JWKS_URL=" + JWKSPath(st.keysDir),
		"AUTH_ISSUER=" + auth.DevIssuer,
		"AUTH_AUDIENCE=" + auth.DevAudience,
		"TEMPORAL_ADDRESS=" + temporalAddr,
	}
	return append(env, TargetEnv(func(s string) string {
		svc, _ := serviceNamed(s)
		return svc.addr
	})...)
}

// TargetEnv is the target variable of every gRPC service in the table
// (CUSTOMER_GRPC_TARGET=..., ...), each set to addr(name), for a stack
// that runs the programs on addresses of its own.
func TargetEnv(addr func(name string) string) []string {
	var env []string
	for _, s := range services {
		if s.health == healthGRPC {
			env = append(env, s.targetEnv()+"="+addr(s.name))
		}
	}
	return env
}

// serviceEnv is s's complete environment: base (devstack's own, without
// variables that would point a service at the admin connection) plus
// commonEnv and s's own settings.
func serviceEnv(base []string, s service, st stackSettings) []string {
	env := append(commonEnv(st), s.addrEnv+"="+s.addr)
	if s.database {
		env = append(env, "DATABASE_URL="+st.appDatabaseURL)
	}
	if s.personalData {
		env = append(env, st.piiEnv...)
	}
	if s.serviceToken {
		env = append(env, "SERVICE_TOKEN_FILE="+st.serviceTokenFile)
	}
	return MergeEnv(WithoutEnv(base, "DATABASE_URL", "MIGRATE_DATABASE_URL"), env...)
}
