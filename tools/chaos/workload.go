package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/validate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Policies short enough that the workflows fire during the run.
const (
	threeDCDelay   = 3 * time.Second
	responseTarget = 6 * time.Second
	resolveTarget  = 20 * time.Second
	importRows     = 10
)

// Ledger is what the API acknowledged (a 200 answer), for the checker.
type Ledger struct {
	mu sync.Mutex
	// Run marks this run's names.
	Run string
	// Customers by their unique name, with the id the API answered.
	Customers map[string]string
	// Vehicles by VIN, with their id.
	Vehicles map[string]string
	// RepairOrders by number: id, dealer, and whether its close was acknowledged.
	RepairOrders map[string]*RepairOrder
	// Attempts acknowledged, "dealer/task/number".
	Attempts map[string]bool
	// Completed callback tasks, "dealer/task".
	Completed map[string]bool
	// Complaints by their unique description: id, dealer, last acknowledged state.
	Complaints map[string]*Complaint
	// Imports: DMS customer ids of the files whose import succeeded, by dealer.
	Imported map[string][]string

	ops     map[string]int // acknowledged operations by kind
	refused map[string]int // final non-2xx answers by kind
	samples []string       // the first refusals, for the report
}

// RepairOrder is an acknowledged repair order.
type RepairOrder struct {
	Dealer, ID string
	Closed     bool
}

// Complaint is an acknowledged complaint.
type Complaint struct {
	Dealer, ID, State string
	Escalated         bool
}

func newLedger(run string) *Ledger {
	return &Ledger{
		Run: run, Customers: map[string]string{}, Vehicles: map[string]string{}, RepairOrders: map[string]*RepairOrder{},
		Attempts: map[string]bool{}, Completed: map[string]bool{}, Complaints: map[string]*Complaint{},
		Imported: map[string][]string{}, ops: map[string]int{}, refused: map[string]int{},
	}
}

func (l *Ledger) ack(kind string, f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ops[kind]++
	if f != nil {
		f()
	}
}

func (l *Ledger) refuse(kind string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refused[kind]++
	if len(l.samples) < 10 {
		l.samples = append(l.samples, kind+": "+err.Error())
	}
}

// Acknowledged is the number of acknowledged operations.
func (l *Ledger) Acknowledged() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, v := range l.ops {
		n += v
	}
	return n
}

// workload drives the API from Clients goroutines until Ops operations are
// acknowledged.
type workload struct {
	c       *client
	ledger  *Ledger
	dealers []string
	hq      string
	agent   map[string]string // token of each dealer's only agent
	manager map[string]string
	target  int64
	done    atomic.Int64
	serial  atomic.Int64
	// tasks being worked, so two clients never work the same one.
	taken sync.Map
}

func (w *workload) next() int64 { return w.serial.Add(1) }

