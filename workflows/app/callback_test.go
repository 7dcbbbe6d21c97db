package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
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
	"github.com/dealercare/dealercare/pkg/validate"
	callbackapp "github.com/dealercare/dealercare/services/callback/app"
	callbackpg "github.com/dealercare/dealercare/services/callback/postgres"
	complaintapp "github.com/dealercare/dealercare/services/complaint/app"
	complaintpg "github.com/dealercare/dealercare/services/complaint/postgres"
	customer "github.com/dealercare/dealercare/services/customer/app"
	customerpg "github.com/dealercare/dealercare/services/customer/postgres"
	"github.com/dealercare/dealercare/workflows/app"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// callbackStack is the customer, complaint and callback services with
// their relays and the worker, on real PostgreSQL and Temporal.
type callbackStack struct {
	network   customerv1.DealerNetworkServiceClient
	archive   customerv1.ArchiveServiceClient
	complaint complaintv1.ComplaintServiceClient
	callback  callbackv1.CallbackServiceClient
	mint      func(auth.Principal) context.Context

	// The worker and the callback service run until stopped; start runs a
	// new instance (the callback service on the same address and database).
	stopWorker, stopCallback   func()
	startWorker, startCallback func()
}

func startCallbackStack(t *testing.T) *callbackStack {
	t.Helper()
	temporalAddr := temporaltest.Address(t)
	cdb := pgtest.NewFrom(t, customerpg.Schema, customerpg.Migrations)
	fdb := pgtest.NewFrom(t, complaintpg.Schema, complaintpg.Migrations)
	bdb := pgtest.NewFrom(t, callbackpg.Schema, callbackpg.Migrations)
	id := authtest.New(t)
	token := func(p auth.Principal) string { return id.Token(t, p) }
	tokenFile, authCfg := id.ServiceTokenFile, id.Config
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	tcfg := dctemporal.Config{Address: temporalAddr, Namespace: "default"}
	grpcCfg := grpcserver.Config{Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}

	cu := &customer.Main{Config: customer.Config{
		Config: service.Config{GRPC: grpcCfg, Auth: authCfg, Database: pg.Config{URL: cdb.AppURL}, Temporal: tcfg, RelayEnabled: true},
		PII:    pii.NewRandomKeys(),
	}, Log: quiet}
	background(t, cu.Open, cu.Run, cu.Close)
	co := &complaintapp.Main{Config: complaintapp.Config{
		Config:  service.Config{GRPC: grpcCfg, Auth: authCfg, Database: pg.Config{URL: fdb.AppURL}, Temporal: tcfg, RelayEnabled: true},
		Network: service.NetworkConfig{CustomerTarget: cu.Addr(), ServiceTokenFile: tokenFile},
	}, Log: quiet}
	background(t, co.Open, co.Run, co.Close)
	s := &callbackStack{}
	callbackAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s.startCallback = func() {
		cb := &callbackapp.Main{Config: callbackapp.Config{
			Config:  service.Config{GRPC: grpcserver.Config{Addr: callbackAddr, ShutdownTimeout: 5 * time.Second}, Auth: authCfg, Database: pg.Config{URL: bdb.AppURL}, Temporal: tcfg, RelayEnabled: true},
			Network: service.NetworkConfig{CustomerTarget: cu.Addr(), ServiceTokenFile: tokenFile},
		}, Log: quiet}
		s.stopCallback = startInProcess(t, cb.Open, cb.Run, cb.Close)
	}
	s.startWorker = func() {
		w := &app.Main{Config: app.Config{
			Temporal: tcfg, CustomerTarget: cu.Addr(), ComplaintTarget: co.Addr(), CallbackTarget: callbackAddr,
			ServiceTokenFile: tokenFile, HealthAddr: "127.0.0.1:0",
		}, Log: quiet}
		s.stopWorker = startInProcess(t, w.Open, w.Run, w.Close)
	}
	s.startCallback()
	s.startWorker()

	conn := func(addr string) *grpc.ClientConn {
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	cc, fc, bc := conn(cu.Addr()), conn(co.Addr()), conn(callbackAddr)
	s.network = customerv1.NewDealerNetworkServiceClient(cc)
	s.archive = customerv1.NewArchiveServiceClient(cc)
	s.complaint = complaintv1.NewComplaintServiceClient(fc)
	s.callback = callbackv1.NewCallbackServiceClient(bc)
	s.mint = func(p auth.Principal) context.Context { return auth.WithToken(context.Background(), token(p)) }
	return s
}

// eventually polls f every 100 ms until it returns true or limit passes.
func eventually(t *testing.T, limit time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// answerAll answers every question of q as a dissatisfied customer when
// low, or a satisfied one.
func answerAll(q *callbackv1.Questionnaire, low bool) []*callbackv1.Answer {
	var out []*callbackv1.Answer
	for _, qu := range q.GetQuestions() {
		a := &callbackv1.Answer{Question: qu.GetCode()}
		switch qu.GetType() {
		case callbackv1.QuestionType_QUESTION_TYPE_RATING:
			scale := qu.GetScale()
			if scale == 0 {
				scale = 5
			}
			a.Rating = scale
			if low {
				a.Rating = 1
			}
		case callbackv1.QuestionType_QUESTION_TYPE_YES_NO:
			bad := "no"
			if qu.GetProblemAnswer() == callbackv1.YesNoProblem_YES_NO_PROBLEM_YES {
				bad = "yes"
			}
			good := map[string]string{"yes": "no", "no": "yes"}[bad]
			a.YesNo = good
			if low {
				a.YesNo = bad
			}
		case callbackv1.QuestionType_QUESTION_TYPE_CHOICE:
			best, worst := qu.GetOptions()[0], qu.GetOptions()[0]
			for _, o := range qu.GetOptions() {
				if o.GetScore() > best.GetScore() {
					best = o
				}
				if o.GetScore() < worst.GetScore() {
					worst = o
				}
			}
			a.Choice = best.GetCode()
			if low {
				a.Choice = worst.GetCode()
			}
		case callbackv1.QuestionType_QUESTION_TYPE_TEXT:
			a.Text = "客户意见"
		}
		out = append(out, a)
	}
	return out
}

// callbackDealer is a 24x7 dealer with a callback policy in seconds, its
// agents, and a customer with a vehicle.
type callbackDealer struct {
	s              *callbackStack
	dealer         string
	manager, agent context.Context
	cust           *customerv1.Customer
	veh            *customerv1.Vehicle
}

// setUpDealer creates SH001 with a 3DC delay and retry interval in
// seconds, calling round the clock, and agents in its rotation; agent is
// the first of them.
func (s *callbackStack) setUpDealer(t *testing.T, delay, retry time.Duration, agents ...string) *callbackDealer {
	t.Helper()
	d := &callbackDealer{s: s, dealer: "SH001"}
	hq := s.mint(auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	d.manager = s.mint(auth.Principal{Subject: "mgr", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: d.dealer})
	d.agent = s.mint(auth.Principal{Subject: agents[0], Roles: []auth.Role{auth.RoleAgent}, Dealer: d.dealer})
	if _, err := s.network.CreateRegion(hq, &customerv1.CreateRegionRequest{Region: &customerv1.Region{Code: "EAST", Name: "华东大区"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.network.CreateDealer(hq, &customerv1.CreateDealerRequest{Dealer: &customerv1.Dealer{Code: d.dealer, Name: "上海 4S", Region: "EAST"}}); err != nil {
		t.Fatal(err)
	}
	timing := func(k callbackv1.CallbackKind, d time.Duration) *callbackv1.KindTiming {
		return &callbackv1.KindTiming{Kind: k, Delay: durationpb.New(d), Window: durationpb.New(time.Minute)}
	}
	if _, err := s.callback.UpdateCallbackPolicy(d.manager, &callbackv1.UpdateCallbackPolicyRequest{Dealer: d.dealer, Policy: &callbackv1.CallbackPolicy{
		Timings: []*callbackv1.KindTiming{
			timing(callbackv1.CallbackKind_CALLBACK_KIND_3DC, delay),
			timing(callbackv1.CallbackKind_CALLBACK_KIND_COMPLAINT_FOLLOW_UP, time.Second),
		},
		MaxAttempts: 3, RetryInterval: durationpb.New(retry), CallingStart: "00:00", CallingEnd: "24:00", ScoreThreshold: 80,
	}}); err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		if _, err := s.callback.CreateCallbackAgent(d.manager, &callbackv1.CreateCallbackAgentRequest{Dealer: d.dealer, Agent: &callbackv1.CallbackAgent{Subject: a}}); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if d.cust, err = s.archive.CreateCustomer(d.agent, &customerv1.CreateCustomerRequest{Dealer: d.dealer, Customer: &customerv1.Customer{Name: "陈静", Mobile: "13912345678"}}); err != nil {
		t.Fatal(err)
	}
	if d.veh, err = s.archive.CreateVehicle(d.agent, &customerv1.CreateVehicleRequest{Dealer: d.dealer, Customer: d.cust.GetId(),
		Vehicle: &customerv1.Vehicle{Vin: validate.CompleteVIN(fmt.Sprintf("LSVAU2180N%07d", time.Now().UnixNano()%10000000))}}); err != nil {
		t.Fatal(err)
	}
	return d
}

// closeRO opens and closes a visit now; it returns the repair order's id
// and the close time.
func (d *callbackDealer) closeRO(t *testing.T, number string) (string, time.Time) {
	t.Helper()
	ro, err := d.s.archive.CreateRepairOrder(d.agent, &customerv1.CreateRepairOrderRequest{Dealer: d.dealer, RepairOrder: &customerv1.RepairOrder{
		Number: number, Vin: d.veh.GetVin(), Type: customerv1.RepairOrderType_REPAIR_ORDER_TYPE_MAINTENANCE,
		OpenTime: timestamppb.New(time.Now().Add(-2 * time.Hour)), MileageKm: 12000}})
	if err != nil {
		t.Fatal(err)
	}
	closed := time.Now().Truncate(time.Microsecond) // PostgreSQL's precision
	if _, err := d.s.archive.CloseRepairOrder(d.agent, &customerv1.CloseRepairOrderRequest{Dealer: d.dealer, RepairOrder: ro.GetId(), CloseTime: timestamppb.New(closed)}); err != nil {
		t.Fatal(err)
	}
	return ro.GetId(), closed
}

// tasksFor lists the dealer's 3DC tasks of repair order ro.
func (d *callbackDealer) tasksFor(t *testing.T, ro string) []*callbackv1.CallbackTask {
	t.Helper()
	list, err := d.s.callback.ListCallbackTasks(d.manager, &callbackv1.ListCallbackTasksRequest{Dealer: d.dealer, Kind: callbackv1.CallbackKind_CALLBACK_KIND_3DC})
	if err != nil {
		t.Fatal(err)
	}
	var out []*callbackv1.CallbackTask
	for _, tk := range list.GetTasks() {
		if tk.GetSourceId() == ro {
			out = append(out, tk)
		}
	}
	return out
}

// waitTask waits for repair order ro's 3DC task.
func (d *callbackDealer) waitTask(t *testing.T, ro string, limit time.Duration) *callbackv1.CallbackTask {
	t.Helper()
	var tasks []*callbackv1.CallbackTask
	eventually(t, limit, "no 3DC task for repair order "+ro, func() bool {
		tasks = d.tasksFor(t, ro)
		return len(tasks) > 0
	})
	return tasks[0]
}

// get reads a task as the dealer's manager.
func (d *callbackDealer) get(t *testing.T, id string) *callbackv1.CallbackTask {
	t.Helper()
	tk, err := d.s.callback.GetCallbackTask(d.manager, &callbackv1.GetCallbackTaskRequest{Dealer: d.dealer, Task: id})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// TestCallbacksOnARealStack is issue 6's scenario on the real services,
// relays, worker and Temporal, with a policy in seconds on round-the-clock
// calling hours: a closed repair order makes one 3DC task after the delay;
// three unanswered attempts end it unreachable; a low-scoring callback opens
// a complaint linked both ways; resolving that complaint makes a follow-up
// whose dissatisfied answer reopens it; the daily report counts all of it.
func TestCallbacksOnARealStack(t *testing.T) {
	s := startCallbackStack(t)
	const delay, retry = 2 * time.Second, time.Second
	d := s.setUpDealer(t, delay, retry, "agent-1", "agent-2")
	dealer, manager, agent, cust, veh := d.dealer, d.manager, d.agent, d.cust, d.veh
	// closeRO closes a visit now and waits for its 3DC task.
	closeRO := func(number string) (*callbackv1.CallbackTask, time.Time) {
		t.Helper()
		ro, closed := d.closeRO(t, number)
		return d.waitTask(t, ro, 30*time.Second), closed
	}

	// 1. One 3DC task, after the delay, for the right source.
	first, closed := closeRO("RO-1")
	created := first.GetCreateTime().AsTime()
	if created.Before(closed.Add(delay)) {
		t.Errorf("3DC task created at %s, before the delay ended (%s)", created.Format(time.RFC3339Nano), closed.Add(delay).Format(time.RFC3339Nano))
	}
	if late := created.Sub(closed.Add(delay)); late > 10*time.Second {
		t.Errorf("3DC task created %s after it fell due", late)
	}
	if first.GetStatus() != callbackv1.CallbackStatus_CALLBACK_STATUS_PENDING || first.GetAssignee() != "agent-1" || first.GetCustomer() != cust.GetId() || first.GetVin() != veh.GetVin() {
		t.Errorf("3DC task = %v, want pending, assigned round-robin to agent-1, for the visit's customer and vehicle", first)
	}
	get := func(id string) *callbackv1.CallbackTask { t.Helper(); return d.get(t, id) }
	if q := get(first.GetId()).GetQuestionnaire(); q.GetVersion() < 1 || len(q.GetQuestions()) == 0 || q.GetScript() == "" {
		t.Errorf("3DC task has no questionnaire and script: %v", q)
	}
	// The agent's queue shows it.
	queue, err := s.callback.ListCallbackTasks(agent, &callbackv1.ListCallbackTasksRequest{Dealer: dealer, Assignee: "me", DueOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(queue.GetTasks()) != 1 || queue.GetTasks()[0].GetId() != first.GetId() {
		t.Errorf("agent-1's due queue = %v, want the 3DC task", queue.GetTasks())
	}

	// 2. Three unanswered attempts end it unreachable; each retry is
	// planned retry after the attempt.
	for n := int32(1); n <= 3; n++ {
		at := time.Now()
		if _, err := s.callback.RecordCallbackAttempt(agent, &callbackv1.RecordCallbackAttemptRequest{
			Dealer: dealer, Task: first.GetId(), Number: n, Outcome: callbackv1.AttemptOutcome_ATTEMPT_OUTCOME_NO_ANSWER}); err != nil {
			t.Fatalf("attempt %d: %v", n, err)
		}
		// A retried request for the same attempt counts once.
		if _, err := s.callback.RecordCallbackAttempt(agent, &callbackv1.RecordCallbackAttemptRequest{
			Dealer: dealer, Task: first.GetId(), Number: n, Outcome: callbackv1.AttemptOutcome_ATTEMPT_OUTCOME_NO_ANSWER}); err != nil {
			t.Fatalf("attempt %d again: %v", n, err)
		}
		if n == 3 {
			break
		}
		var tk *callbackv1.CallbackTask
		eventually(t, 15*time.Second, fmt.Sprintf("no retry planned after attempt %d", n), func() bool {
			tk = get(first.GetId())
			return tk.GetNextAttemptTime() != nil
		})
		next := tk.GetNextAttemptTime().AsTime()
		if next.Before(at.Add(retry-100*time.Millisecond)) || next.After(at.Add(retry+10*time.Second)) {
			t.Errorf("retry after attempt %d planned at %s, want about %s", n, next.Format(time.RFC3339Nano), at.Add(retry).Format(time.RFC3339Nano))
		}
	}
	var ended *callbackv1.CallbackTask
	eventually(t, 15*time.Second, "3DC task not unreachable after 3 unanswered attempts", func() bool {
		ended = get(first.GetId())
		return ended.GetStatus() == callbackv1.CallbackStatus_CALLBACK_STATUS_UNREACHABLE
	})
	if len(ended.GetAttempts()) != 3 {
		t.Errorf("unreachable task has %d attempts, want 3", len(ended.GetAttempts()))
	}

	// 3. A low score opens a complaint, linked both ways.
	second, _ := closeRO("RO-2")
	if second.GetAssignee() != "agent-2" {
		t.Errorf("second task assigned to %q, want agent-2 (round-robin)", second.GetAssignee())
	}
	second = get(second.GetId())
	agent = s.mint(auth.Principal{Subject: "agent-2", Roles: []auth.Role{auth.RoleAgent}, Dealer: dealer})
	if _, err := s.callback.ClaimCallbackTask(agent, &callbackv1.ClaimCallbackTaskRequest{Dealer: dealer, Task: second.GetId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.callback.RecordCallbackAttempt(agent, &callbackv1.RecordCallbackAttemptRequest{
		Dealer: dealer, Task: second.GetId(), Number: 1, Outcome: callbackv1.AttemptOutcome_ATTEMPT_OUTCOME_ANSWERED}); err != nil {
		t.Fatal(err)
	}
	done, err := s.callback.CompleteCallbackTask(agent, &callbackv1.CompleteCallbackTaskRequest{Dealer: dealer, Task: second.GetId(),
		Answers: answerAll(second.GetQuestionnaire(), true), ProblemReported: true, Findings: "保养后仪表报警灯仍亮"})
	if err != nil {
		t.Fatal(err)
	}
	if done.GetStatus() != callbackv1.CallbackStatus_CALLBACK_STATUS_COMPLETED || done.GetScore() >= 80 || done.GetSatisfied() {
		t.Fatalf("completed task = status %v score %v satisfied %v, want completed, under 80, dissatisfied", done.GetStatus(), done.GetScore(), done.GetSatisfied())
	}
	var linked *callbackv1.CallbackTask
	eventually(t, 15*time.Second, "no complaint linked to the low-scoring callback", func() bool {
		linked = get(second.GetId())
		return linked.GetComplaint() != ""
	})
	cp, err := s.complaint.GetComplaint(manager, &complaintv1.GetComplaintRequest{Dealer: dealer, Complaint: linked.GetComplaint()})
	if err != nil {
		t.Fatal(err)
	}
	if cp.GetSource() != "callback/"+second.GetId() || cp.GetChannel() != complaintv1.Channel_CHANNEL_CALLBACK || cp.GetCustomer() != cust.GetId() || cp.GetDescription() == "" {
		t.Errorf("opened complaint = %v, want channel callback, source callback/%s, the customer, the findings", cp, second.GetId())
	}
	all, err := s.complaint.ListComplaints(manager, &complaintv1.ListComplaintsRequest{Dealer: dealer})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.GetComplaints()) != 1 {
		t.Errorf("%d complaints, want exactly 1", len(all.GetComplaints()))
	}

	// 4. Resolving it makes a follow-up; a dissatisfied answer reopens it.
	for _, step := range []func() error{
		func() error {
			_, err := s.complaint.AcknowledgeComplaint(manager, &complaintv1.AcknowledgeComplaintRequest{Dealer: dealer, Complaint: cp.GetId()})
			return err
		},
		func() error {
			_, err := s.complaint.StartComplaint(manager, &complaintv1.StartComplaintRequest{Dealer: dealer, Complaint: cp.GetId()})
			return err
		},
		func() error {
			_, err := s.complaint.ResolveComplaint(manager, &complaintv1.ResolveComplaintRequest{Dealer: dealer, Complaint: cp.GetId(),
				RootCause: "传感器插头松动", Resolution: "重新紧固并清除故障码"})
			return err
		},
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	var follow *callbackv1.CallbackTask
	eventually(t, 30*time.Second, "no follow-up task for the resolved complaint", func() bool {
		list, err := s.callback.ListCallbackTasks(manager, &callbackv1.ListCallbackTasksRequest{Dealer: dealer, Kind: callbackv1.CallbackKind_CALLBACK_KIND_COMPLAINT_FOLLOW_UP})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.GetTasks()) > 0 {
			follow = list.GetTasks()[0]
		}
		return follow != nil
	})
	follow = get(follow.GetId())
	agent = s.mint(auth.Principal{Subject: follow.GetAssignee(), Roles: []auth.Role{auth.RoleAgent}, Dealer: dealer})
	if follow.GetComplaint() != cp.GetId() {
		t.Errorf("follow-up for complaint %q, want %q", follow.GetComplaint(), cp.GetId())
	}
	if _, err := s.callback.ClaimCallbackTask(agent, &callbackv1.ClaimCallbackTaskRequest{Dealer: dealer, Task: follow.GetId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.callback.RecordCallbackAttempt(agent, &callbackv1.RecordCallbackAttemptRequest{
		Dealer: dealer, Task: follow.GetId(), Number: 1, Outcome: callbackv1.AttemptOutcome_ATTEMPT_OUTCOME_ANSWERED}); err != nil {
		t.Fatal(err)
	}
	fdone, err := s.callback.CompleteCallbackTask(agent, &callbackv1.CompleteCallbackTaskRequest{Dealer: dealer, Task: follow.GetId(),
		Answers: answerAll(follow.GetQuestionnaire(), true), ProblemReported: true, Findings: "报警灯再次亮起"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "complaint not reopened by the dissatisfied follow-up", func() bool {
		c, err := s.complaint.GetComplaint(manager, &complaintv1.GetComplaintRequest{Dealer: dealer, Complaint: cp.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		return c.GetState() == complaintv1.State_STATE_REOPENED && c.GetReopenCount() == 1
	})
	// The follow-up reopened the complaint; it did not open another.
	all, err = s.complaint.ListComplaints(manager, &complaintv1.ListComplaintsRequest{Dealer: dealer})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.GetComplaints()) != 1 {
		t.Errorf("%d complaints after the follow-up, want still 1", len(all.GetComplaints()))
	}

	// 5. Today's report counts exactly the tasks above.
	report, err := s.callback.GetCallbackReport(manager, &callbackv1.GetCallbackReportRequest{Dealer: dealer, Period: callbackv1.ReportPeriod_REPORT_PERIOD_DAY})
	if err != nil {
		t.Fatal(err)
	}
	tot := report.GetTotal()
	wantScore := (done.GetScore() + fdone.GetScore()) / 2
	if tot.GetDue() != 3 || tot.GetCompleted() != 2 || tot.GetUnreachable() != 1 || tot.GetRefused() != 0 || tot.GetExpired() != 0 ||
		tot.GetAttempts() != 5 || tot.GetProblemsFound() != 2 || tot.GetComplaintsOpened() != 1 || math.Abs(tot.GetAverageScore()-wantScore) > 0.01 {
		t.Errorf("daily report total = %v; want due 3, completed 2, unreachable 1, attempts 5, problems 2, complaints opened 1, average score %.2f", tot, wantScore)
	}
	kinds := map[callbackv1.CallbackKind]*callbackv1.ReportFigures{}
	for _, k := range report.GetKinds() {
		kinds[k.GetKind()] = k
	}
	if k := kinds[callbackv1.CallbackKind_CALLBACK_KIND_3DC]; k.GetDue() != 2 || k.GetCompleted() != 1 || k.GetUnreachable() != 1 {
		t.Errorf("3DC figures = %v, want due 2, completed 1, unreachable 1", k)
	}
	if k := kinds[callbackv1.CallbackKind_CALLBACK_KIND_COMPLAINT_FOLLOW_UP]; k.GetDue() != 1 || k.GetCompleted() != 1 {
		t.Errorf("follow-up figures = %v, want due 1, completed 1", k)
	}
}

// TestCallbackSurvivesRestarts: the worker is down when a visit closes and
// when its callback falls due, and the callback service restarts around an
// attempt; the task still appears once, an attempt retried by the client
// counts once, and every retry is planned once.
func TestCallbackSurvivesRestarts(t *testing.T) {
	s := startCallbackStack(t)
	const delay, retry = 2 * time.Second, time.Second
	d := s.setUpDealer(t, delay, retry, "agent-1")

	// The worker is down from before the close until after the due time.
	s.stopWorker()
	ro, closed := d.closeRO(t, "RO-R-1")
	time.Sleep(delay + time.Second)
	if got := d.tasksFor(t, ro); len(got) != 0 {
		t.Fatalf("a task without a worker: %v", got)
	}
	s.startWorker()
	task := d.waitTask(t, ro, 30*time.Second)
	if due := task.GetDueTime().AsTime(); due.Before(closed.Add(delay)) || due.After(closed.Add(delay+time.Second)) {
		t.Errorf("due %s, want the close plus the delay (%s)", due.Format(time.RFC3339Nano), closed.Add(delay).Format(time.RFC3339Nano))
	}

	attempt := func(n int32) error {
		_, err := s.callback.RecordCallbackAttempt(d.agent, &callbackv1.RecordCallbackAttemptRequest{
			Dealer: d.dealer, Task: task.GetId(), Number: n, Outcome: callbackv1.AttemptOutcome_ATTEMPT_OUTCOME_NO_ANSWER})
		return err
	}
	planned := func(n int) *callbackv1.CallbackTask {
		t.Helper()
		var tk *callbackv1.CallbackTask
		eventually(t, 30*time.Second, fmt.Sprintf("no retry planned after attempt %d", n), func() bool {
			tk = d.get(t, task.GetId())
			return len(tk.GetAttempts()) == n && tk.GetNextAttemptTime() != nil
		})
		return tk
	}

	// Attempt 1; the callback service stops right after it commits (its
	// relay may or may not have handed the event over) and a new instance
	// takes over the same database. The agent's client retries the call.
	if err := attempt(1); err != nil {
		t.Fatal(err)
	}
	s.stopCallback()
	if err := attempt(1); err == nil {
		t.Fatal("an attempt recorded while the callback service is down")
	}
	s.startCallback()
	eventually(t, 15*time.Second, "retried attempt 1 not accepted after the restart", func() bool { return attempt(1) == nil })
	planned(1)

	// Attempt 2 while the worker is down: the retry is planned once it is
	// back.
	s.stopWorker()
	if err := attempt(2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if tk := d.get(t, task.GetId()); tk.GetNextAttemptTime() != nil {
		t.Fatalf("a retry planned without a worker: %v", tk.GetNextAttemptTime())
	}
	s.startWorker()
	planned(2)

	// The last attempt ends it unreachable: three attempts, one task.
	if err := attempt(3); err != nil {
		t.Fatal(err)
	}
	var ended *callbackv1.CallbackTask
	eventually(t, 30*time.Second, "not unreachable after the third attempt", func() bool {
		ended = d.get(t, task.GetId())
		return ended.GetStatus() == callbackv1.CallbackStatus_CALLBACK_STATUS_UNREACHABLE
	})
	if n := len(ended.GetAttempts()); n != 3 {
		t.Errorf("%d attempts recorded, want 3", n)
	}
	if got := d.tasksFor(t, ro); len(got) != 1 {
		t.Errorf("%d tasks for the visit, want 1", len(got))
	}
}
