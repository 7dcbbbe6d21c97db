package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/pii"
	"github.com/dealercare/dealercare/tools/dev/stack"
)

// Components the controller kills, in the order of the first round.
const (
	Postgres = "postgres"
	Temporal = "temporal"
)

// program is one of bin/'s programs the stack runs, as `devstack run`
// starts it (tools/dev/stack), but on ports of its own.
type program struct {
	name     string
	addrEnv  string
	health   string // "grpc" or "http"
	database bool   // runs `<name> migrate` first and gets DATABASE_URL
	personal bool   // gets the PII_* keys
	token    bool   // gets SERVICE_TOKEN_FILE
	killable bool   // the controller kills it (not the fake SMS provider)
	extraEnv func(s *Stack) []string

	addr string
	mu   sync.Mutex
	proc *stack.Process
	runs int
}

// programs are started in this order and stopped in reverse.
func programs() []*program {
	return []*program{
		{name: "customer", addrEnv: "CUSTOMER_GRPC_ADDR", health: "grpc", database: true, personal: true, killable: true},
		{name: "complaint", addrEnv: "COMPLAINT_GRPC_ADDR", health: "grpc", database: true, token: true, killable: true},
		{name: "callback", addrEnv: "CALLBACK_GRPC_ADDR", health: "grpc", database: true, token: true, killable: true},
		{name: "evaluation", addrEnv: "EVALUATION_GRPC_ADDR", health: "grpc", database: true, token: true, killable: true},
		{name: "campaign-provider", addrEnv: "PROVIDER_HTTP_ADDR", health: "http", extraEnv: func(s *Stack) []string {
			return []string{"PROVIDER_SMTP_ADDR=" + s.smtpAddr, "PROVIDER_RECEIPT_URL=http://" + s.receiptsAddr + "/v1/receipts"}
		}},
		{name: "campaign", addrEnv: "CAMPAIGN_GRPC_ADDR", health: "grpc", database: true, token: true, killable: true, extraEnv: func(s *Stack) []string {
			provider := "http://" + s.program("campaign-provider").addr
			return []string{"SMS_GATEWAY_URL=" + provider, "WECHAT_API_URL=" + provider, "SMTP_ADDR=" + s.smtpAddr, "CAMPAIGN_RECEIPTS_ADDR=" + s.receiptsAddr}
		}},
		{name: "worker", addrEnv: "WORKER_HEALTH_ADDR", health: "http", token: true, killable: true},
		{name: "webhook", addrEnv: "WEBHOOK_GRPC_ADDR", health: "grpc", database: true, personal: true, token: true, killable: true, extraEnv: func(*Stack) []string {
			return []string{"WEBHOOK_ALLOW_LOOPBACK=true"}
		}},
		{name: "gateway", addrEnv: "GATEWAY_HTTP_ADDR", health: "http", database: true, killable: true, extraEnv: func(*Stack) []string {
			// A real client retries a key that is still in flight; a short
			// lease lets it take over the key of a gateway that was killed.
			return []string{"GATEWAY_RATE_LIMIT_RPS=0", "IDEMPOTENCY_IN_FLIGHT_TIMEOUT=15s"}
		}},
	}
}

// Stack is a dealercare installation under Dir made of bin/'s programs, a
// PostgreSQL cluster and a Temporal dev server, each of which can be
// killed with SIGKILL and started again on the same port and data.
type Stack struct {
	Dir  string // everything it writes: cluster, Temporal's file, logs, keys
	Bin  string // the repository's bin/
	Logs string

	cluster      *stack.Cluster
	adminURL     string // the dealercare database as the superuser
	urls         stack.DatabaseURLs
	temporalAddr string
	temporalMu   sync.Mutex
	temporal     *stack.Process
	temporalRuns int
	keys         string
	tokenFile    string
	piiEnv       []string
	smtpAddr     string
	receiptsAddr string
	progs        []*program
}

var chaosDatabase = stack.Database{Name: "dealercare", Owner: "dealercare_owner", App: "dealercare_app", AppPassword: "dealercare_app"}

