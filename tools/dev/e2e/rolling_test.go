package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/program/programtest"
)

// TestRollingRestartFailsNoRequest runs two replicas of the customer
// service behind the real gateway (CUSTOMER_GRPC_TARGET lists both;
// pkg/grpcclient balances over them) and, under a steady REST load of
// reads and writes from four clients, restarts them one at a time as a
// rolling update does: SIGTERM (the replica drains: gRPC GracefulStop
// within SHUTDOWN_TIMEOUT), a pause, a new process on the same address,
// healthy again before the next. No request may fail.
//
// With one replica the same restarts fail requests (the gateway has
// nowhere to send them): set E2E_ROLLING_ONE_REPLICA=1 to see it.
func TestRollingRestartFailsNoRequest(t *testing.T) {
	s := newStack(t, []program{customerProgram, gatewayProgram})
	replicas := []string{s.addrs["customer"], programtest.FreePorts(t, 1)[0]}
	dirs := []string{s.dir, t.TempDir()}
	one := os.Getenv("E2E_ROLLING_ONE_REPLICA") == "1"
	if one {
		replicas, dirs = replicas[:1], dirs[:1]
	}
	s.env = append(s.env, "CUSTOMER_GRPC_TARGET="+strings.Join(replicas, ","))
	procs := make([]*programtest.Proc, len(replicas))
	for i, addr := range replicas {
		procs[i] = s.startAt(customerProgram, addr, dirs[i])
	}
	s.start(gatewayProgram)

	const code = "SH900"
	hq := s.as(auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	network := customerv1.NewDealerNetworkServiceClient(s.conn("customer"))
	if _, err := network.CreateRegion(hq, &customerv1.CreateRegionRequest{Region: &customerv1.Region{Code: "EAST", Name: "华东大区"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := network.CreateDealer(hq, &customerv1.CreateDealerRequest{Dealer: &customerv1.Dealer{Code: code, Name: "上海 4S " + code, Region: "EAST"}}); err != nil {
		t.Fatal(err)
	}
	token := s.id.Token(t, auth.Principal{Subject: "agent-" + code, Roles: []auth.Role{auth.RoleAgent}, Dealer: code})
	status, body := rest(t, s, token, http.MethodPost, "/v1/dealers/"+code+"/customers", `{"name":"陈静","mobile":"13912345678"}`)
	if status != http.StatusOK {
		t.Fatalf("create customer: %d %s", status, body)
	}
	var created struct{ ID string }
	if err := json.Unmarshal([]byte(body), &created); err != nil || created.ID == "" {
		t.Fatalf("create customer: %q (%v)", body, err)
	}
	id := created.ID

	// The load: each client alternates a read of the customer and a
	// create, ten a second (40/s in all, under the gateway's limit of 50
	// per dealer), until the restarts are over.
	var served, failed atomic.Int64
	var mu sync.Mutex
	var failures []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second}
	for c := range 4 {
		wg.Go(func() {
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				method, path, body := http.MethodGet, "/v1/dealers/"+code+"/customers/"+id, ""
				if i%2 == 1 {
					method, path, body = http.MethodPost, "/v1/dealers/"+code+"/customers", fmt.Sprintf(`{"name":"客户 %d-%d"}`, c, i)
				}
				if err := call(client, "http://"+s.addrs["gateway"]+path, token, method, body); err != nil {
					failed.Add(1)
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s %s at %s: %v", method, path, time.Now().Format("15:04:05.000"), err))
					mu.Unlock()
					continue
				}
				served.Add(1)
			}
		})
	}
	time.Sleep(2 * time.Second) // steady load before the first restart
	for i, addr := range replicas {
		began := time.Now()
		if err := procs[i].Stop(t); err != nil {
			t.Errorf("customer replica %d (%s) after SIGTERM: %v", i+1, addr, err)
		}
		stopped := time.Since(began)
		time.Sleep(time.Second) // the pod is gone, its successor not yet ready
		procs[i] = s.startAt(customerProgram, addr, dirs[i])
		t.Logf("replica %d (%s): drained and exited %v after SIGTERM, serving again %v after it; %d served, %d failed so far",
			i+1, addr, stopped.Round(time.Millisecond), time.Since(began).Round(time.Millisecond), served.Load(), failed.Load())
		time.Sleep(2 * time.Second)
	}
	close(stop)
	wg.Wait()
	t.Logf("rolling restart of %d customer replica(s) under 4 REST clients: %d requests served, %d failed", len(replicas), served.Load(), failed.Load())
	if served.Load() == 0 {
		t.Fatal("no request was served")
	}
	if n := failed.Load(); n > 0 {
		for _, f := range failures[:min(len(failures), 10)] {
			t.Log(f)
		}
		if !one {
			t.Errorf("%d requests failed during the rolling restart", n)
		}
	}
}

// call makes one REST request and returns an error unless it got a 2xx.
func call(client *http.Client, url, token, method, body string) error {
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%d %.200s", resp.StatusCode, b)
	}
	return nil
}
