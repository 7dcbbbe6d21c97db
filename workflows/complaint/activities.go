package complaint

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	"github.com/dealercare/dealercare/pkg/calendar"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	"github.com/dealercare/dealercare/services/complaint/escalation"
	"github.com/dealercare/dealercare/workflows/network"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Activities calls the complaint service's internal ComplaintClockService
// and, for calendars, the dealer network (network.Activities). They run on
// the complaint task queue, so the complaint worker is complete on its own
// and every call of the workflow has one timeout and retry policy.
type Activities struct {
	Clock   complaintv1.ComplaintClockServiceClient
	Network *network.Activities
}

// Non-retryable failure types: the service refused the call, and retrying
// cannot change its mind; someone has to fix the data or the worker's
// configuration. Every other failure (Unavailable, DeadlineExceeded, a token
// being rotated) is retried without a limit.
const (
	ErrTypeInvalidArgument  = "InvalidArgument"
	ErrTypeNotFound         = "NotFound"
	ErrTypePermissionDenied = "PermissionDenied"
	ErrTypeInvalidCalendar  = "InvalidCalendar"
)

// nonRetryable lists every type above and network's.
var nonRetryable = []string{ErrTypeInvalidArgument, ErrTypeNotFound, ErrTypePermissionDenied, ErrTypeInvalidCalendar, network.ErrTypeDealerNotFound}

// permanent are the gRPC codes of a refusal retrying cannot change.
var permanent = []codes.Code{codes.InvalidArgument, codes.NotFound, codes.PermissionDenied}

// classify turns a gRPC error into the activity's error (the type of a
// permanent one is the code's name, as ErrType* above).
func classify(err error, format string, args ...any) error {
	return dctemporal.ServiceError(err, permanent, format, args...)
}

// ClockInput is what GetClockInput returns, in the workflow's terms.
type ClockInput struct {
	Dealer   string            `json:"dealer"`
	Severity string            `json:"severity"`
	Level    int               `json:"level"`
	Policy   escalation.Policy `json:"policy"`
}

// LoadClockInput calls GetClockInput: the complaint's owner, severity,
// level and the SLA policy version it counts under. An unknown complaint
// is ErrTypeNotFound.
func (a *Activities) LoadClockInput(ctx context.Context, complaint string) (*ClockInput, error) {
	in, err := a.Clock.GetClockInput(ctx, &complaintv1.GetClockInputRequest{Complaint: complaint})
	if err != nil {
		return nil, classify(err, "get clock input of complaint %s", complaint)
	}
	p := in.GetPolicy()
	out := &ClockInput{
		Dealer:   in.GetDealer(),
		Severity: severityName(in.GetSeverity()),
		Level:    int(in.GetLevel()),
		Policy:   escalation.Policy{Targets: map[string]escalation.Targets{}},
	}
	for _, t := range p.GetTargets() {
		sev := severityName(t.GetSeverity())
		if sev == "" {
			continue
		}
		out.Policy.Targets[sev] = escalation.Targets{
			Response:     t.GetResponse().AsDuration(),
			Resolution:   t.GetResolution().AsDuration(),
			WarningRatio: p.GetWarningRatio(),
		}
	}
	return out, nil
}

// LoadCalendar fetches the owning dealer's business calendar with
// network.Activities.LoadBusinessCalendar and checks that it builds, so the
// workflow never holds a calendar it cannot use. A missing dealer is
// network.ErrTypeDealerNotFound, a calendar that does not build
// ErrTypeInvalidCalendar.
func (a *Activities) LoadCalendar(ctx context.Context, dealer string) (*network.DealerCalendar, error) {
	c, err := a.Network.LoadBusinessCalendar(ctx, dealer)
	if err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			return nil, err // classified by network already
		}
		return nil, classify(err, "load calendar of dealer %s", dealer)
	}
	if _, err := calendar.New(c.Spec); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("calendar of dealer %s is invalid: %v", dealer, err), ErrTypeInvalidCalendar, err)
	}
	return c, nil
}

