package complaint

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/calendar"
	"github.com/dealercare/dealercare/pkg/calendar/calendarpb"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const (
	testComplaint = "C1001"
	testOrigin    = "D001"
)

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// wall reads "2026-03-06 17:55" in Asia/Shanghai.
func wall(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

// Calendars of the test dealers.
var (
	// alwaysOpen is the 24x7 calendar of demos, in UTC.
	alwaysOpen = calendar.AlwaysOpen(time.UTC).Spec()
	// officeHours is Monday to Friday 09:00-18:00 in Asia/Shanghai.
	officeHours = func() calendar.Spec {
		s := calendar.Spec{TimeZone: "Asia/Shanghai", Weekly: map[time.Weekday][]calendar.Interval{}}
		for wd := time.Monday; wd <= time.Friday; wd++ {
			s.Weekly[wd] = []calendar.Interval{{Start: 9 * time.Hour, End: 18 * time.Hour}}
		}
		return s
	}()
)

// policy builds an SLA policy with the same targets for every severity but
// critical, which gets its own.
func policy(response, resolution, criticalResponse, criticalResolution time.Duration) *complaintv1.SlaPolicy {
	p := &complaintv1.SlaPolicy{WarningRatio: 0.8}
	for sev := complaintv1.Severity_SEVERITY_LOW; sev <= complaintv1.Severity_SEVERITY_CRITICAL; sev++ {
		r, s := response, resolution
		if sev == complaintv1.Severity_SEVERITY_CRITICAL {
			r, s = criticalResponse, criticalResolution
		}
		p.Targets = append(p.Targets, &complaintv1.SeverityTarget{Severity: sev, Response: durationpb.New(r), Resolution: durationpb.New(s)})
	}
	return p
}

// seconds is the 24x7 demo policy: 10s response, 20s resolution (critical
// 4s and 8s), so the whole ladder runs in a minute.
var seconds = policy(10*time.Second, 20*time.Second, 4*time.Second, 8*time.Second)

// fakeClockService is the complaint service's ComplaintClockService: it
// records each key once, as the service does, and fails the first calls
// with errs.
type fakeClockService struct {
	mu         sync.Mutex
	input      *complaintv1.ClockInput
	inputCalls int
	recordErrs []error
	attempts   int
	records    []*complaintv1.RecordClockEventRequest
	deadlines  []*complaintv1.SetDeadlinesRequest
}

func newFakeClockService(dealer string, p *complaintv1.SlaPolicy) *fakeClockService {
	return &fakeClockService{input: &complaintv1.ClockInput{
		Dealer: dealer, State: complaintv1.State_STATE_NEW, Severity: complaintv1.Severity_SEVERITY_HIGH, Policy: p,
	}}
}

func (f *fakeClockService) GetClockInput(_ context.Context, req *complaintv1.GetClockInputRequest, _ ...grpc.CallOption) (*complaintv1.ClockInput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inputCalls++
	if f.input == nil {
		return nil, status.Errorf(codes.NotFound, "complaint %s not found", req.GetComplaint())
	}
	return f.input, nil
}

func (f *fakeClockService) setPolicy(p *complaintv1.SlaPolicy) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.input = &complaintv1.ClockInput{
		Dealer: f.input.GetDealer(), State: f.input.GetState(), Severity: f.input.GetSeverity(), Level: f.input.GetLevel(), Policy: p,
	}
}

func (f *fakeClockService) RecordClockEvent(_ context.Context, req *complaintv1.RecordClockEventRequest, _ ...grpc.CallOption) (*complaintv1.RecordClockEventResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts++
	if len(f.recordErrs) > 0 {
		err := f.recordErrs[0]
		f.recordErrs = f.recordErrs[1:]
		return nil, err
	}
	for _, r := range f.records {
		if r.GetComplaint() == req.GetComplaint() && r.GetKey() == req.GetKey() {
			return &complaintv1.RecordClockEventResponse{Recorded: false}, nil
		}
	}
	f.records = append(f.records, req)
	return &complaintv1.RecordClockEventResponse{Recorded: true}, nil
}

func (f *fakeClockService) SetDeadlines(_ context.Context, req *complaintv1.SetDeadlinesRequest, _ ...grpc.CallOption) (*complaintv1.SetDeadlinesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deadlines = append(f.deadlines, req)
	return &complaintv1.SetDeadlinesResponse{}, nil
}

// deadlinesSet are the SetDeadlines calls as "response resolution" in
// Asia/Shanghai wall time, "-" for none.
func (f *fakeClockService) deadlinesSet() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.deadlines {
		out = append(out, showWall(r.GetResponseDueTime())+" "+showWall(r.GetResolutionDueTime()))
	}
	return out
}

// showWall is t in Asia/Shanghai as "Mon 15:04", "-" for none.
func showWall(t *timestamppb.Timestamp) string {
	if t == nil {
		return "-"
	}
	return t.AsTime().In(shanghai).Format("Mon 15:04")
}

// recorded are the recorded events, in order.
func (f *fakeClockService) recorded() []*complaintv1.RecordClockEventRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*complaintv1.RecordClockEventRequest(nil), f.records...)
}

func (f *fakeClockService) recordAttempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts
}

func (f *fakeClockService) clockInputCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inputCalls
}

// fakeNetwork is the customer service's DealerNetworkService: calendars by
// dealer; others answer NotFound. Only GetBusinessCalendar is implemented.
type fakeNetwork struct {
	customerv1.DealerNetworkServiceClient
	mu        sync.Mutex
	calendars map[string]calendar.Spec
	calls     []string
}

func newFakeNetwork(cals map[string]calendar.Spec) *fakeNetwork {
	return &fakeNetwork{calendars: cals}
}

func (f *fakeNetwork) GetBusinessCalendar(_ context.Context, req *customerv1.GetBusinessCalendarRequest, _ ...grpc.CallOption) (*customerv1.BusinessCalendar, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, req.GetDealer())
	spec, ok := f.calendars[req.GetDealer()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "dealer %s not found", req.GetDealer())
	}
	return calendarpb.ToProto(req.GetDealer(), spec), nil
}

func (f *fakeNetwork) set(dealer string, spec calendar.Spec) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calendars[dealer] = spec
}

func (f *fakeNetwork) calendarCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// event is a ComplaintChanged as the complaint service writes it; the
// relay records it a second after its business time.
type event struct {
	complaint string // default testComplaint
	id        string
	version   int64
	change    string
	state     string
	at        time.Time
	dealer    string
	severity  string
	level     int
	created   time.Time
}

func (e event) envelope() outbox.Envelope {
	dealer := e.dealer
	if dealer == "" {
		dealer = testOrigin
	}
	severity := e.severity
	if severity == "" {
		severity = "high"
	}
	id := e.id
	if id == "" {
		id = fmt.Sprintf("ev-%d", e.version)
	}
	b, err := json.Marshal(events.ComplaintChanged{
		ComplaintID: cmp.Or(e.complaint, testComplaint), OriginDealer: testOrigin, Dealer: dealer, Version: e.version, Change: e.change,
		At: e.at, State: e.state, Severity: severity, Level: e.level, CreateTime: e.created,
	})
	if err != nil {
		panic(err)
	}
	return outbox.Envelope{EventID: id, Kind: events.KindComplaintChanged, DealerID: dealer, OccurredAt: e.at.Add(time.Second), Payload: b}
}
