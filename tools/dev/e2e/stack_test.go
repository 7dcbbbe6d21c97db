package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/auth/authtest"
	"github.com/dealercare/dealercare/pkg/pgtest"
	"github.com/dealercare/dealercare/pkg/pii"
	"github.com/dealercare/dealercare/pkg/program/programtest"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	"github.com/dealercare/dealercare/tools/dev/stack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// program is one of the programs a stack runs.
type program struct {
	name, dir, pkg string
	addrEnv        string
	health         string // HTTP path that answers 200 when ready; "" for grpc.health.v1
}

var (
	customerProgram = program{"customer", "services/customer", "./cmd/customer", "CUSTOMER_GRPC_ADDR", ""}
	callbackProgram = program{"callback", "services/callback", "./cmd/callback", "CALLBACK_GRPC_ADDR", ""}
	workerProgram   = program{"worker", "workflows", "./cmd/worker", "WORKER_HEALTH_ADDR", "/healthz"}
	// The gateway's /healthz wants every upstream service; a stack of a
	// few waits for it to serve (its routes to those it has work).
	gatewayProgram = program{"gateway", "services/gateway", "./cmd/gateway", "GATEWAY_HTTP_ADDR", "/livez"}
)

// testStack is real programs on one database and a Temporal namespace of
// the test's own, each on a free port.
type testStack struct {
	t     *testing.T
	dir   string // logs
	db    *pgtest.DB
	id    *authtest.Issuer
	addrs map[string]string // program name -> address
	env   []string          // what every program gets
	bins  map[string]string
	// temporal is the frontend address, namespace the test's namespace.
	temporal, namespace string
}

// newStack builds progs and prepares their environment; extra is added
// to every program's (OTEL_EXPORTER_OTLP_ENDPOINT, ...).
func newStack(t *testing.T, progs []program, extra ...string) *testStack {
	t.Helper()
	s := &testStack{t: t, dir: t.TempDir(), addrs: map[string]string{}, bins: map[string]string{}}
	s.temporal = temporaltest.Address(t)
	s.namespace = temporaltest.Namespace(t, s.temporal)
	s.db = pgtest.New(t, "e2e", nil)
	s.id = authtest.New(t)
	root, err := stack.FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	ports := programtest.FreePorts(t, len(progs))
	for i, p := range progs {
		s.bins[p.name] = programtest.Build(t, filepath.Join(root, p.dir), p.pkg)
		s.addrs[p.name] = ports[i]
	}
	target := func(name string) string {
		if a, ok := s.addrs[name]; ok {
			return a
		}
		return "127.0.0.1:1" // not part of this stack: calls fail, nothing else does
	}
	s.env = append([]string{
		"AUTH_JWKS_URL=" + s.id.Config.JWKSURL, "AUTH_ISSUER=" + s.id.Config.Issuer, "AUTH_AUDIENCE=" + s.id.Config.Audience,
		"TEMPORAL_ADDRESS=" + s.temporal, "TEMPORAL_NAMESPACE=" + s.namespace,
		"SERVICE_TOKEN_FILE=" + s.id.ServiceTokenFile,
		"DATABASE_URL=" + s.db.AppURL, "MIGRATE_ON_START=true", "MIGRATE_DATABASE_URL=" + s.db.OwnerURL, "DATABASE_APP_ROLE=" + pgtest.AppRole,
		"SHUTDOWN_TIMEOUT=10s",
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
	}, pii.NewRandomKeys().Env()...)
	s.env = append(s.env, stack.TargetEnv(target)...)
	s.env = append(s.env, extra...)
	return s
}

// start starts p and waits until it is healthy.
func (s *testStack) start(p program) { s.t.Helper(); s.startProc(p) }

// startProc starts p with extra environment (it wins over the stack's),
// waits until it is healthy and returns the process (to kill it).
func (s *testStack) startProc(p program, extra ...string) *programtest.Proc {
	s.t.Helper()
	return s.startAt(p, s.addrs[p.name], s.dir, extra...)
}

// startAt starts p on addr, its log in dir, with extra environment, and
// waits until it is healthy (a second replica of p has an address and a log
// directory of its own).
func (s *testStack) startAt(p program, addr, dir string, extra ...string) *programtest.Proc {
	s.t.Helper()
	env := append(append(append([]string(nil), s.env...), extra...), p.addrEnv+"="+addr)
	proc := programtest.Start(s.t, s.bins[p.name], dir, env)
	var check func(context.Context) error
	if p.health != "" {
		check = stack.HTTPHealthCheck("http://" + addr + p.health)
	} else {
		c, conn, err := stack.GRPCHealthCheck(addr, "")
		if err != nil {
			s.t.Fatal(err)
		}
		defer conn.Close()
		check = c
	}
	if err := stack.WaitReady(context.Background(), p.name+" on "+addr, 2*time.Minute, nil, check); err != nil {
		s.t.Fatal(err)
	}
	return proc
}

// conn is a gRPC connection to a program of the stack.
func (s *testStack) conn(name string) *grpc.ClientConn {
	s.t.Helper()
	c, err := grpc.NewClient(s.addrs[name], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { c.Close() })
	return c
}

// as is a context carrying a token for p.
func (s *testStack) as(p auth.Principal) context.Context {
	return auth.WithToken(context.Background(), s.id.Token(s.t, p))
}