// RecordInput is one clock event for the complaint's timeline.
type RecordInput struct {
	Dealer    string `json:"dealer"`
	Complaint string `json:"complaint"`
	// Key makes the call idempotent: the service records each key once.
	Key  string          `json:"key"`
	Kind escalation.Kind `json:"kind"`
	// Level is the level after the event; for KindEscalated the new level,
	// from which the service picks whom to notify.
	Level int `json:"level"`
	// Time is when the clock reached the threshold: the scheduled instant,
	// not when the worker got round to it.
	Time   time.Time `json:"time"`
	Detail string    `json:"detail,omitempty"`
}

// RecordResult: Recorded is false when the key was recorded before.
type RecordResult struct {
	Recorded bool `json:"recorded"`
}

// RecordClockEvent calls ComplaintClockService.RecordClockEvent, which is
// idempotent by (complaint, key), so a retried or replayed call writes once.
func (a *Activities) RecordClockEvent(ctx context.Context, in RecordInput) (*RecordResult, error) {
	res, err := a.Clock.RecordClockEvent(ctx, &complaintv1.RecordClockEventRequest{
		Dealer:    in.Dealer,
		Complaint: in.Complaint,
		Key:       in.Key,
		Kind:      string(in.Kind),
		Level:     int32(min(max(in.Level, 0), escalation.MaxLevel)),
		Time:      timestamppb.New(in.Time),
		Detail:    in.Detail,
	})
	if err != nil {
		return nil, classify(err, "record %s of complaint %s", in.Key, in.Complaint)
	}
	if res.GetRecorded() {
		// Lateness: how long after its due instant a threshold was
		// recorded (once, by the call that recorded it).
		escalationLateness().Record(ctx, time.Since(in.Time).Seconds(),
			metric.WithAttributes(attribute.String("kind", string(in.Kind)), attribute.Int("level", in.Level)))
	}
	return &RecordResult{Recorded: res.GetRecorded()}, nil
}

// MetricEscalationLateness is the histogram of how late complaint clock
// events (warnings, breaches, escalations) are recorded after they fell
// due; Prometheus: dealercare_escalation_lateness_seconds.
const MetricEscalationLateness = "dealercare.escalation.lateness"

var escalationLateness = sync.OnceValue(func() metric.Float64Histogram {
	h, _ := otel.Meter("dealercare/complaint").Float64Histogram(MetricEscalationLateness, metric.WithUnit("s"),
		metric.WithDescription("Time from a complaint threshold's due instant to its record (kind: warning, breached, escalated)."),
		metric.WithExplicitBucketBoundaries(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900))
	return h
})

// Deadlines are the complaint's deadlines as the workflow counts them; a
// zero time is none.
type Deadlines = escalation.Deadlines

// DeadlinesInput is SetDeadlines' input: a complaint's deadlines.
type DeadlinesInput struct {
	Complaint string `json:"complaint"`
	Deadlines
}

// SetDeadlines calls ComplaintClockService.SetDeadlines, which writes them
// onto the complaint; writing the same values again changes nothing.
func (a *Activities) SetDeadlines(ctx context.Context, in DeadlinesInput) error {
	req := &complaintv1.SetDeadlinesRequest{Complaint: in.Complaint}
	if !in.Response.IsZero() {
		req.ResponseDueTime = timestamppb.New(in.Response)
	}
	if !in.Resolution.IsZero() {
		req.ResolutionDueTime = timestamppb.New(in.Resolution)
	}
	if _, err := a.Clock.SetDeadlines(ctx, req); err != nil {
		return classify(err, "set deadlines of complaint %s", in.Complaint)
	}
	return nil
}

// severityName is the events' name of a severity; "" for unspecified.
func severityName(s complaintv1.Severity) string {
	switch s {
	case complaintv1.Severity_SEVERITY_LOW:
		return "low"
	case complaintv1.Severity_SEVERITY_MEDIUM:
		return "medium"
	case complaintv1.Severity_SEVERITY_HIGH:
		return "high"
	case complaintv1.Severity_SEVERITY_CRITICAL:
		return "critical"
	}
	return ""
}
