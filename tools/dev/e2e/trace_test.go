package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/pkg/validate"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// dealer is a 24x7 dealer whose 3DC calls fall due a second after the
// visit, with an agent, a customer and a vehicle.
type dealer struct {
	code           string
	manager, agent context.Context
	vin            string
}

func setUpDealer(t *testing.T, s *testStack, code string) *dealer {
	t.Helper()
	network := customerv1.NewDealerNetworkServiceClient(s.conn("customer"))
	archive := customerv1.NewArchiveServiceClient(s.conn("customer"))
	callbacks := callbackv1.NewCallbackServiceClient(s.conn("callback"))
	d := &dealer{code: code,
		manager: s.as(auth.Principal{Subject: "mgr-" + code, Roles: []auth.Role{auth.RoleDealerManager}, Dealer: code}),
		agent:   s.as(auth.Principal{Subject: "agent-" + code, Roles: []auth.Role{auth.RoleAgent}, Dealer: code})}
	hq := s.as(auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	if _, err := network.CreateRegion(hq, &customerv1.CreateRegionRequest{Region: &customerv1.Region{Code: "EAST", Name: "华东大区"}}); err != nil && !strings.Contains(err.Error(), "exists") {
		t.Fatal(err)
	}
	if _, err := network.CreateDealer(hq, &customerv1.CreateDealerRequest{Dealer: &customerv1.Dealer{Code: code, Name: "上海 4S " + code, Region: "EAST"}}); err != nil {
		t.Fatal(err)
	}
	timing := &callbackv1.KindTiming{Kind: callbackv1.CallbackKind_CALLBACK_KIND_3DC, Delay: durationpb.New(time.Second), Window: durationpb.New(time.Minute)}
	if _, err := callbacks.UpdateCallbackPolicy(d.manager, &callbackv1.UpdateCallbackPolicyRequest{Dealer: code, Policy: &callbackv1.CallbackPolicy{
		Timings: []*callbackv1.KindTiming{timing}, MaxAttempts: 3, RetryInterval: durationpb.New(time.Minute),
		CallingStart: "00:00", CallingEnd: "24:00", ScoreThreshold: 80,
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := callbacks.CreateCallbackAgent(d.manager, &callbackv1.CreateCallbackAgentRequest{Dealer: code, Agent: &callbackv1.CallbackAgent{Subject: "agent-" + code}}); err != nil {
		t.Fatal(err)
	}
	cust, err := archive.CreateCustomer(d.agent, &customerv1.CreateCustomerRequest{Dealer: code, Customer: &customerv1.Customer{Name: "陈静", Mobile: "13912345678"}})
	if err != nil {
		t.Fatal(err)
	}
	d.vin = validate.CompleteVIN(fmt.Sprintf("LSVAU2180N%07d", time.Now().UnixNano()%10000000))
	if _, err := archive.CreateVehicle(d.agent, &customerv1.CreateVehicleRequest{Dealer: code, Customer: cust.GetId(), Vehicle: &customerv1.Vehicle{Vin: d.vin}}); err != nil {
		t.Fatal(err)
	}
	return d
}

// openRO opens a visit (through gRPC) and returns its id.
func (d *dealer) openRO(t *testing.T, s *testStack, number string) string {
	t.Helper()
	ro, err := customerv1.NewArchiveServiceClient(s.conn("customer")).CreateRepairOrder(d.agent, &customerv1.CreateRepairOrderRequest{Dealer: d.code, RepairOrder: &customerv1.RepairOrder{
		Number: number, Vin: d.vin, Type: customerv1.RepairOrderType_REPAIR_ORDER_TYPE_MAINTENANCE,
		OpenTime: timestamppb.New(time.Now().Add(-2 * time.Hour)), MileageKm: 12000}})
	if err != nil {
		t.Fatal(err)
	}
	return ro.GetId()
}

// rest calls the gateway with the agent's token.
func rest(t *testing.T, s *testStack, token, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.addrs["gateway"]+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitTask waits for repair order ro's 3DC task and returns its id.
func (d *dealer) waitTask(t *testing.T, s *testStack, ro string, limit time.Duration) string {
	t.Helper()
	callbacks := callbackv1.NewCallbackServiceClient(s.conn("callback"))
	deadline := time.Now().Add(limit)
	for {
		list, err := callbacks.ListCallbackTasks(d.manager, &callbackv1.ListCallbackTasksRequest{Dealer: d.code, Kind: callbackv1.CallbackKind_CALLBACK_KIND_3DC})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range list.GetTasks() {
			if tk.GetSourceId() == ro {
				return tk.GetId()
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 3DC task for repair order %s after %s", ro, limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestOneTraceEndToEnd closes a repair order through the REST API of the
// real gateway, customer service, callback service and worker (processes
// exporting OTLP to a receiver in the test) and checks that one trace
// follows it all the way: the gateway's HTTP span, its gRPC call to the
// customer service, the SQL that records the outbox event, the outbox's
// producer span, the relay's hand-off (a child of it, linked to it),
// Temporal's SignalWithStart, the callback workflow and its activity, and
// the activity's call to the callback service that creates the 3DC task.
func TestOneTraceEndToEnd(t *testing.T) {
	rcv := startOTLPReceiver(t)
	s := newStack(t, []program{customerProgram, callbackProgram, workerProgram, gatewayProgram},
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+rcv.addr, "OTEL_BSP_SCHEDULE_DELAY=200", "LOG_LEVEL=warn")
	for _, p := range []program{customerProgram, callbackProgram, workerProgram, gatewayProgram} {
		s.start(p)
	}
	d := setUpDealer(t, s, "SH001")
	ro := d.openRO(t, s, "RO-TRACE-1")
	agentToken := s.id.Token(t, auth.Principal{Subject: "agent-SH001", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	if code, body := rest(t, s, agentToken, http.MethodPost, "/v1/dealers/SH001/repairOrders/"+ro+":close", `{"mileageKm": 12100}`); code != http.StatusOK {
		t.Fatalf("close repair order: HTTP %d %s", code, body)
	}
	task := d.waitTask(t, s, ro, time.Minute)
	// The workflow's own span ends with the run: cancel the task to end it.
	if _, err := callbackv1.NewCallbackServiceClient(s.conn("callback")).CancelCallbackTask(d.manager,
		&callbackv1.CancelCallbackTaskRequest{Dealer: d.code, Task: task, Reason: "trace test done"}); err != nil {
		t.Fatal(err)
	}
	wf := events.CallbackWorkflowID(events.Callback3DC, ro)

	// The trace is the one of the gateway's call to CloseRepairOrder.
	const closeMethod = "dealercare.customer.v1.ArchiveService/CloseRepairOrder"
	var trace []span
	var missing string
	deadline := time.Now().Add(time.Minute)
	for {
		trace, missing = findTrace(rcv.received(), closeMethod, "RunWorkflow:"+events.CallbackWorkflowType)
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a minute: %s; spans received:\n%s", missing, describe(rcv.received()))
		}
		time.Sleep(200 * time.Millisecond)
	}
	byID := map[string]span{}
	for _, sp := range trace {
		byID[sp.ID] = sp
	}
	// one finds the single span of the trace matching; under, when set,
	// must be its parent.
	one := func(what, service, name string, kind tracepb.Span_SpanKind, parent *span, match func(span) bool) span {
		t.Helper()
		var found []span
		for _, sp := range trace {
			if sp.Service == service && sp.Name == name && (kind == 0 || sp.Kind == kind) && (match == nil || match(sp)) {
				found = append(found, sp)
			}
		}
		if len(found) == 0 {
			t.Fatalf("%s: no span %q of %s (kind %s) in the trace:\n%s", what, name, service, kind, describe(trace))
		}
		sp := found[0]
		if parent != nil && sp.ParentID != parent.ID {
			t.Fatalf("%s: span %q of %s has parent %s (%s), want %q (%s)", what, name, service, sp.ParentID, byID[sp.ParentID].Name, parent.Name, parent.ID)
		}
		return sp
	}
	descends := func(sp, from span) bool {
		for p := sp; p.ParentID != ""; p = byID[p.ParentID] {
			if p.ParentID == from.ID {
				return true
			}
		}
		return false
	}
	forWorkflow := func(sp span) bool { return sp.Attrs["dealercare.workflow.id"] == wf }

	gwClient := one("gateway → customer", "gateway", closeMethod, tracepb.Span_SPAN_KIND_CLIENT, nil, nil)
	httpSpan := byID[gwClient.ParentID]
	if httpSpan.Service != "gateway" || httpSpan.Kind != tracepb.Span_SPAN_KIND_SERVER || httpSpan.ParentID != "" {
		t.Errorf("the gateway's gRPC call is under %+v, want the gateway's HTTP server span at the root", httpSpan)
	}
	customerSrv := one("customer service", "customer", closeMethod, tracepb.Span_SPAN_KIND_SERVER, &gwClient, nil)
	add := one("outbox add", "customer", outbox.SpanAdd, tracepb.Span_SPAN_KIND_PRODUCER, nil, forWorkflow)
	if !descends(add, customerSrv) {
		t.Errorf("outbox add is not under the customer service's CloseRepairOrder span")
	}
	var sawInsert bool
	for _, sp := range trace {
		if sp.Service == "customer" && strings.Contains(sp.Attrs["db.query.text"], "INSERT INTO outbox_events") && sp.ParentID == add.ID {
			sawInsert = true
		}
	}
	if !sawInsert {
		t.Errorf("no PostgreSQL span of the outbox INSERT under outbox add:\n%s", describe(trace))
	}
	deliver := one("relay", "customer", outbox.SpanDeliver, tracepb.Span_SPAN_KIND_CONSUMER, &add, forWorkflow)
	if len(deliver.Links) != 1 || deliver.Links[0] != add.ID {
		t.Errorf("outbox deliver links to %v, want outbox add %s", deliver.Links, add.ID)
	}
	signal := one("Temporal client", "customer", "SignalWithStartWorkflow:"+events.CallbackWorkflowType, 0, &deliver, nil)
	run := one("workflow", "worker", "RunWorkflow:"+events.CallbackWorkflowType, 0, &signal, nil)
	start := one("activity scheduled", "worker", "StartActivity:EnsureCallbackTask", 0, &run, nil)
	act := one("activity", "worker", "RunActivity:EnsureCallbackTask", 0, &start, nil)
	const ensure = "dealercare.callback.v1.CallbackWorkflowService/EnsureCallbackTask"
	call := one("worker → callback", "worker", ensure, tracepb.Span_SPAN_KIND_CLIENT, &act, nil)
	one("callback service", "callback", ensure, tracepb.Span_SPAN_KIND_SERVER, &call, nil)
	t.Logf("one trace %s: %d spans from %d services", httpSpan.TraceID, len(trace), len(services(trace)))
}

// findTrace returns the spans of the trace holding a gateway client span
// named method, once that trace also has a span named also; otherwise
// what is missing.
func findTrace(spans []span, method, also string) ([]span, string) {
	id := ""
	for _, sp := range spans {
		if sp.Service == "gateway" && sp.Name == method {
			id = sp.TraceID
		}
	}
	if id == "" {
		return nil, "no gateway span " + method
	}
	var out []span
	found := false
	for _, sp := range spans {
		if sp.TraceID == id {
			out = append(out, sp)
			found = found || sp.Name == also
		}
	}
	if !found {
		return nil, "no span " + also + " in trace " + id
	}
	return out, ""
}

func services(spans []span) map[string]bool {
	out := map[string]bool{}
	for _, sp := range spans {
		out[sp.Service] = true
	}
	return out
}

func describe(spans []span) string {
	var b strings.Builder
	for _, sp := range spans {
		fmt.Fprintf(&b, "  %s %s/%s %s %q parent %s links %v\n", sp.TraceID[:8], sp.Service, sp.ID, sp.Kind, sp.Name, sp.ParentID, sp.Links)
	}
	return b.String()
}
