package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	evaluationv1 "github.com/dealercare/dealercare/gen/go/dealercare/evaluation/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/tools/dev/demo"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

const (
	// serviceStartTimeout bounds the wait for one service's health check.
	serviceStartTimeout = 60 * time.Second
	// migrateTimeout bounds one `<service> migrate`.
	migrateTimeout = 2 * time.Minute
	// devTokenTTL is the validity of the token printed for the developer.
	devTokenTTL = 12 * time.Hour
	// serviceTokenTTL is the validity of the worker's token.
	serviceTokenTTL = 30 * 24 * time.Hour
	// logTailLines is how much of a failed program's log is shown.
	logTailLines = 30
)

// Run starts PostgreSQL (the cluster in .run/pg unless DATABASE_URL names
// an admin connection), a Temporal dev server, the migrations and the
// services of the services table, loads the demo network, prints how to
// reach the gateway, and then waits. When ctx is cancelled (SIGINT,
// SIGTERM) it stops everything it started, in reverse order, and returns
// nil; when a service exits by itself it stops the rest and returns an
// error. Progress goes to log, the summary to out.
func Run(ctx context.Context, root string, out, log io.Writer) error {
	r := &runner{paths: Paths{Root: root}, out: out, log: log}
	defer r.shutdown()
	began := time.Now()
	if err := r.start(ctx); err != nil {
		if ctx.Err() != nil {
			r.logf("interrupted during start-up")
			return nil
		}
		return err
	}
	if err := r.printSummary(time.Since(began)); err != nil {
		return err
	}
	return r.wait(ctx)
}

type runner struct {
	paths Paths
	out   io.Writer
	log   io.Writer

	cluster *Cluster   // set when Run started or reused the .run cluster
	procs   []*Process // in start order
	token   string     // the developer's hq_admin token
	claimed string     // .run/devstack.pid, once written
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.log, "devstack: "+format+"\n", args...)
}

func (r *runner) start(ctx context.Context) error {
	if err := r.checkBinaries(); err != nil {
		return err
	}
	if err := r.paths.MakeRunDir(); err != nil {
		return err
	}
	if err := r.claim(); err != nil {
		return err
	}
	r.stopLeftovers()
	if err := CheckPortsFree(r.fixedAddrs()...); err != nil {
		return err
	}
	if err := auth.GenerateDevKeys(r.paths.Keys()); err != nil {
		return fmt.Errorf("dev keys: %w", err)
	}
	adminURL, err := r.startPostgres(ctx)
	if err != nil {
		return err
	}
	urls, err := EnsureDatabase(ctx, adminURL, devDatabase)
	if err != nil {
		return err
	}
	if err := r.startTemporal(ctx); err != nil {
		return err
	}
	st, err := r.settings(urls.App)
	if err != nil {
		return err
	}
	for _, s := range services {
		if s.database {
			if err := r.migrate(ctx, s, st, urls.Migrate); err != nil {
				return err
			}
		}
	}
	for _, s := range services {
		if err := r.startService(ctx, s, st); err != nil {
			return err
		}
	}
	return r.loadDemo(ctx)
}

// checkBinaries fails early, with the fix, when `make build` has not run.
func (r *runner) checkBinaries() error {
	var missing []string
	for _, name := range append(r.serviceNames(), "temporal") {
		if !isExecutable(r.paths.Bin(name)) {
			missing = append(missing, r.paths.Bin(name))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing programs %s: run `make run` (it builds them) or `make build`", strings.Join(missing, ", "))
	}
	return nil
}

func (r *runner) serviceNames() []string {
	names := make([]string, len(services))
	for i, s := range services {
		names[i] = s.name
	}
	return names
}

// claim records this process in .run/devstack.pid, refusing to start
// while another `devstack run` of the repository is alive: its programs'
// pid files are not leftovers.
func (r *runner) claim() error {
	lock := r.paths.Run("devstack.pid")
	if pid, err := readPidFile(lock); err == nil && pid != os.Getpid() && alive(pid) && runsProgram(pid, "devstack") {
		return fmt.Errorf("devstack run is already running (pid %d); stop it with Ctrl-C (or kill %d) first", pid, pid)
	}
	if err := writePidFile(lock, os.Getpid()); err != nil {
		return err
	}
	r.claimed = lock
	return nil
}

// stopLeftovers stops the programs an earlier devstack run left running
// when it died without cleaning up.
func (r *runner) stopLeftovers() {
	files, _ := filepath.Glob(filepath.Join(r.paths.Pids(), "*.pid"))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".pid")
		stopped, err := StopStale(f, r.paths.Bin(name), StopGrace)
		if err != nil {
			r.logf("%v", err)
		} else if stopped {
			r.logf("stopped %s left running by an earlier run", name)
		}
	}
}