func (w *workload) setUp(ctx context.Context, mint func(auth.Principal) (string, error), dealers int) error {
	var err error
	if w.hq, err = mint(auth.Principal{Subject: "chaos-hq", Roles: []auth.Role{auth.RoleHQAdmin}}); err != nil {
		return err
	}
	w.agent, w.manager = map[string]string{}, map[string]string{}
	region := "CHAOS"
	if err := w.c.call(ctx, "POST", "/v1/regions", w.hq, &customerv1.Region{Code: region, Name: "混沌大区"}, nil); err != nil && !isStatus(err, http.StatusConflict) {
		return fmt.Errorf("region: %w", err)
	}
	for i := 1; i <= dealers; i++ {
		d := fmt.Sprintf("CH%03d", i)
		w.dealers = append(w.dealers, d)
		if w.agent[d], err = mint(auth.Principal{Subject: "agent-" + d, Roles: []auth.Role{auth.RoleAgent}, Dealer: d}); err != nil {
			return err
		}
		if w.manager[d], err = mint(auth.Principal{Subject: "manager-" + d, Roles: []auth.Role{auth.RoleDealerManager}, Dealer: d}); err != nil {
			return err
		}
		if err := w.c.call(ctx, "POST", "/v1/dealers", w.hq, &customerv1.Dealer{Code: d, Name: "混沌汽车 " + d, Region: region, City: "上海", TimeZone: "Asia/Shanghai"}, nil); err != nil && !isStatus(err, http.StatusConflict) {
			return fmt.Errorf("dealer %s: %w", d, err)
		}
		cal := &customerv1.BusinessCalendar{Dealer: d}
		for day := customerv1.DayOfWeek_DAY_OF_WEEK_MONDAY; day <= customerv1.DayOfWeek_DAY_OF_WEEK_SUNDAY; day++ {
			cal.Weekly = append(cal.Weekly, &customerv1.OpeningHours{Day: day, Intervals: []*customerv1.TimeInterval{{Start: "00:00", End: "24:00"}}})
		}
		if err := w.c.call(ctx, "PUT", "/v1/dealers/"+d+"/businessCalendar", w.hq, cal, nil); err != nil {
			return fmt.Errorf("calendar %s: %w", d, err)
		}
		timing := func(k callbackv1.CallbackKind, delay time.Duration) *callbackv1.KindTiming {
			return &callbackv1.KindTiming{Kind: k, Delay: durationpb.New(delay), Window: durationpb.New(6 * time.Hour)}
		}
		pol := &callbackv1.CallbackPolicy{
			Timings: []*callbackv1.KindTiming{
				timing(callbackv1.CallbackKind_CALLBACK_KIND_3DC, threeDCDelay),
				timing(callbackv1.CallbackKind_CALLBACK_KIND_COMPLAINT_FOLLOW_UP, time.Second),
			},
			MaxAttempts: 3, RetryInterval: durationpb.New(2 * time.Second), CallingStart: "00:00", CallingEnd: "24:00", ScoreThreshold: 80,
		}
		if err := w.c.call(ctx, "PUT", "/v1/dealers/"+d+"/callbackPolicy", w.manager[d], pol, nil); err != nil {
			return fmt.Errorf("callback policy %s: %w", d, err)
		}
		if err := w.c.call(ctx, "POST", "/v1/dealers/"+d+"/callbackAgents", w.manager[d], &callbackv1.CallbackAgent{Subject: "agent-" + d}, nil); err != nil && !isStatus(err, http.StatusConflict) {
			return fmt.Errorf("callback agent %s: %w", d, err)
		}
		sla := &complaintv1.SlaPolicy{WarningRatio: 0.8}
		for s := complaintv1.Severity_SEVERITY_LOW; s <= complaintv1.Severity_SEVERITY_CRITICAL; s++ {
			sla.Targets = append(sla.Targets, &complaintv1.SeverityTarget{Severity: s, Response: durationpb.New(responseTarget), Resolution: durationpb.New(resolveTarget)})
		}
		if err := w.c.call(ctx, "PUT", "/v1/dealers/"+d+"/slaPolicy", w.manager[d], sla, nil); err != nil {
			return fmt.Errorf("SLA policy %s: %w", d, err)
		}
	}
	return nil
}

// drive runs clients goroutines until the target is reached or ctx ends.
func (w *workload) drive(ctx context.Context, clients int) {
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
			for ctx.Err() == nil && w.done.Load() < w.target {
				d := w.dealers[rng.IntN(len(w.dealers))]
				switch r := rng.IntN(100); {
				case r < 40:
					w.visit(ctx, d, rng)
				case r < 65:
					if !w.workCallback(ctx, d, rng) {
						w.visit(ctx, d, rng)
					}
				case r < 95:
					w.complaint(ctx, d, rng)
				default:
					w.importFile(ctx, d)
				}
			}
		})
	}
	wg.Wait()
}

// op runs one acknowledged-or-not operation; it returns false when the
// flow should stop (refused or cancelled).
func (w *workload) op(ctx context.Context, kind string, call func() error, onAck func()) bool {
	if err := call(); err != nil {
		if ctx.Err() == nil {
			w.ledger.refuse(kind, err)
		}
		return false
	}
	w.done.Add(1)
	w.ledger.ack(kind, onAck)
	return true
}