// StartStack starts everything under dir with the programs of bin. When
// it fails, it stops what it had started.
func StartStack(ctx context.Context, dir, bin string) (_ *Stack, err error) {
	s := &Stack{Dir: dir, Bin: bin, Logs: filepath.Join(dir, "logs"), keys: filepath.Join(dir, "keys"), progs: programs()}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	if err := os.MkdirAll(s.Logs, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil { // the postgres OS user must reach the cluster
		return nil, err
	}
	ports, err := freePorts(len(s.progs) + 4)
	if err != nil {
		return nil, err
	}
	for i, p := range s.progs {
		p.addr = ports[i]
	}
	s.temporalAddr, s.smtpAddr, s.receiptsAddr = ports[len(s.progs)], ports[len(s.progs)+1], ports[len(s.progs)+2]
	pgPort, _ := strconv.Atoi(strings.TrimPrefix(ports[len(s.progs)+3], "127.0.0.1:"))

	// Crash safety on (not a throwaway cluster): a SIGKILL must not lose a
	// commit the API acknowledged.
	if s.cluster, err = stack.NewCluster(filepath.Join(dir, "pg"), pgPort, false); err != nil {
		return nil, err
	}
	if err := s.cluster.Init(ctx); err != nil {
		return nil, err
	}
	if err := s.cluster.Start(ctx); err != nil {
		return nil, err
	}
	if s.urls, err = stack.EnsureDatabase(ctx, s.cluster.URL(), chaosDatabase); err != nil {
		return nil, err
	}
	s.adminURL = strings.Replace(s.cluster.URL(), "/postgres?", "/"+chaosDatabase.Name+"?", 1)
	if err := s.startTemporal(ctx); err != nil {
		return nil, err
	}
	if err := auth.GenerateDevKeys(s.keys); err != nil {
		return nil, err
	}
	token, err := stack.MintDevToken(s.keys, auth.Principal{Subject: "svc-worker", Roles: []auth.Role{auth.RoleService}}, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	s.tokenFile = filepath.Join(s.keys, "worker.token")
	if err := os.WriteFile(s.tokenFile, []byte(token+"\n"), 0o600); err != nil {
		return nil, err
	}
	s.piiEnv = pii.NewRandomKeys().Env()
	for _, p := range s.progs {
		if p.database {
			if err := s.migrate(ctx, p); err != nil {
				return nil, err
			}
		}
	}
	for _, p := range s.progs {
		if err := s.startProgram(ctx, p); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func freePorts(n int) ([]string, error) {
	seen := map[int]bool{}
	var out []string
	for len(out) < n {
		p, err := stack.FreePort()
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, "127.0.0.1:"+strconv.Itoa(p))
		}
	}
	return out, nil
}

func (s *Stack) program(name string) *program {
	for _, p := range s.progs {
		if p.name == name {
			return p
		}
	}
	panic("no program " + name)
}

// GatewayURL is the REST API's base URL.
func (s *Stack) GatewayURL() string { return "http://" + s.program("gateway").addr }

// AdminURL connects to the dealercare database as the superuser.
func (s *Stack) AdminURL() string { return s.adminURL }

// TemporalAddr is the dev server's frontend.
func (s *Stack) TemporalAddr() string { return s.temporalAddr }

// Token mints a token the stack's programs accept.
func (s *Stack) Token(p auth.Principal) (string, error) {
	return stack.MintDevToken(s.keys, p, 24*time.Hour)
}

// Components are the names the controller may kill.
func (s *Stack) Components() []string {
	out := []string{Postgres, Temporal}
	for _, p := range s.progs {
		if p.killable {
			out = append(out, p.name)
		}
	}
	return out
}

func (s *Stack) env(p *program) []string {
	env := []string{
		"AUTH_JWKS_URL=" + stack.JWKSPath(s.keys),
		"AUTH_ISSUER=" + auth.DevIssuer,
		"AUTH_AUDIENCE=" + auth.DevAudience,
		"TEMPORAL_ADDRESS=" + s.temporalAddr,
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"LOG_LEVEL=warn",
		p.addrEnv + "=" + p.addr,
	}
	for _, o := range s.progs {
		if o.health == "grpc" {
			env = append(env, strings.ToUpper(o.name)+"_GRPC_TARGET="+o.addr)
		}
	}
	if p.database {
		env = append(env, "DATABASE_URL="+s.urls.App)
	}
	if p.personal {
		env = append(env, s.piiEnv...)
	}
	if p.token {
		env = append(env, "SERVICE_TOKEN_FILE="+s.tokenFile)
	}
	if p.extraEnv != nil {
		env = append(env, p.extraEnv(s)...)
	}
	return env
}

func (s *Stack) migrate(ctx context.Context, p *program) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(s.Bin, p.name), "migrate")
	cmd.Env = append(s.env(p), "MIGRATE_DATABASE_URL="+s.urls.Migrate, "DATABASE_APP_ROLE="+chaosDatabase.App)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s migrate: %w\n%s", p.name, err, out)
	}
	return nil
}

// startProgram starts p (again) and waits for its health check.
func (s *Stack) startProgram(ctx context.Context, p *program) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.runs++
	proc, err := stack.StartProcess(stack.ProcessSpec{
		Name: p.name, Path: filepath.Join(s.Bin, p.name), Env: s.env(p),
		LogPath: filepath.Join(s.Logs, fmt.Sprintf("%s.%d.log", p.name, p.runs)),
	})
	if err != nil {
		return err
	}
	p.proc = proc
	var check func(context.Context) error
	if p.health == "grpc" {
		c, conn, err := stack.GRPCHealthCheck(p.addr, "")
		if err != nil {
			return err
		}
		defer conn.Close()
		check = c
	} else {
		check = stack.HTTPHealthCheck("http://" + p.addr + "/healthz")
	}
	if err := stack.WaitReady(ctx, p.name+" on "+p.addr, 2*time.Minute, proc.Done(), check); err != nil {
		return fmt.Errorf("%w\n%s", err, stack.LogExcerpt(proc.LogPath(), 20))
	}
	return nil
}