// fixedAddrs are the addresses that must be free before start-up; the
// PostgreSQL port is checked separately because the cluster may be reused.
func (r *runner) fixedAddrs() []string {
	addrs := []string{temporalAddr}
	for _, s := range services {
		addrs = append(addrs, s.addr)
	}
	return addrs
}

// startPostgres returns the admin URL: DATABASE_URL if set, else that of the
// .run/pg cluster, which it initialises, starts, or reuses if an earlier run
// left it running.
func (r *runner) startPostgres(ctx context.Context) (string, error) {
	if url := os.Getenv("DATABASE_URL"); url != "" {
		err := WaitReady(ctx, "PostgreSQL at DATABASE_URL", 10*time.Second, nil, func(ctx context.Context) error { return Ping(ctx, url) })
		if err != nil {
			return "", err
		}
		r.logf("using the PostgreSQL server of DATABASE_URL")
		return url, nil
	}
	began := time.Now()
	if err := r.paths.MakeClustersDir(); err != nil {
		return "", err
	}
	c, err := NewCluster(r.paths.Clusters("pg"), postgresPort, false)
	if err != nil {
		return "", err
	}
	if err := c.Init(ctx); err != nil {
		return "", err
	}
	if c.Running(ctx) {
		if Ping(ctx, c.URL()) == nil {
			r.cluster = c
			r.logf("reusing PostgreSQL on 127.0.0.1:%d left running by an earlier run", c.Port)
			return c.URL(), nil
		}
		if err := c.Stop(ctx, "fast"); err != nil {
			return "", err
		}
	}
	if err := CheckPortsFree(fmt.Sprintf("127.0.0.1:%d", c.Port)); err != nil {
		return "", err
	}
	if err := c.Start(ctx); err != nil {
		return "", err
	}
	r.cluster = c
	r.logf("PostgreSQL ready on 127.0.0.1:%d (%s)", c.Port, since(began))
	return c.URL(), nil
}

func (r *runner) startTemporal(ctx context.Context) error {
	began := time.Now()
	spec := TemporalSpec{
		Binary:  r.paths.Bin("temporal"),
		Addr:    temporalAddr,
		DBFile:  r.paths.Run("temporal.db"),
		LogPath: filepath.Join(r.paths.Logs(), "temporal.log"),
		PidFile: filepath.Join(r.paths.Pids(), "temporal.pid"),
	}
	p, err := StartTemporal(ctx, spec)
	for attempt := 2; errors.Is(err, ErrExited) && attempt <= startAttempts; attempt++ {
		// Its internal ports are picked at random and may be lost to a
		// race; a second attempt picks others.
		r.logf("Temporal died at start-up; retrying")
		p, err = StartTemporal(ctx, spec)
	}
	if err != nil {
		return err
	}
	r.procs = append(r.procs, p)
	r.logf("Temporal ready on %s (%s)", temporalAddr, since(began))
	return nil
}

// settings mints the service token and gathers what serviceEnv needs.
func (r *runner) settings(appURL string) (stackSettings, error) {
	token, err := MintDevToken(r.paths.Keys(), auth.Principal{Subject: "svc-worker", Roles: []auth.Role{auth.RoleService}}, serviceTokenTTL)
	if err != nil {
		return stackSettings{}, fmt.Errorf("service token: %w", err)
	}
	tokenFile := filepath.Join(r.paths.Keys(), "worker.token")
	if err := writeSecret(tokenFile, token+"\n"); err != nil {
		return stackSettings{}, err
	}
	piiEnv, err := devPIIKeys(r.paths.Keys())
	if err != nil {
		return stackSettings{}, err
	}
	return stackSettings{keysDir: r.paths.Keys(), appDatabaseURL: appURL, serviceTokenFile: tokenFile, piiEnv: piiEnv}, nil
}