// visit: a new customer with a vehicle comes in for maintenance; the
// repair order is opened and closed, which starts its 3DC callback.
func (w *workload) visit(ctx context.Context, d string, rng *rand.Rand) {
	n := w.next()
	tok := w.agent[d]
	name := fmt.Sprintf("混沌%s客户%d", w.ledger.Run, n)
	var cust customerv1.Customer
	if !w.op(ctx, "create_customer", func() error {
		return w.c.call(ctx, "POST", "/v1/dealers/"+d+"/customers", tok, &customerv1.Customer{Name: name, Mobile: fmt.Sprintf("13%09d", rng.IntN(1e9))}, &cust)
	}, func() { w.ledger.Customers[name] = cust.GetId() }) {
		return
	}
	vin := validate.CompleteVIN(fmt.Sprintf("LCH%s%s", strings.ToUpper(w.ledger.Run[:4]), fmt.Sprintf("%010d", n)))
	var veh customerv1.Vehicle
	if !w.op(ctx, "create_vehicle", func() error {
		return w.c.call(ctx, "POST", "/v1/dealers/"+d+"/customers/"+cust.GetId()+"/vehicles", tok, &customerv1.Vehicle{Vin: vin, Brand: "混沌", Model: "C1"}, &veh)
	}, func() { w.ledger.Vehicles[vin] = veh.GetId() }) {
		return
	}
	number := fmt.Sprintf("RO-%s-%d", w.ledger.Run, n)
	var ro customerv1.RepairOrder
	if !w.op(ctx, "open_repair_order", func() error {
		return w.c.call(ctx, "POST", "/v1/dealers/"+d+"/repairOrders", tok, &customerv1.RepairOrder{
			Number: number, Vin: vin, Type: customerv1.RepairOrderType_REPAIR_ORDER_TYPE_MAINTENANCE,
			OpenTime: timestamppb.New(time.Now().Add(-time.Hour)), MileageKm: 5000 + int32(n%1000)}, &ro)
	}, func() { w.ledger.RepairOrders[number] = &RepairOrder{Dealer: d, ID: ro.GetId()} }) {
		return
	}
	w.op(ctx, "close_repair_order", func() error {
		return w.c.call(ctx, "POST", "/v1/dealers/"+d+"/repairOrders/"+ro.GetId()+":close", tok,
			&customerv1.CloseRepairOrderRequest{CloseTime: timestamppb.Now()}, nil)
	}, func() { w.ledger.RepairOrders[number].Closed = true })
}

// workCallback takes one of the dealer's pending 3DC tasks: an unanswered
// attempt, an answered one, and the questionnaire completed. It reports
// whether there was a task to work.
func (w *workload) workCallback(ctx context.Context, d string, rng *rand.Rand) bool {
	tok := w.agent[d]
	var list callbackv1.ListCallbackTasksResponse
	q := url.Values{"kind": {"CALLBACK_KIND_3DC"}, "status": {"CALLBACK_STATUS_PENDING"}, "page_size": {"50"}}
	if err := w.c.call(ctx, "GET", "/v1/dealers/"+d+"/callbackTasks?"+q.Encode(), tok, nil, &list); err != nil {
		if ctx.Err() == nil {
			w.ledger.refuse("list_callbacks", err)
		}
		return false
	}
	var task *callbackv1.CallbackTask
	for _, t := range list.GetTasks() {
		if _, busy := w.taken.LoadOrStore(d+"/"+t.GetId(), true); !busy {
			task = t
			break
		}
	}
	if task == nil {
		return false
	}
	var full callbackv1.CallbackTask
	if err := w.c.call(ctx, "GET", "/v1/dealers/"+d+"/callbackTasks/"+task.GetId(), tok, nil, &full); err != nil {
		return true
	}
	base := "/v1/dealers/" + d + "/callbackTasks/" + task.GetId()
	for n, outcome := range []callbackv1.AttemptOutcome{callbackv1.AttemptOutcome_ATTEMPT_OUTCOME_NO_ANSWER, callbackv1.AttemptOutcome_ATTEMPT_OUTCOME_ANSWERED} {
		number := int32(n + 1)
		if !w.op(ctx, "record_attempt", func() error {
			return w.c.call(ctx, "POST", base+":recordAttempt", tok, &callbackv1.RecordCallbackAttemptRequest{Number: number, Outcome: outcome}, nil)
		}, func() { w.ledger.Attempts[fmt.Sprintf("%s/%s/%d", d, task.GetId(), number)] = true }) {
			return true
		}
	}
	low := rng.IntN(10) == 0 // one in ten opens a complaint
	w.op(ctx, "complete_callback", func() error {
		return w.c.call(ctx, "POST", base+":complete", tok, &callbackv1.CompleteCallbackTaskRequest{
			Answers: answers(full.GetQuestionnaire(), low), ProblemReported: low, Findings: "混沌测试回访"}, nil)
	}, func() { w.ledger.Completed[d+"/"+task.GetId()] = true })
	return true
}

