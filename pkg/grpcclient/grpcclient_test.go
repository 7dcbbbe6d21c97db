package grpcclient_test

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/grpcclient"
	"github.com/dealercare/dealercare/pkg/grpcserver"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// replica serves grpcserver's server (health needs no token) on addr
// until the returned stop, which drains it as SIGTERM does.
func replica(t *testing.T, addr string) (bound string, stop func()) {
	t.Helper()
	srv, err := grpcserver.New(grpcserver.Config{Addr: addr, ShutdownTimeout: 5 * time.Second}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return srv.Addr(), stop
}

// Calls to two replicas keep succeeding while each in turn drains and
// (the first) comes back on its address: the client skips the one that
// went away and returns to it once it is back.
func TestReplicasFailOverDuringARollingRestart(t *testing.T) {
	a, stopA := replica(t, "127.0.0.1:0")
	b, stopB := replica(t, "127.0.0.1:0")
	conn, err := grpcclient.Dial(a + "," + b)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)

	var ok, failed atomic.Int64
	var firstErr atomic.Value
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := client.Check(cctx, &healthpb.HealthCheckRequest{})
				ccancel()
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				} else {
					ok.Add(1)
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	stopA()
	time.Sleep(500 * time.Millisecond)
	replica(t, a) // back on its address
	time.Sleep(2500 * time.Millisecond)
	stopB()
	time.Sleep(700 * time.Millisecond)
	cancel()
	wg.Wait()
	t.Logf("%d calls served, %d failed", ok.Load(), failed.Load())
	if failed.Load() > 0 || ok.Load() == 0 {
		t.Errorf("%d calls failed (first: %v), %d served; want none failed", failed.Load(), firstErr.Load(), ok.Load())
	}
}

// Without the second replica the same restart fails calls: the test above
// can fail.
func TestOneReplicaFailsCallsWhileItRestarts(t *testing.T) {
	a, stopA := replica(t, "127.0.0.1:0")
	conn, err := grpcclient.Dial(a)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	if _, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	stopA()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{}); err == nil {
		t.Error("a call succeeded with the only replica stopped")
	}
}