// migrate runs `<service> migrate` as the schema owner; it must exit 0.
func (r *runner) migrate(ctx context.Context, s service, st stackSettings, migrateURL string) error {
	began := time.Now()
	logPath := filepath.Join(r.paths.Logs(), s.name+"-migrate.log")
	if err := os.MkdirAll(r.paths.Logs(), 0o755); err != nil {
		return fmt.Errorf("migrate %s: %w", s.name, err)
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", s.name, err)
	}
	defer logFile.Close()
	ctx, cancel := context.WithTimeout(ctx, migrateTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.paths.Bin(s.name), "migrate")
	cmd.Env = MergeEnv(serviceEnv(os.Environ(), s, st),
		"MIGRATE_DATABASE_URL="+migrateURL,
		"DATABASE_APP_ROLE="+devDatabase.App,
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group: a Ctrl-C reaches devstack, which cancels ctx.
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s migrate: %w\n%s:\n%s", s.name, err, logPath, indent(LogExcerpt(logPath, logTailLines), "  "))
	}
	r.logf("%s migrated (%s)", s.name, since(began))
	return nil
}

// startService starts s and waits for its health check. If s exits or
// stays unhealthy the error shows the end of its log.
func (r *runner) startService(ctx context.Context, s service, st stackSettings) error {
	began := time.Now()
	p, err := StartProcess(ProcessSpec{
		Name:    s.name,
		Path:    r.paths.Bin(s.name),
		Env:     serviceEnv(os.Environ(), s, st),
		LogPath: filepath.Join(r.paths.Logs(), s.name+".log"),
		PidFile: filepath.Join(r.paths.Pids(), s.name+".pid"),
	})
	if err != nil {
		return err
	}
	r.procs = append(r.procs, p)
	check, closeCheck, err := healthCheck(s)
	if err != nil {
		return err
	}
	defer closeCheck()
	if err := WaitReady(ctx, s.name+" on "+s.addr, serviceStartTimeout, p.Done(), check); err != nil {
		return fmt.Errorf("%w\n%s:\n%s", err, p.LogPath(), indent(LogExcerpt(p.LogPath(), logTailLines), "  "))
	}
	r.logf("%s ready on %s (%s)", s.name, s.addr, since(began))
	return nil
}

func healthCheck(s service) (check func(context.Context) error, closeCheck func(), err error) {
	switch s.health {
	case healthGRPC:
		check, conn, err := GRPCHealthCheck(s.addr, "")
		if err != nil {
			return nil, nil, err
		}
		return check, func() { conn.Close() }, nil
	case healthHTTP:
		return HTTPHealthCheck("http://" + s.addr + "/healthz"), func() {}, nil
	default:
		return nil, nil, fmt.Errorf("service %s: unknown health check %d", s.name, s.health)
	}
}

