package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/validate"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// answerTrap is a TCP proxy between the gateway and a service. While held,
// it forwards requests but keeps the service's answers back, so a test can
// let a write commit, kill the service, and have its answer never arrive,
// as when a service is killed between its commit and its answer.
type answerTrap struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	held   bool
	conns  []net.Conn
}

func newAnswerTrap(t *testing.T, target string) *answerTrap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &answerTrap{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.drop() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := s.Read(buf)
					if n > 0 && !p.isHeld() {
						if _, werr := c.Write(buf[:n]); werr != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				c.Close()
			}()
		}
	}()
	return p
}

func (p *answerTrap) addr() string { return p.ln.Addr().String() }

func (p *answerTrap) isHeld() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held
}

func (p *answerTrap) hold(on bool) {
	p.mu.Lock()
	p.held = on
	p.mu.Unlock()
}

// drop closes every connection (both sides).
func (p *answerTrap) drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// keyedPost sends a POST with an Idempotency-Key, as a client's retry does.
func keyedPost(t *testing.T, gateway, token, key, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+gateway+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRetryAfterLostAnswerCommitsOnce reproduces the chaos run's duplicate
// creates through the real gateway and customer service: a keyed create
// (and a keyed close) commits, the customer service is killed with SIGKILL
// before its answer reaches the gateway (the answer is held back by a
// proxy on the gateway's connection), the gateway answers 503 and abandons
// the key, and the client retries with the same key once the service is
// back. The retry must get the same customer (and the closed order, not
// "already closed"), and the database must hold the customer once.
func TestRetryAfterLostAnswerCommitsOnce(t *testing.T) {
	s := newStack(t, []program{customerProgram, gatewayProgram})
	trap := newAnswerTrap(t, s.addrs["customer"])
	customer := s.startProc(customerProgram)
	s.startProc(gatewayProgram, "CUSTOMER_GRPC_TARGET="+trap.addr())

	const code = "D701"
	network := customerv1.NewDealerNetworkServiceClient(s.conn("customer"))
	hq := s.as(auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	if _, err := network.CreateRegion(hq, &customerv1.CreateRegionRequest{Region: &customerv1.Region{Code: "EAST", Name: "华东大区"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := network.CreateDealer(hq, &customerv1.CreateDealerRequest{Dealer: &customerv1.Dealer{Code: code, Name: "上海 4S " + code, Region: "EAST"}}); err != nil {
		t.Fatal(err)
	}
	agent := s.id.Token(t, auth.Principal{Subject: "agent-" + code, Roles: []auth.Role{auth.RoleAgent}, Dealer: code})
	admin, err := pgx.Connect(context.Background(), s.db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	gateway := s.addrs["gateway"]

	// lose runs one keyed POST whose answer is lost after committed says
	// the write is in the database, and returns the status the client got.
	lose := func(key, path, body string, committed func() bool) int {
		t.Helper()
		// The gateway's connection must be up before answers are held
		// (its handshake would be held too).
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
			if status, _ := rest(t, s, agent, http.MethodGet, "/v1/dealers/"+code+"/customers", ""); status == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the gateway does not reach the customer service")
			}
		}
		trap.hold(true)
		got := make(chan int, 1)
		go func() {
			status, _ := keyedPost(t, gateway, agent, key, path, body)
			got <- status
		}()
		for deadline := time.Now().Add(time.Minute); !committed(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("POST %s did not commit within a minute", path)
			}
		}
		customer.Kill(t)
		trap.drop()
		status := <-got
		trap.hold(false)
		customer = s.startProc(customerProgram)
		return status
	}
	// retry sends the same request with the same key until it gets a final
	// answer, as a client does after a 5xx.
	retry := func(key, path, body string) (int, string) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
			status, answer := keyedPost(t, gateway, agent, key, path, body)
			if (status != 0 && status < 500) || time.Now().After(deadline) {
				return status, answer
			}
		}
	}
	count := func(sql string, args ...any) int {
		t.Helper()
		var n int
		if err := admin.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// A customer: no natural key, so a second run is a second customer.
	name := fmt.Sprintf("幂等客户%d", time.Now().UnixNano()%1e6)
	path := "/v1/dealers/" + code + "/customers"
	body := `{"name":"` + name + `","mobile":"13912345678"}`
	customers := func() int {
		return count(`SELECT count(*) FROM customer.customers WHERE dealer_id = $1 AND name = $2`, code, name)
	}
	if status := lose("create-1", path, body, func() bool { return customers() > 0 }); status < 500 {
		t.Fatalf("the create whose answer was lost got HTTP %d, want a 5xx", status)
	}
	status, answer := retry("create-1", path, body)
	if status != http.StatusOK {
		t.Fatalf("retry of the create: HTTP %d %s", status, answer)
	}
	var c customerv1.Customer
	if err := protojson.Unmarshal([]byte(answer), &c); err != nil {
		t.Fatal(err)
	}
	if n := customers(); n != 1 {
		t.Fatalf("%d customers named %s after the retry, want 1 (the retry created it again)", n, name)
	}
	var id string
	if err := admin.QueryRow(context.Background(), `SELECT id::text FROM customer.customers WHERE dealer_id = $1 AND name = $2`, code, name).Scan(&id); err != nil || id != c.GetId() {
		t.Fatalf("the retry answered customer %s, the database holds %s (%v)", c.GetId(), id, err)
	}
	// The same key with another body is refused, naming the key.
	if status, answer := keyedPost(t, gateway, agent, "create-1", path, `{"name":"别人","mobile":"13912345679"}`); status/100 != 4 || !strings.Contains(answer, "Idempotency-Key") {
		t.Fatalf("the key reused for another customer: HTTP %d %s, want a 4xx naming Idempotency-Key", status, answer)
	}

	// A close: the retry must answer the closed order, not "already closed".
	archive := customerv1.NewArchiveServiceClient(s.conn("customer"))
	agentCtx := auth.WithToken(context.Background(), agent)
	vin := validate.CompleteVIN(fmt.Sprintf("LSVAU2180N%07d", time.Now().UnixNano()%10000000))
	if _, err := archive.CreateVehicle(agentCtx, &customerv1.CreateVehicleRequest{Dealer: code, Customer: c.GetId(), Vehicle: &customerv1.Vehicle{Vin: vin}}); err != nil {
		t.Fatal(err)
	}
	ro, err := archive.CreateRepairOrder(agentCtx, &customerv1.CreateRepairOrderRequest{Dealer: code, RepairOrder: &customerv1.RepairOrder{
		Number: "RO-IDEM-1", Vin: vin, Type: customerv1.RepairOrderType_REPAIR_ORDER_TYPE_MAINTENANCE,
		OpenTime: timestamppb.New(time.Now().Add(-2 * time.Hour)), MileageKm: 12000}})
	if err != nil {
		t.Fatal(err)
	}
	closePath := "/v1/dealers/" + code + "/repairOrders/" + ro.GetId() + ":close"
	closeBody := `{"closeTime":"` + time.Now().Add(-time.Minute).UTC().Format(time.RFC3339) + `"}`
	closed := func() bool {
		return count(`SELECT count(*) FROM customer.repair_orders WHERE dealer_id = $1 AND id = $2 AND state = 'closed'`, code, ro.GetId()) == 1
	}
	if status := lose("close-1", closePath, closeBody, closed); status < 500 {
		t.Fatalf("the close whose answer was lost got HTTP %d, want a 5xx", status)
	}
	events := func() int {
		return count(`SELECT count(*) FROM customer.outbox_events WHERE dealer_id = $1 AND payload::text LIKE '%' || $2 || '%'`, code, ro.GetId())
	}
	first := events()
	if status, answer := retry("close-1", closePath, closeBody); status != http.StatusOK || !strings.Contains(answer, "REPAIR_ORDER_STATE_CLOSED") {
		t.Fatalf("retry of the close: HTTP %d %s, want 200 with the closed order", status, answer)
	}
	if n := events(); first == 0 || n != first {
		t.Fatalf("%d outbox events of the order after the retry, %d after the first close: the close ran twice", n, first)
	}
}