// complaint: filed, then either worked to closed, escalated by hand, or
// left to its SLA clocks.
func (w *workload) complaint(ctx context.Context, d string, rng *rand.Rand) {
	n := w.next()
	tok := w.manager[d]
	desc := fmt.Sprintf("混沌%s投诉%d: 保养后异响", w.ledger.Run, n)
	var c complaintv1.Complaint
	if !w.op(ctx, "file_complaint", func() error {
		return w.c.call(ctx, "POST", "/v1/dealers/"+d+"/complaints", tok, &complaintv1.Complaint{
			Channel: complaintv1.Channel_CHANNEL_PHONE, Category: complaintv1.Category_CATEGORY_REPAIR_QUALITY,
			Severity: complaintv1.Severity(1 + rng.IntN(4)), Description: desc}, &c)
	}, func() { w.ledger.Complaints[desc] = &Complaint{Dealer: d, ID: c.GetId(), State: "new"} }) {
		return
	}
	base := "/v1/dealers/" + d + "/complaints/" + c.GetId()
	rec := func(state string) func() { return func() { w.ledger.Complaints[desc].State = state } }
	switch rng.IntN(3) {
	case 0: // left alone: its clocks escalate it
	case 1:
		w.op(ctx, "escalate_complaint", func() error {
			return w.c.call(ctx, "POST", base+":escalate", tok, &complaintv1.EscalateComplaintRequest{Note: "客户要求升级"}, nil)
		}, func() { w.ledger.Complaints[desc].Escalated = true })
	default:
		steps := []struct {
			verb, state string
			body        proto.Message
		}{
			{"acknowledge", "acknowledged", &complaintv1.AcknowledgeComplaintRequest{Note: "已受理"}},
			{"start", "in_progress", &complaintv1.StartComplaintRequest{}},
			{"resolve", "resolved", &complaintv1.ResolveComplaintRequest{RootCause: "传感器插头松动", Resolution: "重新紧固"}},
			{"close", "closed", &complaintv1.CloseComplaintRequest{Note: "客户满意"}},
		}
		for _, s := range steps {
			if !w.op(ctx, s.verb+"_complaint", func() error {
				return w.c.call(ctx, "POST", base+":"+s.verb, tok, s.body, nil)
			}, rec(s.state)) {
				return
			}
		}
	}
}

// importFile uploads a small DMS export and follows it to its end; the
// operation is acknowledged when the import has succeeded.
func (w *workload) importFile(ctx context.Context, d string) {
	n := w.next()
	var b strings.Builder
	b.WriteString("dms_customer_id,name,mobile\n")
	var ids []string
	for i := range importRows {
		id := fmt.Sprintf("DMS-%s-%d-%d", w.ledger.Run, n, i)
		ids = append(ids, id)
		fmt.Fprintf(&b, "%s,导入客户%d,139%08d\n", id, i, (int(n)*importRows+i)%1e8)
	}
	var imp customerv1.Import
	tok := w.manager[d]
	if err := w.c.call(ctx, "POST", "/v1/dealers/"+d+"/imports", tok, &customerv1.CreateImportRequest{
		FileName: fmt.Sprintf("chaos-%d.csv", n), Content: []byte(b.String()), Encoding: "utf-8"}, &imp); err != nil {
		if ctx.Err() == nil {
			w.ledger.refuse("import", err)
		}
		return
	}
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(500 * time.Millisecond) {
		var got customerv1.Import
		if err := w.c.call(ctx, "GET", "/v1/dealers/"+d+"/imports/"+imp.GetId(), tok, nil, &got); err != nil {
			continue
		}
		switch got.GetState() {
		case customerv1.ImportState_IMPORT_STATE_SUCCEEDED:
			w.done.Add(1)
			w.ledger.ack("import", func() { w.ledger.Imported[d] = append(w.ledger.Imported[d], ids...) })
			return
		case customerv1.ImportState_IMPORT_STATE_FAILED:
			w.ledger.refuse("import", errors.New("import "+imp.GetId()+" failed: "+got.String()))
			return
		}
	}
	w.ledger.refuse("import", errors.New("import "+imp.GetId()+" did not end within 3 minutes"))
}

// answers answers every question as a satisfied customer, or a
// dissatisfied one when low.
func answers(q *callbackv1.Questionnaire, low bool) []*callbackv1.Answer {
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
			// "yes" is the problem answer, or the good one when "no" is.
			a.YesNo = "no"
			if (qu.GetProblemAnswer() == callbackv1.YesNoProblem_YES_NO_PROBLEM_YES) == low {
				a.YesNo = "yes"
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