// loadDemo mints the developer's token and loads the demo network with it.
func (r *runner) loadDemo(ctx context.Context) error {
	began := time.Now()
	token, err := MintDevToken(r.paths.Keys(), auth.Principal{Subject: "dev-hq_admin", Roles: []auth.Role{auth.RoleHQAdmin}}, devTokenTTL)
	if err != nil {
		return fmt.Errorf("dev token: %w", err)
	}
	r.token = token
	conn, err := dialService(demoService)
	if err != nil {
		return fmt.Errorf("demo network: %w", err)
	}
	defer conn.Close()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	network := demo.Network()
	loaded, err := demo.Load(ctx, customerv1.NewDealerNetworkServiceClient(conn), network)
	if err != nil {
		return fmt.Errorf("demo network: %w", err)
	}
	r.logf("demo network: %d regions, %d dealers (%d regions and %d dealers new) (%s)",
		len(network.Regions), len(network.Dealers), loaded.Regions, loaded.Dealers, since(began))

	// Agents join the callback rotation before the archive's visits make
	// callback tasks, so those tasks are assigned.
	began = time.Now()
	cbConn, err := dialService("callback")
	if err != nil {
		return fmt.Errorf("demo callback agents: %w", err)
	}
	defer cbConn.Close()
	agents, err := demo.LoadCallbackAgents(ctx, callbackv1.NewCallbackServiceClient(cbConn), network)
	if err != nil {
		return fmt.Errorf("demo callback agents: %w", err)
	}
	r.logf("demo callback agents: %d at %d dealers (%s)", agents, len(network.Dealers), since(began))

	began = time.Now()
	agentOf := func(ctx context.Context, dealer string) (context.Context, error) {
		tok, err := MintDevToken(r.paths.Keys(), auth.Principal{Subject: "demo-agent-" + dealer, Roles: []auth.Role{auth.RoleAgent}, Dealer: dealer}, time.Hour)
		if err != nil {
			return nil, err
		}
		return metadata.NewOutgoingContext(ctx, metadata.Pairs("authorization", "Bearer "+tok)), nil
	}
	archive, err := demo.LoadArchive(ctx, customerv1.NewArchiveServiceClient(conn), network, demo.DefaultArchiveSize, agentOf, time.Now())
	if err != nil {
		return fmt.Errorf("demo archive: %w", err)
	}
	if archive.Dealers == 0 {
		r.logf("demo archive: already loaded")
	} else {
		r.logf("demo archive: %d customers, %d vehicles, %d repair orders, %d deliveries at %d dealers, %d visits to another dealer of the region (%s)",
			archive.Customers, archive.Vehicles, archive.RepairOrders, archive.Sales, archive.Dealers, archive.VisitsElsewhere, since(began))
	}

	began = time.Now()
	cpConn, err := dialService("complaint")
	if err != nil {
		return fmt.Errorf("demo complaints: %w", err)
	}
	defer cpConn.Close()
	filed, err := demo.LoadComplaints(ctx, complaintv1.NewComplaintServiceClient(cpConn), customerv1.NewArchiveServiceClient(conn), network, agentOf)
	if err != nil {
		return fmt.Errorf("demo complaints: %w", err)
	}
	if filed == 0 {
		r.logf("demo complaints: already filed")
	} else {
		r.logf("demo complaints: %d at %d dealers (%s)", filed, len(network.Dealers), since(began))
	}

	evConn, err := dialService("evaluation")
	if err != nil {
		return fmt.Errorf("demo KPI targets: %w", err)
	}
	defer evConn.Close()
	created, err := demo.LoadKpiTargets(ctx, evaluationv1.NewKpiServiceClient(evConn), time.Now())
	if err != nil {
		return fmt.Errorf("demo KPI targets: %w", err)
	}
	if created {
		r.logf("demo KPI targets: HQ's standards for %d KPIs", len(demo.KpiTargets))
	}

	began = time.Now()
	caConn, err := dialService("campaign")
	if err != nil {
		return fmt.Errorf("demo campaigns: %w", err)
	}
	defer caConn.Close()
	managerOf := func(ctx context.Context, dealer string) (context.Context, error) {
		tok, err := MintDevToken(r.paths.Keys(), auth.Principal{Subject: "demo-manager-" + dealer, Roles: []auth.Role{auth.RoleDealerManager}, Dealer: dealer}, time.Hour)
		if err != nil {
			return nil, err
		}
		return metadata.NewOutgoingContext(ctx, metadata.Pairs("authorization", "Bearer "+tok)), nil
	}
	campaigns, err := demo.LoadCampaigns(ctx, campaignv1.NewCampaignServiceClient(caConn), customerv1.NewArchiveServiceClient(conn), network, demo.DefaultArchiveSize, managerOf, agentOf, time.Now())
	if err != nil {
		return fmt.Errorf("demo campaigns: %w", err)
	}
	if campaigns.Maintenance == "" && campaigns.Recall == "" {
		r.logf("demo campaigns: already loaded")
	} else {
		r.logf("demo campaigns: %s's maintenance reminder %s, recall %s %s of %d VINs (%d repaired at another dealer) (%s)",
			demo.MaintenanceDealer, orExisting(campaigns.Maintenance), demo.RecallCode, orExisting(campaigns.Recall), campaigns.RecallVINs, campaigns.Repaired, since(began))
	}
	go r.workCallbacks(ctx, network)
	return nil
}

// orExisting is a demo campaign's id when the load created it, or says it
// existed.
func orExisting(id string) string {
	if id == "" {
		return "(existed)"
	}
	return id
}

// demoAgentsEvery is how often the demo's agents go over the due
// callbacks.
const demoAgentsEvery = 30 * time.Second

