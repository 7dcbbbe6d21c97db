package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/auth/authtest"
	"github.com/dealercare/dealercare/pkg/grpcserver"
	"github.com/dealercare/dealercare/pkg/pgtest"
	"github.com/dealercare/dealercare/pkg/pii"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/service"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	customer "github.com/dealercare/dealercare/services/customer/app"
	customerpg "github.com/dealercare/dealercare/services/customer/postgres"
	"github.com/dealercare/dealercare/workflows/app"
	"github.com/dealercare/dealercare/workflows/network"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func background(t *testing.T, open func(context.Context) error, run func(context.Context) error, closeFn func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := open(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		closeFn()
	})
}

// calendarProbe is a workflow of the test's own that calls the worker's
// activity on the network task queue, as complaint workflows will.
func calendarProbe(ctx workflow.Context, dealer string) (*network.DealerCalendar, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           dctemporal.TaskQueueNetwork,
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	var a *network.Activities
	var out network.DealerCalendar
	err := workflow.ExecuteActivity(ctx, a.LoadBusinessCalendar, dealer).Get(ctx, &out)
	return &out, err
}

func TestWorkerServesNetworkActivities(t *testing.T) {
	temporalAddr := temporaltest.Address(t)
	db := pgtest.NewFrom(t, customerpg.Schema, customerpg.Migrations)
	id := authtest.New(t)
	authCfg := id.Config
	c := &customer.Main{Config: customer.Config{
		Config: service.Config{GRPC: grpcserver.Config{Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}, Auth: authCfg, Database: pg.Config{URL: db.AppURL}},
		PII:    pii.NewRandomKeys(),
	}}
	background(t, c.Open, c.Run, c.Close)

	// Seed a dealer as HQ.
	admin := id.Token(t, auth.Principal{Subject: "svc-worker", Roles: []auth.Role{auth.RoleHQAdmin}})
	conn, err := grpc.NewClient(c.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	nc := customerv1.NewDealerNetworkServiceClient(conn)
	ctx := auth.WithToken(context.Background(), admin)
	if _, err := nc.CreateRegion(ctx, &customerv1.CreateRegionRequest{Region: &customerv1.Region{Code: "WEST", Name: "西部大区"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.CreateDealer(ctx, &customerv1.CreateDealerRequest{Dealer: &customerv1.Dealer{Code: "URC001", Name: "乌鲁木齐天山汽车销售服务有限公司", Region: "WEST", TimeZone: "Asia/Urumqi"}}); err != nil {
		t.Fatal(err)
	}

	tokenFile := filepath.Join(t.TempDir(), "worker.token")
	if err := os.WriteFile(tokenFile, []byte(admin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := &app.Main{Config: app.Config{
		Temporal:         dctemporal.Config{Address: temporalAddr, Namespace: "default"},
		CustomerTarget:   c.Addr(),
		ServiceTokenFile: tokenFile,
		HealthAddr:       "127.0.0.1:0",
	}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	background(t, w.Open, w.Run, w.Close)

	resp, err := http.Get("http://" + w.HealthAddr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("worker /healthz = %d", resp.StatusCode)
	}

	tc, err := client.Dial(client.Options{HostPort: temporalAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	queue := "test-" + t.Name() + time.Now().Format("150405.000000")
	probe := worker.New(tc, queue, worker.Options{})
	probe.RegisterWorkflow(calendarProbe)
	if err := probe.Start(); err != nil {
		t.Fatal(err)
	}
	defer probe.Stop()

	for _, tc2 := range []struct {
		dealer  string
		wantErr bool
	}{{"URC001", false}, {"NOPE01", true}} {
		run, err := tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{TaskQueue: queue, WorkflowExecutionTimeout: time.Minute}, calendarProbe, tc2.dealer)
		if err != nil {
			t.Fatal(err)
		}
		var got network.DealerCalendar
		err = run.Get(context.Background(), &got)
		if tc2.wantErr {
			if err == nil {
				t.Errorf("%s: want a non-retryable not-found failure", tc2.dealer)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.TimeZone != "Asia/Urumqi" || len(got.Spec.Weekly) != 7 {
			t.Errorf("calendar via the worker = %+v", got)
		}
	}
}
