package complaint

import (
	"context"
	"errors"
	"testing"
	"time"

	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/calendar"
	"github.com/dealercare/dealercare/services/complaint/escalation"
	"github.com/dealercare/dealercare/workflows/network"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

func newActivityEnv(clock *fakeClockService, net customerv1.DealerNetworkServiceClient) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(&Activities{Clock: clock, Network: &network.Activities{Network: net}})
	return env
}

// errorType is the application error type of err, "" for a retryable
// plain error.
func errorType(t *testing.T, err error) (string, bool) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("error %v is not an application error", err)
	}
	return appErr.Type(), appErr.NonRetryable()
}

func TestLoadClockInputMapsThePolicy(t *testing.T) {
	clock := newFakeClockService("D002", &complaintv1.SlaPolicy{
		WarningRatio: 0.75,
		Targets: []*complaintv1.SeverityTarget{
			{Severity: complaintv1.Severity_SEVERITY_CRITICAL, Response: durationpb.New(30 * time.Minute), Resolution: durationpb.New(4 * time.Hour)},
			{Severity: complaintv1.Severity_SEVERITY_LOW, Response: durationpb.New(8 * time.Hour), Resolution: durationpb.New(72 * time.Hour)},
			{Severity: complaintv1.Severity_SEVERITY_UNSPECIFIED, Response: durationpb.New(time.Hour)},
		},
	})
	clock.input.Level = 2
	clock.input.State = complaintv1.State_STATE_PENDING_CUSTOMER
	env := newActivityEnv(clock, newFakeNetwork(nil))
	v, err := env.ExecuteActivity("LoadClockInput", testComplaint)
	if err != nil {
		t.Fatal(err)
	}
	var got ClockInput
	if err := v.Get(&got); err != nil {
		t.Fatal(err)
	}
	want := ClockInput{Dealer: "D002", Severity: "high", Level: 2, Policy: escalation.Policy{Targets: map[string]escalation.Targets{
		"critical": {Response: 30 * time.Minute, Resolution: 4 * time.Hour, WarningRatio: 0.75},
		"low":      {Response: 8 * time.Hour, Resolution: 72 * time.Hour, WarningRatio: 0.75},
	}}}
	if got.Dealer != want.Dealer || got.Severity != want.Severity || got.Level != want.Level ||
		len(got.Policy.Targets) != 2 || got.Policy.Targets["critical"] != want.Policy.Targets["critical"] || got.Policy.Targets["low"] != want.Policy.Targets["low"] {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// failingClock answers every call with err.
type failingClock struct{ err error }

func (f failingClock) GetClockInput(context.Context, *complaintv1.GetClockInputRequest, ...grpc.CallOption) (*complaintv1.ClockInput, error) {
	return nil, f.err
}

func (f failingClock) RecordClockEvent(context.Context, *complaintv1.RecordClockEventRequest, ...grpc.CallOption) (*complaintv1.RecordClockEventResponse, error) {
	return nil, f.err
}

func (f failingClock) SetDeadlines(context.Context, *complaintv1.SetDeadlinesRequest, ...grpc.CallOption) (*complaintv1.SetDeadlinesResponse, error) {
	return nil, f.err
}

// failingNetwork answers GetBusinessCalendar with err.
type failingNetwork struct {
	customerv1.DealerNetworkServiceClient
	err error
}

func (f failingNetwork) GetBusinessCalendar(context.Context, *customerv1.GetBusinessCalendarRequest, ...grpc.CallOption) (*customerv1.BusinessCalendar, error) {
	return nil, f.err
}

func TestActivityErrorsAreClassified(t *testing.T) {
	for _, tt := range []struct {
		code      codes.Code
		wantType  string
		calendar  string // for LoadCalendar, where network classifies NotFound
		retryable bool
	}{
		{codes.Unavailable, "", "", true},
		{codes.DeadlineExceeded, "", "", true},
		{codes.Unauthenticated, "", "", true},
		{codes.Internal, "", "", true},
		{codes.InvalidArgument, ErrTypeInvalidArgument, ErrTypeInvalidArgument, false},
		{codes.NotFound, ErrTypeNotFound, network.ErrTypeDealerNotFound, false},
		{codes.PermissionDenied, ErrTypePermissionDenied, ErrTypePermissionDenied, false},
	} {
		t.Run(tt.code.String(), func(t *testing.T) {
			err := status.Error(tt.code, "boom")
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			env.RegisterActivity(&Activities{Clock: failingClock{err}, Network: &network.Activities{Network: failingNetwork{err: err}}})
			calls := []struct {
				name string
				run  func() error
				want string
			}{
				{"LoadClockInput", func() error { _, err := env.ExecuteActivity("LoadClockInput", testComplaint); return err }, tt.wantType},
				{"RecordClockEvent", func() error {
					_, err := env.ExecuteActivity("RecordClockEvent", RecordInput{Complaint: testComplaint, Key: "k", Kind: "warned", Time: t0})
					return err
				}, tt.wantType},
				{"SetDeadlines", func() error {
					_, err := env.ExecuteActivity("SetDeadlines", DeadlinesInput{Complaint: testComplaint, Deadlines: Deadlines{Response: t0}})
					return err
				}, tt.wantType},
				{"LoadCalendar", func() error { _, err := env.ExecuteActivity("LoadCalendar", "D001"); return err }, tt.calendar},
			}
			for _, c := range calls {
				typ, nonRetryable := errorType(t, c.run())
				if tt.retryable {
					if nonRetryable {
						t.Errorf("%s: %s is not retried", c.name, tt.code)
					}
					continue
				}
				if typ != c.want || !nonRetryable {
					t.Errorf("%s: type %q non-retryable %v, want %q non-retryable", c.name, typ, nonRetryable, c.want)
				}
			}
		})
	}
}

func TestLoadCalendarRejectsAnInvalidCalendar(t *testing.T) {
	bad := calendar.Spec{TimeZone: "Asia/Shanghai", Weekly: map[time.Weekday][]calendar.Interval{}} // never open
	env := newActivityEnv(newFakeClockService(testOrigin, seconds), newFakeNetwork(map[string]calendar.Spec{"D001": bad}))
	_, err := env.ExecuteActivity("LoadCalendar", "D001")
	if typ, nonRetryable := errorType(t, err); typ != ErrTypeInvalidCalendar || !nonRetryable {
		t.Errorf("error %v: type %q non-retryable %v", err, typ, nonRetryable)
	}
}

func TestRecordClockEventSendsTheRequest(t *testing.T) {
	clock := newFakeClockService(testOrigin, seconds)
	env := newActivityEnv(clock, newFakeNetwork(nil))
	in := RecordInput{Dealer: "D002", Complaint: testComplaint, Key: "escalated/L3", Kind: "escalated", Level: 3, Time: t0, Detail: "escalated to L3"}
	for i, want := range []bool{true, false} { // the second time the key is known
		v, err := env.ExecuteActivity("RecordClockEvent", in)
		if err != nil {
			t.Fatal(err)
		}
		var res RecordResult
		if err := v.Get(&res); err != nil {
			t.Fatal(err)
		}
		if res.Recorded != want {
			t.Errorf("call %d: recorded %v, want %v", i, res.Recorded, want)
		}
	}
	r := clock.recorded()[0]
	if r.GetDealer() != "D002" || r.GetKey() != "escalated/L3" || r.GetKind() != "escalated" || r.GetLevel() != 3 ||
		!r.GetTime().AsTime().Equal(t0) || r.GetDetail() != "escalated to L3" {
		t.Errorf("request = %v", r)
	}
}
