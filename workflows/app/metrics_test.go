package app_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/telemetry/telemetrytest"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	"github.com/dealercare/dealercare/services/complaint/escalation"
	"github.com/dealercare/dealercare/workflows/app"
	"github.com/dealercare/dealercare/workflows/evaluation"
)

// TestOperatorMetricsExported runs a complaint through the real complaint
// service (its outbox relay), Temporal and the worker until it escalates,
// and checks that every metric deploy/monitoring's alert rules and
// dashboard reference, other than the gateway's HTTP server metrics
// (services/gateway/app's TestOperatorMetricsExported checks those), was
// exported: the outbox gauges and delivery lag, the escalation lateness
// and the Temporal SDK's schedule-to-start latencies.
func TestOperatorMetricsExported(t *testing.T) {
	reader := telemetrytest.Reader(t) // before any component takes its meter
	var want []string
	for _, n := range telemetrytest.Referenced(t, filepath.Join("..", "..")) {
		if !strings.HasPrefix(n, "http_server_") {
			want = append(want, n)
		}
	}
	temporalAddr := temporaltest.Address(t)
	e := newEscalationEnv(t)
	const dealer = "MT001"
	cm, _ := e.startComplaintService(temporalAddr)
	// The complaint workflow runs local activities only; the evaluation's
	// feed workflow (started by the worker when EVALUATION_GRPC_TARGET is
	// set) schedules ordinary ones. Its service is not running here: the
	// activity is scheduled and started, and fails, which is enough.
	w := &app.Main{Config: app.Config{
		Temporal: dctemporal.Config{Address: temporalAddr, Namespace: "default"}, CustomerTarget: e.customer.Addr(),
		ComplaintTarget: cm.Addr(), EvaluationTarget: "127.0.0.1:1", ServiceTokenFile: e.tokenFile, HealthAddr: "127.0.0.1:0",
	}, Log: e.quiet}
	startInProcess(t, w.Open, w.Run, w.Close)
	cs := complaintv1.NewComplaintServiceClient(e.conn(cm.Addr()))
	e.setUpDealer(cs, dealer, 2*time.Second, time.Hour)
	agent := e.as(auth.Principal{Subject: "agent", Roles: []auth.Role{auth.RoleAgent}, Dealer: dealer})
	c, err := cs.CreateComplaint(agent, newComplaint(dealer))
	if err != nil {
		t.Fatal(err)
	}
	tc := dialTemporal(t, temporalAddr)
	t.Cleanup(func() {
		_ = tc.TerminateWorkflow(t.Context(), events.ComplaintWorkflowID(dealer, c.GetId()), "", "test done")
	})
	t.Cleanup(func() { _ = tc.TerminateWorkflow(t.Context(), evaluation.WorkflowID, "", "test done") })
	e.waitClock(c.GetId(), escalation.EscalatedKey(1), time.Now().Add(60*time.Second))
	var exported map[string]bool
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		exported = telemetrytest.Exported(t, reader)
		if exported["temporal_activity_schedule_to_start_latency_seconds"] || time.Now().After(deadline) {
			break
		}
	}
	telemetrytest.RequireExported(t, want, exported)
	t.Logf("referenced and exported: %v", want)
}
