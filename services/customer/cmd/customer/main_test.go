package main_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/auth/authtest"
	"github.com/dealercare/dealercare/pkg/pgtest"
	"github.com/dealercare/dealercare/pkg/pii"
	"github.com/dealercare/dealercare/services/customer/postgres"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestSIGTERMDrainsAndExitsZero runs the real binary, keeps it busy with
// concurrent calls, sends SIGTERM, and checks that it exits 0 and that no
// call was cut off: each either succeeded or was refused before it started
// (UNAVAILABLE once the listener closed).
func TestSIGTERMDrainsAndExitsZero(t *testing.T) {
	db := pgtest.NewFrom(t, postgres.Schema, postgres.Migrations)
	dir := t.TempDir()
	bin := filepath.Join(dir, "customer")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	id := authtest.New(t)
	tok := id.Token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})

	addr := "127.0.0.1:" + freePort(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"CUSTOMER_GRPC_ADDR="+addr, "DATABASE_URL="+db.AppURL,
		"AUTH_JWKS_URL="+id.Config.JWKSURL, "AUTH_ISSUER="+id.Config.Issuer, "AUTH_AUDIENCE="+id.Config.Audience,
		"LOG_LEVEL=warn",
	)
	cmd.Env = append(cmd.Env, pii.NewRandomKeys().Env()...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not healthy: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	client := customerv1.NewDealerNetworkServiceClient(conn)
	ctx := auth.WithToken(context.Background(), tok)
	var mu sync.Mutex
	var ok, refused int
	var bad []error
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := client.ListRegions(ctx, &customerv1.ListRegionsRequest{})
				mu.Lock()
				switch status.Code(err) {
				case codes.OK:
					ok++
				case codes.Unavailable:
					refused++
				default:
					bad = append(bad, err)
				}
				mu.Unlock()
				if status.Code(err) == codes.Unavailable {
					return
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v, want status 0", err)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("did not exit within 30s of SIGTERM")
	}
	close(stop)
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("%d calls failed mid-flight, e.g. %v", len(bad), bad[0])
	}
	if ok == 0 {
		t.Error("no call succeeded before the shutdown")
	}
	t.Logf("calls: %d ok, %d refused after shutdown began", ok, refused)
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