func (s *Stack) startTemporal(ctx context.Context) error {
	s.temporalMu.Lock()
	defer s.temporalMu.Unlock()
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		s.temporalRuns++
		var p *stack.Process
		p, err = stack.StartTemporal(ctx, stack.TemporalSpec{
			Binary: filepath.Join(s.Bin, "temporal"), Addr: s.temporalAddr,
			DBFile:  filepath.Join(s.Dir, "temporal.db"),
			LogPath: filepath.Join(s.Logs, fmt.Sprintf("temporal.%d.log", s.temporalRuns)),
		})
		if err == nil {
			s.temporal = p
			return nil
		}
		if !errors.Is(err, stack.ErrExited) {
			return err
		}
	}
	return err
}

// Kill ends component with SIGKILL: the whole process group of a program
// or the dev server, the postmaster and every backend of PostgreSQL (as an
// OOM kill of their container would).
func (s *Stack) Kill(component string) error {
	switch component {
	case Postgres:
		return s.killPostgres()
	case Temporal:
		s.temporalMu.Lock()
		defer s.temporalMu.Unlock()
		return killGroup(s.temporal)
	default:
		p := s.program(component)
		p.mu.Lock()
		defer p.mu.Unlock()
		return killGroup(p.proc)
	}
}

// Start starts component again on its port and data.
func (s *Stack) Start(ctx context.Context, component string) error {
	switch component {
	case Postgres:
		return s.cluster.Start(ctx)
	case Temporal:
		return s.startTemporal(ctx)
	default:
		return s.startProgram(ctx, s.program(component))
	}
}

// Exited lists the programs that are not running although nobody killed
// them (a crash the controller did not cause).
func (s *Stack) Exited() []string {
	var out []string
	for _, p := range s.progs {
		p.mu.Lock()
		select {
		case <-p.proc.Done():
			out = append(out, p.name)
		default:
		}
		p.mu.Unlock()
	}
	s.temporalMu.Lock()
	select {
	case <-s.temporal.Done():
		out = append(out, Temporal)
	default:
	}
	s.temporalMu.Unlock()
	return out
}

func killGroup(p *stack.Process) error {
	if err := syscall.Kill(-p.Pid(), syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %s: %w", p.Name(), err)
	}
	<-p.Done()
	return nil
}

func (s *Stack) killPostgres() error {
	data, err := os.ReadFile(filepath.Join(s.cluster.Dir, "data", "postmaster.pid"))
	if err != nil {
		return fmt.Errorf("kill postgres: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return fmt.Errorf("kill postgres: postmaster.pid: %w", err)
	}
	children := childrenOf(pid)
	syscall.Kill(pid, syscall.SIGKILL)
	for _, c := range children {
		syscall.Kill(c, syscall.SIGKILL)
	}
	// The new postmaster refuses to start while an old backend still holds
	// the shared memory.
	deadline := time.Now().Add(30 * time.Second)
	for _, p := range append(children, pid) {
		for alive(p) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	// A postmaster nobody reaps stays a zombie, and PostgreSQL takes the
	// zombie's pid in postmaster.pid for a live server; a container's
	// restart would start from a fresh pid namespace instead.
	if !alive(pid) {
		os.Remove(filepath.Join(s.cluster.Dir, "data", "postmaster.pid"))
	}
	return nil
}

// childrenOf lists the pids whose parent is pid (from /proc).
func childrenOf(pid int) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b)[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			c, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(d, "/proc/"), "/stat"))
			out = append(out, c)
		}
	}
	return out
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b)[i+1:])
	return len(f) > 0 && f[0] != "Z"
}

// Processes gives the pid of every component's running process: each
// program, the Temporal dev server and the PostgreSQL postmaster (whose
// backends are its children).
func (s *Stack) Processes() map[string]int {
	out := map[string]int{}
	for _, p := range s.progs {
		p.mu.Lock()
		if p.proc != nil {
			out[p.name] = p.proc.Pid()
		}
		p.mu.Unlock()
	}
	s.temporalMu.Lock()
	if s.temporal != nil {
		out[Temporal] = s.temporal.Pid()
	}
	s.temporalMu.Unlock()
	if data, err := os.ReadFile(filepath.Join(s.cluster.Dir, "data", "postmaster.pid")); err == nil {
		line, _, _ := strings.Cut(string(data), "\n")
		if pid, err := strconv.Atoi(strings.TrimSpace(line)); err == nil {
			out[Postgres] = pid
		}
	}
	return out
}

// Stop stops everything, programs first.
func (s *Stack) Stop() {
	for i := len(s.progs) - 1; i >= 0; i-- {
		if p := s.progs[i].proc; p != nil {
			p.Stop(5 * time.Second)
		}
	}
	if s.temporal != nil {
		s.temporal.Stop(5 * time.Second)
	}
	if s.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.cluster.Stop(ctx, "fast"); err != nil {
			s.cluster.Stop(ctx, "immediate")
		}
	}
}
