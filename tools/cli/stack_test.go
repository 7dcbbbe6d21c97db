package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/auth/authtest"
	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/grpcserver"
	"github.com/dealercare/dealercare/pkg/pgtest"
	"github.com/dealercare/dealercare/pkg/pii"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/program/programtest"
	"github.com/dealercare/dealercare/pkg/service"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	customer "github.com/dealercare/dealercare/services/customer/app"
	"github.com/dealercare/dealercare/services/customer/importer"
	customerpg "github.com/dealercare/dealercare/services/customer/postgres"
	evaluation "github.com/dealercare/dealercare/services/evaluation/app"
	"github.com/dealercare/dealercare/services/evaluation/evaluationtest"
	evaluationpg "github.com/dealercare/dealercare/services/evaluation/postgres"
	gateway "github.com/dealercare/dealercare/services/gateway/app"
	"github.com/dealercare/dealercare/services/gateway/idempotency"
	webhook "github.com/dealercare/dealercare/services/webhook/app"
	"github.com/dealercare/dealercare/services/webhook/delivery"
	webhookpg "github.com/dealercare/dealercare/services/webhook/postgres"
	"github.com/dealercare/dealercare/tools/cli"
)

// stack is the real gateway in front of the real customer service (the
// archive, the dealer network and DMS imports) and the real evaluation
// service (KPIs) and the real webhook service, each on its own throwaway
// PostgreSQL database. The complaint, callback and campaign services are
// not started: the CLI's commands under test do not reach them.
type stack struct {
	url            string
	id             *authtest.Issuer
	evaluationAddr string
	// webhookDB is the webhook service's database (its outbox, where a
	// test emits events as a source service does).
	webhookDB *pgtest.DB
}

// stackOptions are what a test adds to the stack.
type stackOptions struct {
	// webhookWorker runs the webhook delivery worker and the relay on the
	// Temporal dev server (the test is skipped without one).
	webhookWorker bool
}

// noService is an address nothing listens on, for the services the
// gateway and the evaluation are configured with but these tests never
// reach (a call to one would answer 503).
const noService = "127.0.0.1:1"

func startStack(t *testing.T) *stack { t.Helper(); return startStackWith(t, stackOptions{}) }

func startStackWith(t *testing.T, opt stackOptions) *stack {
	t.Helper()
	id := authtest.New(t)
	grpcCfg := grpcserver.Config{Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}

	db := pgtest.NewFrom(t, customerpg.Schema, customerpg.Migrations)
	c := &customer.Main{Config: customer.Config{
		Config: service.Config{GRPC: grpcCfg, Auth: id.Config, Database: pg.Config{URL: db.AppURL}},
		PII:    pii.NewRandomKeys(),
		Import: importer.RunnerConfig{PollInterval: 100 * time.Millisecond},
	}}
	programtest.Serve(t, c)

	edb := pgtest.NewFrom(t, evaluationpg.Schema, evaluationpg.Migrations)
	ev := &evaluation.Main{Config: evaluation.Config{
		Config:         service.Config{GRPC: grpcCfg, Auth: id.Config, Database: pg.Config{URL: edb.AppURL}},
		Network:        service.NetworkConfig{CustomerTarget: c.Addr(), ServiceTokenFile: id.ServiceTokenFile},
		CallbackTarget: noService, ComplaintTarget: noService,
	}}
	programtest.Serve(t, ev)

	wdb := pgtest.NewFrom(t, webhookpg.Schema, webhookpg.Migrations)
	wh := &webhook.Main{Config: webhook.Config{
		Config: service.Config{GRPC: grpcCfg, Auth: id.Config, Database: pg.Config{URL: wdb.AppURL}},
		Keys:   pii.NewRandomKeys(), AllowLoopback: true, Policy: delivery.DefaultPolicy,
	}}
	if opt.webhookWorker {
		wh.Config.Worker, wh.Config.RelayEnabled = true, true
		addr := temporaltest.Address(t)
		wh.Config.Temporal = dctemporal.Config{Address: addr, Namespace: temporaltest.Namespace(t, addr)}
		wh.Config.Policy.Idle, wh.Config.Policy.Settle = 5*time.Second, 200*time.Millisecond
	}
	programtest.Serve(t, wh)

	gdb := pgtest.NewFrom(t, idempotency.Schema, idempotency.Migrations)
	g := &gateway.Main{Config: gateway.Config{
		Auth: id.Config, HTTPAddr: "127.0.0.1:0",
		CustomerTarget: c.Addr(), EvaluationTarget: ev.Addr(),
		ComplaintTarget: noService, CallbackTarget: noService, CampaignTarget: noService,
		WebhookTarget:   wh.Addr(),
		ShutdownTimeout: 5 * time.Second, MaxBodyBytes: 1 << 20, MaxImportBytes: 64 << 20,
		Idempotency: idempotency.LoadConfig(config.FromMap(nil)),
		Database:    pg.Config{URL: gdb.AppURL},
	}}
	programtest.Serve(t, g)
	return &stack{url: g.URL(), id: id, evaluationAddr: ev.Addr(), webhookDB: wdb}
}

// keysDir is the folder of the dev keys the stack trusts, as `make run`'s
// .run/keys is (login --dev --keys).
func (s *stack) keysDir() string { return filepath.Dir(s.id.Config.JWKSURL) }

func (s *stack) token(t *testing.T, p auth.Principal) string { return s.id.Token(t, p) }

func (s *stack) admin(t *testing.T) string {
	return s.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
}

// post sends a JSON request the CLI has no command for (setting up the
// network), failing the test unless it answers 200.
func (s *stack) post(t *testing.T, token, path, body string) map[string]any {
	t.Helper()
	req, err := http.NewRequest("POST", s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// network creates region EAST with dealers SH001 and HZ001.
func (s *stack) network(t *testing.T) {
	t.Helper()
	admin := s.admin(t)
	s.post(t, admin, "/v1/regions", `{"code":"EAST","name":"华东大区"}`)
	s.post(t, admin, "/v1/dealers", `{"code":"SH001","name":"上海浦东汽车销售服务有限公司","region":"EAST","city":"上海"}`)
	s.post(t, admin, "/v1/dealers", `{"code":"HZ001","name":"杭州西湖汽车销售服务有限公司","region":"EAST","city":"杭州"}`)
}

// evaluate does what the evaluation's feed workflows do (the worker is not
// running here): refresh the dealers, pull the archive's change feed to
// its end and roll up.
func (s *stack) evaluate(t *testing.T) {
	t.Helper()
	svc := s.token(t, auth.Principal{Subject: "svc", Roles: []auth.Role{auth.RoleService}})
	evaluationtest.CatchUp(t, s.evaluationAddr, svc, "customer")
}

// run is one `dealercare` command line against the stack, as a terminal
// runs it; config keeps the saved sign-in in the test's folder.
type run struct {
	code           int
	stdout, stderr string
}

func (s *stack) cli(t *testing.T, config string, args ...string) run {
	t.Helper()
	var out, errOut bytes.Buffer
	m := &cli.Main{
		Stdout: &out, Stderr: &errOut,
		Env: func(k string) string {
			if k == "DEALERCARE_CONFIG" {
				return config
			}
			return ""
		},
		PollInterval: 100 * time.Millisecond,
	}
	code := m.Run(context.Background(), args)
	return run{code: code, stdout: out.String(), stderr: errOut.String()}
}
