// Package grpc is the complaint service's gRPC port.
package grpc

import (
	"context"
	"time"

	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	"github.com/dealercare/dealercare/pkg/pbconv"
	"github.com/dealercare/dealercare/services/complaint/complaint"
	"github.com/dealercare/dealercare/services/complaint/escalation"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Server implements complaintv1.ComplaintServiceServer: it converts
// between the proto and the domain and leaves every rule to
// complaint.Service.
type Server struct {
	complaintv1.UnimplementedComplaintServiceServer
	svc *complaint.Service
}

// NewServer returns the complaint API.
func NewServer(svc *complaint.Service) *Server { return &Server{svc: svc} }

// ToProto converts a complaint.
func ToProto(c *complaint.Complaint) *complaintv1.Complaint {
	return &complaintv1.Complaint{
		Id: c.ID, Dealer: c.Dealer, OriginDealer: c.OriginDealer,
		Channel:  complaintv1.Channel(pbconv.EnumValue(c.Channel, "CHANNEL_", complaintv1.Channel_value)),
		Category: complaintv1.Category(pbconv.EnumValue(c.Category, "CATEGORY_", complaintv1.Category_value)),
		Severity: complaintv1.Severity(pbconv.EnumValue(c.Severity, "SEVERITY_", complaintv1.Severity_value)),
		Customer: c.Customer, Vin: c.VIN, Description: c.Description, Assignee: c.Assignee,
		RootCause: c.RootCause, CorrectiveActions: c.CorrectiveActions, Resolution: c.Resolution,
		State: complaintv1.State(pbconv.EnumValue(c.State, "STATE_", complaintv1.State_value)), Level: int32(c.Level),
		ResponseDueTime: pbconv.Timestamp(c.ResponseDue), ResolutionDueTime: pbconv.Timestamp(c.ResolutionDue),
		AcknowledgeTime: pbconv.Timestamp(c.AcknowledgeTime), ResolveTime: pbconv.Timestamp(c.ResolveTime), ReopenCount: int32(c.ReopenCount),
		CreateTime: pbconv.Timestamp(c.CreateTime), UpdateTime: pbconv.Timestamp(c.UpdateTime), Source: c.Source,
		SlaPolicyVersion: c.PolicyVersion,
	}
}

func severityName(s complaintv1.Severity) string { return pbconv.EnumName(s.String(), "SEVERITY_") }
func categoryName(c complaintv1.Category) string { return pbconv.EnumName(c.String(), "CATEGORY_") }

// CreateComplaint implements the RPC.
func (s *Server) CreateComplaint(ctx context.Context, req *complaintv1.CreateComplaintRequest) (*complaintv1.Complaint, error) {
	in := req.GetComplaint()
	out, err := s.svc.Create(ctx, req.GetDealer(), complaint.Complaint{
		Channel: pbconv.EnumName(in.GetChannel().String(), "CHANNEL_"), Category: categoryName(in.GetCategory()),
		Severity: severityName(in.GetSeverity()), Customer: in.GetCustomer(), VIN: in.GetVin(), Description: in.GetDescription(),
		Source: in.GetSource(),
	})
	return answer(out, err)
}

func answer(c *complaint.Complaint, err error) (*complaintv1.Complaint, error) {
	if err != nil {
		return nil, err
	}
	return ToProto(c), nil
}

// GetComplaint implements the RPC.
func (s *Server) GetComplaint(ctx context.Context, req *complaintv1.GetComplaintRequest) (*complaintv1.Complaint, error) {
	return answer(s.svc.Get(ctx, req.GetDealer(), req.GetComplaint()))
}

// ListComplaints implements the RPC.
func (s *Server) ListComplaints(ctx context.Context, req *complaintv1.ListComplaintsRequest) (*complaintv1.ListComplaintsResponse, error) {
	cs, next, err := s.svc.List(ctx, complaint.ListFilter{
		Dealer:   req.GetDealer(),
		State:    pbconv.EnumName(req.GetState().String(), "STATE_"),
		Severity: severityName(req.GetSeverity()),
		MinLevel: int(req.GetMinLevel()),
	}, req.GetPageToken(), int(req.GetPageSize()))
	if err != nil {
		return nil, err
	}
	out := &complaintv1.ListComplaintsResponse{NextPageToken: next}
	for i := range cs {
		out.Complaints = append(out.Complaints, ToProto(&cs[i]))
	}
	return out, nil
}

// UpdateComplaint implements the RPC.
func (s *Server) UpdateComplaint(ctx context.Context, req *complaintv1.UpdateComplaintRequest) (*complaintv1.Complaint, error) {
	in := req.GetComplaint()
	return answer(s.svc.Update(ctx, req.GetDealer(), in.GetId(), complaint.Complaint{
		Category: categoryName(in.GetCategory()), Severity: severityName(in.GetSeverity()),
		Description: in.GetDescription(), Customer: in.GetCustomer(), VIN: in.GetVin(),
	}, req.GetUpdateMask().GetPaths()))
}

// AcknowledgeComplaint implements the RPC.
func (s *Server) AcknowledgeComplaint(ctx context.Context, req *complaintv1.AcknowledgeComplaintRequest) (*complaintv1.Complaint, error) {
	return answer(s.svc.Transition(ctx, req.GetDealer(), req.GetComplaint(), complaint.ActionAcknowledge, req.GetNote()))
}

// StartComplaint implements the RPC.
func (s *Server) StartComplaint(ctx context.Context, req *complaintv1.StartComplaintRequest) (*complaintv1.Complaint, error) {
	return answer(s.svc.Transition(ctx, req.GetDealer(), req.GetComplaint(), complaint.ActionStart, req.GetNote()))
}

// WaitForCustomer implements the RPC.
func (s *Server) WaitForCustomer(ctx context.Context, req *complaintv1.WaitForCustomerRequest) (*complaintv1.Complaint, error) {
	return answer(s.svc.Transition(ctx, req.GetDealer(), req.GetComplaint(), complaint.ActionWaitForCustomer, req.GetNote()))
}

// ResumeComplaint implements the RPC.
func (s *Server) ResumeComplaint(ctx context.Context, req *complaintv1.ResumeComplaintRequest) (*complaintv1.Complaint, error) {
	return answer(s.svc.Transition(ctx, req.GetDealer(), req.GetComplaint(), complaint.ActionResume, req.GetNote()))
}

// ReopenComplaint implements the RPC.
func (s *Server) ReopenComplaint(ctx context.Context, req *complaintv1.ReopenComplaintRequest) (*complaintv1.Complaint, error) {
	return answer(s.svc.Transition(ctx, req.GetDealer(), req.GetComplaint(), complaint.ActionReopen, req.GetNote()))
}

// CloseComplaint implements the RPC.
func (s *Server) CloseComplaint(ctx context.Context, req *complaintv1.CloseComplaintRequest) (*complaintv1.Complaint, error) {
	return answer(s.svc.Transition(ctx, req.GetDealer(), req.GetComplaint(), complaint.ActionClose, req.GetNote()))
}

// ResolveComplaint implements the RPC.
func (s *Server) ResolveComplaint(ctx context.Context, req *complaintv1.ResolveComplaintRequest) (*complaintv1.Complaint, error) {
	return answer(s.svc.Resolve(ctx, req.GetDealer(), req.GetComplaint(), complaint.Resolution{
		RootCause: req.GetRootCause(), CorrectiveActions: req.GetCorrectiveActions(), Resolution: req.GetResolution(),
	}))
}

// EscalateComplaint implements the RPC: one level up at once.
func (s *Server) EscalateComplaint(ctx context.Context, req *complaintv1.EscalateComplaintRequest) (*complaintv1.Complaint, error) {
	return answer(s.svc.Escalate(ctx, req.GetDealer(), req.GetComplaint(), req.GetNote()))
}

// AssignComplaint implements the RPC.
func (s *Server) AssignComplaint(ctx context.Context, req *complaintv1.AssignComplaintRequest) (*complaintv1.Complaint, error) {
	return answer(s.svc.Assign(ctx, req.GetDealer(), req.GetComplaint(), req.GetAssignee()))
}

// TransferComplaint implements the RPC: the complaint moves to to_dealer
// with its history and clock.
func (s *Server) TransferComplaint(ctx context.Context, req *complaintv1.TransferComplaintRequest) (*complaintv1.Complaint, error) {
	return answer(s.svc.Transfer(ctx, req.GetDealer(), req.GetComplaint(), req.GetToDealer(), req.GetNote()))
}

// ListComplaintEvents implements the RPC.
func (s *Server) ListComplaintEvents(ctx context.Context, req *complaintv1.ListComplaintEventsRequest) (*complaintv1.ListComplaintEventsResponse, error) {
	evs, err := s.svc.Events(ctx, req.GetDealer(), req.GetComplaint())
	if err != nil {
		return nil, err
	}
	out := &complaintv1.ListComplaintEventsResponse{}
	for _, e := range evs {
		out.Events = append(out.Events, &complaintv1.ComplaintEvent{Sequence: e.Seq, Kind: e.Kind, Actor: e.Actor, Time: pbconv.Timestamp(e.Time), Level: int32(e.Level), Detail: e.Detail, Dealer: e.Dealer})
	}
	return out, nil
}

// ListNotifications implements the RPC.
func (s *Server) ListNotifications(ctx context.Context, req *complaintv1.ListNotificationsRequest) (*complaintv1.ListNotificationsResponse, error) {
	ns, err := s.svc.Notifications(ctx, req.GetDealer(), req.GetRecipientRole(), int(req.GetPageSize()))
	if err != nil {
		return nil, err
	}
	out := &complaintv1.ListNotificationsResponse{}
	for _, n := range ns {
		out.Notifications = append(out.Notifications, &complaintv1.Notification{Id: n.ID, Complaint: n.Complaint, RecipientRole: n.RecipientRole, Level: int32(n.Level), Message: n.Message, CreateTime: pbconv.Timestamp(n.CreateTime), Dealer: n.Dealer, Subject: n.Subject})
	}
	return out, nil
}

// PolicyToProto converts a policy.
func PolicyToProto(p complaint.Policy) *complaintv1.SlaPolicy {
	out := &complaintv1.SlaPolicy{Dealer: p.Dealer, WarningRatio: p.WarningRatio, Overridden: p.Overridden, UpdateTime: pbconv.Timestamp(p.UpdateTime), Version: p.Version}
	for _, t := range p.Targets {
		out.Targets = append(out.Targets, &complaintv1.SeverityTarget{
			Severity: complaintv1.Severity(pbconv.EnumValue(t.Severity, "SEVERITY_", complaintv1.Severity_value)),
			Response: durationpb.New(t.Response), Resolution: durationpb.New(t.Resolution),
		})
	}
	return out
}

func policyFromProto(in *complaintv1.SlaPolicy) complaint.Policy {
	p := complaint.Policy{WarningRatio: in.GetWarningRatio()}
	for _, t := range in.GetTargets() {
		p.Targets = append(p.Targets, complaint.Target{Severity: severityName(t.GetSeverity()), Response: t.GetResponse().AsDuration(), Resolution: t.GetResolution().AsDuration()})
	}
	return p
}

func policyAnswer(p complaint.Policy, err error) (*complaintv1.SlaPolicy, error) {
	if err != nil {
		return nil, err
	}
	return PolicyToProto(p), nil
}

// GetSlaPolicy implements the RPC.
func (s *Server) GetSlaPolicy(ctx context.Context, req *complaintv1.GetSlaPolicyRequest) (*complaintv1.SlaPolicy, error) {
	return policyAnswer(s.svc.Policy(ctx, req.GetDealer()))
}

// UpdateSlaPolicy implements the RPC.
func (s *Server) UpdateSlaPolicy(ctx context.Context, req *complaintv1.UpdateSlaPolicyRequest) (*complaintv1.SlaPolicy, error) {
	return policyAnswer(s.svc.PutPolicy(ctx, req.GetDealer(), policyFromProto(req.GetPolicy())))
}

// GetDefaultSlaPolicy implements the RPC.
func (s *Server) GetDefaultSlaPolicy(ctx context.Context, _ *complaintv1.GetDefaultSlaPolicyRequest) (*complaintv1.SlaPolicy, error) {
	return policyAnswer(s.svc.DefaultPolicy(ctx))
}

// UpdateDefaultSlaPolicy implements the RPC.
func (s *Server) UpdateDefaultSlaPolicy(ctx context.Context, req *complaintv1.UpdateDefaultSlaPolicyRequest) (*complaintv1.SlaPolicy, error) {
	return policyAnswer(s.svc.PutDefaultPolicy(ctx, policyFromProto(req.GetPolicy())))
}

func templateToProto(t complaint.Template) *complaintv1.ResolutionTemplate {
	return &complaintv1.ResolutionTemplate{Id: t.ID, Category: complaintv1.Category(pbconv.EnumValue(t.Category, "CATEGORY_", complaintv1.Category_value)), Title: t.Title, Body: t.Body, CreateTime: pbconv.Timestamp(t.CreateTime)}
}

// ListResolutionTemplates implements the RPC.
func (s *Server) ListResolutionTemplates(ctx context.Context, req *complaintv1.ListResolutionTemplatesRequest) (*complaintv1.ListResolutionTemplatesResponse, error) {
	ts, err := s.svc.Templates(ctx, categoryName(req.GetCategory()), req.GetQuery())
	if err != nil {
		return nil, err
	}
	out := &complaintv1.ListResolutionTemplatesResponse{}
	for _, t := range ts {
		out.Templates = append(out.Templates, templateToProto(t))
	}
	return out, nil
}

// CreateResolutionTemplate implements the RPC.
func (s *Server) CreateResolutionTemplate(ctx context.Context, req *complaintv1.CreateResolutionTemplateRequest) (*complaintv1.ResolutionTemplate, error) {
	in := req.GetTemplate()
	t, err := s.svc.CreateTemplate(ctx, complaint.Template{Category: categoryName(in.GetCategory()), Title: in.GetTitle(), Body: in.GetBody()})
	if err != nil {
		return nil, err
	}
	return templateToProto(*t), nil
}

// NoticeServer implements the internal complaintv1.NoticeServiceServer.
type NoticeServer struct {
	complaintv1.UnimplementedNoticeServiceServer
	svc *complaint.Service
}

// NewNoticeServer returns the inbox other services post notices to.
func NewNoticeServer(svc *complaint.Service) *NoticeServer { return &NoticeServer{svc: svc} }

// PostNotice implements the RPC.
func (s *NoticeServer) PostNotice(ctx context.Context, req *complaintv1.PostNoticeRequest) (*complaintv1.Notification, error) {
	n, err := s.svc.PostNotice(ctx, req.GetDealer(), req.GetRecipientRole(), req.GetSubject(), req.GetMessage(), req.GetKey())
	if err != nil {
		return nil, err
	}
	return &complaintv1.Notification{Id: n.ID, RecipientRole: n.RecipientRole, Message: n.Message,
		CreateTime: pbconv.Timestamp(n.CreateTime), Dealer: n.Dealer, Subject: n.Subject}, nil
}

// ClockServer implements the internal complaintv1.ComplaintClockServiceServer.
type ClockServer struct {
	complaintv1.UnimplementedComplaintClockServiceServer
	svc *complaint.Service
}

// NewClockServer returns the internal API of the escalation workflow.
func NewClockServer(svc *complaint.Service) *ClockServer { return &ClockServer{svc: svc} }

// RecordClockEvent implements the RPC.
func (s *ClockServer) RecordClockEvent(ctx context.Context, req *complaintv1.RecordClockEventRequest) (*complaintv1.RecordClockEventResponse, error) {
	ok, err := s.svc.RecordClockEvent(ctx, req.GetComplaint(), complaint.ClockEvent{
		Key: req.GetKey(), Kind: escalation.Kind(req.GetKind()), Level: int(req.GetLevel()), Time: req.GetTime().AsTime(), Detail: req.GetDetail(),
	})
	if err != nil {
		return nil, err
	}
	return &complaintv1.RecordClockEventResponse{Recorded: ok}, nil
}

// SetDeadlines implements the RPC.
func (s *ClockServer) SetDeadlines(ctx context.Context, req *complaintv1.SetDeadlinesRequest) (*complaintv1.SetDeadlinesResponse, error) {
	var response, resolution *time.Time
	if t := req.GetResponseDueTime(); t != nil {
		at := t.AsTime()
		response = &at
	}
	if t := req.GetResolutionDueTime(); t != nil {
		at := t.AsTime()
		resolution = &at
	}
	if err := s.svc.SetDeadlines(ctx, req.GetComplaint(), response, resolution); err != nil {
		return nil, err
	}
	return &complaintv1.SetDeadlinesResponse{}, nil
}

// GetClockInput implements the RPC.
func (s *ClockServer) GetClockInput(ctx context.Context, req *complaintv1.GetClockInputRequest) (*complaintv1.ClockInput, error) {
	c, p, err := s.svc.ClockInput(ctx, req.GetComplaint())
	if err != nil {
		return nil, err
	}
	return &complaintv1.ClockInput{
		Dealer: c.Dealer, State: complaintv1.State(pbconv.EnumValue(c.State, "STATE_", complaintv1.State_value)),
		Severity: complaintv1.Severity(pbconv.EnumValue(c.Severity, "SEVERITY_", complaintv1.Severity_value)), Level: int32(c.Level),
		Policy: PolicyToProto(p),
	}, nil
}