// workCallbacks plays every dealer's agents while the stack runs: each
// pass completes the share of the due callbacks the dealer's profile
// answers (demo.WorkDueCallbacks) and leaves the rest to be missed, so
// the KPIs and the ranking show which dealers miss their calls.
func (r *runner) workCallbacks(ctx context.Context, network demo.DealerNetwork) {
	conn, err := dialService("callback")
	if err != nil {
		r.logf("demo agents: %v", err)
		return
	}
	defer conn.Close()
	client := callbackv1.NewCallbackServiceClient(conn)
	tokenFor := func(ctx context.Context, dealer, subject string) (context.Context, error) {
		tok, err := MintDevToken(r.paths.Keys(), auth.Principal{Subject: subject, Roles: []auth.Role{auth.RoleAgent}, Dealer: dealer}, time.Hour)
		if err != nil {
			return nil, err
		}
		return metadata.NewOutgoingContext(ctx, metadata.Pairs("authorization", "Bearer "+tok)), nil
	}
	for {
		total := 0
		for _, d := range network.Dealers {
			n, err := demo.WorkDueCallbacks(ctx, client, d.Code, tokenFor)
			if err != nil && ctx.Err() == nil {
				r.logf("demo agents at %s: %v", d.Code, err)
			}
			total += n
		}
		if total > 0 {
			r.logf("demo agents: %d callbacks completed", total)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(demoAgentsEvery):
		}
	}
}

// dialService opens a client connection to the running service name.
func dialService(name string) (*grpc.ClientConn, error) {
	target, err := serviceNamed(name)
	if err != nil {
		return nil, err
	}
	return grpc.NewClient(target.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
}

// printSummary writes .run/env and tells the developer how to call the
// gateway.
func (r *runner) printSummary(took time.Duration) error {
	gw, err := serviceNamed(gatewayService)
	if err != nil {
		return err
	}
	url := "http://" + gw.addr
	envFile := r.paths.Run("env")
	if err := writeSecret(envFile, "DEALERCARE_URL="+url+"\nDEALERCARE_TOKEN="+r.token+"\n"); err != nil {
		return err
	}
	fmt.Fprintf(r.out, `
dealercare is running (started in %s).

  Gateway:  %s
  Token:    %s
            (hq_admin, valid %gh; make token ROLE=agent DEALER=SH001 for others)
  Logs:     %s

Try:
  set -a; . %s; set +a
  curl -H "Authorization: Bearer $DEALERCARE_TOKEN" $DEALERCARE_URL/v1/dealers

Press Ctrl-C to stop.
`, took.Round(10*time.Millisecond), url, r.token, devTokenTTL.Hours(), r.paths.Logs(), relToCwd(envFile))
	return nil
}

// wait blocks until ctx is cancelled (nil) or a program exits (an error).
func (r *runner) wait(ctx context.Context) error {
	exited := make(chan *Process, len(r.procs))
	for _, p := range r.procs {
		go func() {
			<-p.Done()
			exited <- p
		}()
	}
	select {
	case <-ctx.Done():
		return nil
	case p := <-exited:
		return fmt.Errorf("%w; stopping everything\n%s:\n%s", p.ExitError(), p.LogPath(), indent(LogExcerpt(p.LogPath(), logTailLines), "  "))
	}
}

// shutdown stops the programs in reverse start order, then the cluster if
// Run started or reused it (never a DATABASE_URL server).
func (r *runner) shutdown() {
	if r.claimed != "" {
		defer os.Remove(r.claimed)
	}
	if len(r.procs) == 0 && r.cluster == nil {
		return
	}
	r.logf("stopping")
	var errs []error
	for i := len(r.procs) - 1; i >= 0; i-- {
		if err := r.procs[i].Stop(StopGrace); err != nil {
			errs = append(errs, err)
		}
	}
	if r.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := r.cluster.Stop(ctx, "fast"); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		r.logf("%v", err)
		return
	}
	r.logf("stopped")
}

// since is the time elapsed since t, rounded for display.
func since(t time.Time) time.Duration { return time.Since(t).Round(10 * time.Millisecond) }

// relToCwd shortens path for display when it is under the working
// directory.
func relToCwd(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	rel, err := filepath.Rel(wd, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return path
	}
	return "./" + rel
}
