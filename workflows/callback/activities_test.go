package callback

import (
	"context"
	"errors"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestCheckCallConsent(t *testing.T) {
	archive := &fakeArchive{consent: map[string]*bool{"granted": ptr(true), "refused": ptr(false), "no-entry": nil}}
	a := &Activities{Archive: archive}
	cases := []struct {
		customer  string
		doNotCall bool
	}{
		{"", false},         // no customer: nobody to ask
		{"granted", false},  // CHANNEL_CALL granted
		{"refused", true},   // CHANNEL_CALL withdrawn
		{"no-entry", false}, // only an SMS refusal
		{"unknown", false},  // NotFound: allowed, logged
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	for _, c := range cases {
		var got Consent
		v, err := env.ExecuteActivity(a.CheckCallConsent, ConsentInput{Dealer: testDealer, Customer: c.customer})
		if err == nil {
			err = v.Get(&got)
		}
		if err != nil || got.DoNotCall != c.doNotCall {
			t.Errorf("customer %q: %+v, %v; want do not call %v", c.customer, got, err, c.doNotCall)
		}
	}
	if archive.calls != 4 {
		t.Errorf("%d archive calls, want 4 (none without a customer)", archive.calls)
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		code codes.Code
		typ  string // "" for retryable
	}{
		{codes.InvalidArgument, ErrTypeInvalidArgument},
		{codes.NotFound, ErrTypeNotFound},
		{codes.PermissionDenied, ErrTypePermissionDenied},
		{codes.FailedPrecondition, ErrTypeFailedPrecondition},
		{codes.Unavailable, ""},
		{codes.DeadlineExceeded, ""},
		{codes.Unauthenticated, ""}, // a token being rotated
	}
	for _, c := range cases {
		err := classify(status.Error(c.code, "no"), "call %s", "x")
		var appErr *temporal.ApplicationError
		isApp := errors.As(err, &appErr)
		if c.typ == "" {
			if isApp {
				t.Errorf("%v: non-retryable %v", c.code, err)
			}
			continue
		}
		if !isApp || !appErr.NonRetryable() || appErr.Type() != c.typ || appErr.Message() != "call x: no" {
			t.Errorf("%v: %v", c.code, err)
		}
	}
}

func TestGetCallbackScheduleRefusesAnUnusableSchedule(t *testing.T) {
	for name, mutate := range map[string]func(*fakeWorkflowService){
		"bad hours":     func(f *fakeWorkflowService) { f.schedule.CallingStart = "9" },
		"unknown zone":  func(f *fakeWorkflowService) { f.schedule.TimeZone = "Mars/Olympus" },
		"no zone":       func(f *fakeWorkflowService) { f.schedule.TimeZone = "" },
		"no attempts":   func(f *fakeWorkflowService) { f.schedule.MaxAttempts = 0 },
		"empty window":  func(f *fakeWorkflowService) { f.schedule.Window = nil },
		"retry at once": func(f *fakeWorkflowService) { f.schedule.RetryInterval = nil },
	} {
		f := &fakeWorkflowService{schedule: defaultSchedule()}
		mutate(f)
		_, err := (&Activities{Workflow: f}).GetCallbackSchedule(context.Background(), ScheduleInput{Dealer: testDealer, Kind: "3DC"})
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Type() != ErrTypeInvalidSchedule || !appErr.NonRetryable() {
			t.Errorf("%s: %v", name, err)
		}
	}
	s, err := (&Activities{Workflow: &fakeWorkflowService{schedule: defaultSchedule()}}).GetCallbackSchedule(context.Background(), ScheduleInput{Dealer: testDealer, Kind: "3DC"})
	if err != nil || s.MaxAttempts != 3 || s.CallingEnd != "21:00" || s.TimeZone != "Asia/Shanghai" || s.ScoreThreshold != 80 {
		t.Errorf("%+v, %v", s, err)
	}
}
