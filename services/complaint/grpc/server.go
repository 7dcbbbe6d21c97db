// Package grpc is the complaint service's gRPC port.
package grpc

import (
	"context"
	"strconv"
	"strings"
	"time"

	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/pbconv"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/complaint/complaint"
	"github.com/dealercare/dealercare/services/complaint/postgres"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Server implements complaintv1.ComplaintServiceServer.
type Server struct {
	complaintv1.UnimplementedComplaintServiceServer
	store  *postgres.Store
	access complaint.Access
}

// NewServer returns the complaint API.
func NewServer(store *postgres.Store, access complaint.Access) *Server {
	return &Server{store: store, access: access}
}

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
	}
}

// CreateComplaint implements the RPC: the dealer's staff, or HQ (the
// hotline) for any dealer.
func (s *Server) CreateComplaint(ctx context.Context, req *complaintv1.CreateComplaintRequest) (*complaintv1.Complaint, error) {
	p, _, err := s.access.Scope(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	if !complaint.CanAct(p, req.GetDealer()) && !p.IsHQ() {
		return nil, apperr.Errorf(apperr.EFORBIDDEN, "your role may not file complaints for this dealer").Zh("您的角色不能为该经销商登记投诉")
	}
	in := req.GetComplaint()
	c := complaint.Complaint{
		Dealer: req.GetDealer(), Channel: pbconv.EnumName(in.GetChannel().String(), "CHANNEL_"), Category: pbconv.EnumName(in.GetCategory().String(), "CATEGORY_"),
		Severity: pbconv.EnumName(in.GetSeverity().String(), "SEVERITY_"), Customer: in.GetCustomer(), VIN: in.GetVin(), Description: in.GetDescription(),
		Source: in.GetSource(),
	}
	if c.Source != "" && !p.IsService() {
		return nil, apperr.Invalid("complaint.source", "is set by the platform's workflows only").ZhReason("仅由平台流程设置")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	out, err := s.store.Create(ctx, &c, p.Subject, complaint.Now())
	if err != nil {
		return nil, err
	}
	return ToProto(out), nil
}

// get loads a complaint the caller may see under dealer.
func (s *Server) get(ctx context.Context, dealer, id string) (*auth.Principal, pg.Scope, *complaint.Complaint, error) {
	p, scope, err := s.access.Scope(ctx, dealer)
	if err != nil {
		return nil, scope, nil, err
	}
	c, err := s.store.Get(ctx, scope, id)
	if err != nil {
		return nil, scope, nil, err
	}
	if c.Dealer != dealer && c.OriginDealer != dealer {
		return nil, scope, nil, apperr.NotFound("complaint", "投诉", id)
	}
	return p, scope, c, nil
}

// GetComplaint implements the RPC.
func (s *Server) GetComplaint(ctx context.Context, req *complaintv1.GetComplaintRequest) (*complaintv1.Complaint, error) {
	_, _, c, err := s.get(ctx, req.GetDealer(), req.GetComplaint())
	if err != nil {
		return nil, err
	}
	return ToProto(c), nil
}

// ListComplaints implements the RPC.
func (s *Server) ListComplaints(ctx context.Context, req *complaintv1.ListComplaintsRequest) (*complaintv1.ListComplaintsResponse, error) {
	scope, err := s.listScope(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	if size <= 0 {
		size = 100
	}
	cs, next, err := s.store.List(ctx, scope, postgres.ListFilter{
		Dealer:   req.GetDealer(),
		State:    pbconv.EnumName(req.GetState().String(), "STATE_"),
		Severity: pbconv.EnumName(req.GetSeverity().String(), "SEVERITY_"),
		MinLevel: int(req.GetMinLevel()),
	}, req.GetPageToken(), size)
	if err != nil {
		return nil, err
	}
	out := &complaintv1.ListComplaintsResponse{NextPageToken: next}
	for i := range cs {
		out.Complaints = append(out.Complaints, ToProto(&cs[i]))
	}
	return out, nil
}

// act runs a change on a complaint owned by dealer.
func (s *Server) act(ctx context.Context, dealer, id string, fn func(*auth.Principal, *complaint.Complaint) (postgres.Change, error)) (*complaintv1.Complaint, error) {
	p, scope, c, err := s.get(ctx, dealer, id)
	if err != nil {
		return nil, err
	}
	if c.Dealer != dealer {
		// The originating dealer reads a transferred complaint, no more.
		return nil, apperr.Errorf(apperr.EFORBIDDEN, "the complaint was transferred to %s", c.Dealer).Zh("该投诉已转至 " + c.Dealer)
	}
	if !complaint.CanAct(p, dealer) {
		return nil, apperr.Errorf(apperr.EFORBIDDEN, "your role may not change complaints").Zh("您的角色不能处理投诉")
	}
	out, err := s.store.Update(ctx, scope, id, p.Subject, complaint.Now(), func(c *complaint.Complaint) (postgres.Change, error) {
		return fn(p, c)
	})
	if err != nil {
		return nil, err
	}
	return ToProto(out), nil
}

func (s *Server) transition(ctx context.Context, dealer, id, action, note string) (*complaintv1.Complaint, error) {
	return s.act(ctx, dealer, id, func(_ *auth.Principal, c *complaint.Complaint) (postgres.Change, error) {
		if err := c.Apply(action, complaint.Now()); err != nil {
			return postgres.Change{}, err
		}
		kind := complaint.EventKind[action]
		return postgres.Change{Kind: kind, Change: kind, Detail: note}, nil
	})
}

// UpdateComplaint implements the RPC.
func (s *Server) UpdateComplaint(ctx context.Context, req *complaintv1.UpdateComplaintRequest) (*complaintv1.Complaint, error) {
	in := req.GetComplaint()
	changes := complaint.Complaint{
		Category: pbconv.EnumName(in.GetCategory().String(), "CATEGORY_"), Severity: pbconv.EnumName(in.GetSeverity().String(), "SEVERITY_"),
		Description: in.GetDescription(), Customer: in.GetCustomer(), VIN: in.GetVin(),
	}
	return s.act(ctx, req.GetDealer(), in.GetId(), func(_ *auth.Principal, c *complaint.Complaint) (postgres.Change, error) {
		before := c.Severity
		severity, err := c.Update(changes, req.GetUpdateMask().GetPaths())
		if err != nil {
			return postgres.Change{}, err
		}
		if severity {
			return postgres.Change{Kind: "severity_changed", Change: "severity_changed", Detail: before + " → " + c.Severity}, nil
		}
		return postgres.Change{Kind: "updated", Change: "updated", Detail: strings.Join(req.GetUpdateMask().GetPaths(), ", ")}, nil
	})
}

// AcknowledgeComplaint implements the RPC.
func (s *Server) AcknowledgeComplaint(ctx context.Context, req *complaintv1.AcknowledgeComplaintRequest) (*complaintv1.Complaint, error) {
	return s.transition(ctx, req.GetDealer(), req.GetComplaint(), "acknowledge", req.GetNote())
}

// StartComplaint implements the RPC.
func (s *Server) StartComplaint(ctx context.Context, req *complaintv1.StartComplaintRequest) (*complaintv1.Complaint, error) {
	return s.transition(ctx, req.GetDealer(), req.GetComplaint(), "start", req.GetNote())
}

// WaitForCustomer implements the RPC.
func (s *Server) WaitForCustomer(ctx context.Context, req *complaintv1.WaitForCustomerRequest) (*complaintv1.Complaint, error) {
	return s.transition(ctx, req.GetDealer(), req.GetComplaint(), "waitForCustomer", req.GetNote())
}

// ResumeComplaint implements the RPC.
func (s *Server) ResumeComplaint(ctx context.Context, req *complaintv1.ResumeComplaintRequest) (*complaintv1.Complaint, error) {
	return s.transition(ctx, req.GetDealer(), req.GetComplaint(), "resume", req.GetNote())
}

// ReopenComplaint implements the RPC.
func (s *Server) ReopenComplaint(ctx context.Context, req *complaintv1.ReopenComplaintRequest) (*complaintv1.Complaint, error) {
	return s.transition(ctx, req.GetDealer(), req.GetComplaint(), "reopen", req.GetNote())
}

// CloseComplaint implements the RPC.
func (s *Server) CloseComplaint(ctx context.Context, req *complaintv1.CloseComplaintRequest) (*complaintv1.Complaint, error) {
	return s.transition(ctx, req.GetDealer(), req.GetComplaint(), "close", req.GetNote())
}

// ResolveComplaint implements the RPC.
func (s *Server) ResolveComplaint(ctx context.Context, req *complaintv1.ResolveComplaintRequest) (*complaintv1.Complaint, error) {
	return s.act(ctx, req.GetDealer(), req.GetComplaint(), func(_ *auth.Principal, c *complaint.Complaint) (postgres.Change, error) {
		if err := c.Apply("resolve", complaint.Now()); err != nil {
			return postgres.Change{}, err
		}
		c.RootCause, c.CorrectiveActions, c.Resolution = req.GetRootCause(), req.GetCorrectiveActions(), req.GetResolution()
		return postgres.Change{Kind: "resolved", Change: "resolved", Detail: req.GetResolution()}, nil
	})
}

// EscalateComplaint implements the RPC: one level up at once.
func (s *Server) EscalateComplaint(ctx context.Context, req *complaintv1.EscalateComplaintRequest) (*complaintv1.Complaint, error) {
	return s.act(ctx, req.GetDealer(), req.GetComplaint(), func(_ *auth.Principal, c *complaint.Complaint) (postgres.Change, error) {
		if err := c.Escalate(); err != nil {
			return postgres.Change{}, err
		}
		return postgres.Change{Kind: "escalated", Change: "escalated", Detail: "customer escalation to L" + strconv.Itoa(c.Level) + ": " + req.GetNote()}, nil
	})
}

// AssignComplaint implements the RPC.
func (s *Server) AssignComplaint(ctx context.Context, req *complaintv1.AssignComplaintRequest) (*complaintv1.Complaint, error) {
	return s.act(ctx, req.GetDealer(), req.GetComplaint(), func(_ *auth.Principal, c *complaint.Complaint) (postgres.Change, error) {
		if c.State == complaint.StateClosed {
			return postgres.Change{}, apperr.Errorf(apperr.ECONFLICT, "the complaint is closed").Zh("投诉已关闭")
		}
		c.Assignee = req.GetAssignee()
		return postgres.Change{Kind: "assigned", Change: "assigned", Detail: req.GetAssignee()}, nil
	})
}

// TransferComplaint implements the RPC: the complaint moves to to_dealer
// with its history and clock.
func (s *Server) TransferComplaint(ctx context.Context, req *complaintv1.TransferComplaintRequest) (*complaintv1.Complaint, error) {
	p, _, c, err := s.get(ctx, req.GetDealer(), req.GetComplaint())
	if err != nil {
		return nil, err
	}
	if c.Dealer != req.GetDealer() || !complaint.CanTransfer(p, req.GetDealer()) {
		return nil, apperr.Errorf(apperr.EFORBIDDEN, "only the owner's managers, region managers and HQ transfer complaints").Zh("只有投诉所属经销商的经理、大区经理和总部可以转派投诉")
	}
	to := req.GetToDealer()
	if to == c.Dealer {
		return nil, apperr.Invalid("to_dealer", "is already the owner").ZhReason("已是所属经销商")
	}
	ok, err := s.access.Network.DealerExists(ctx, to)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apperr.Invalid("to_dealer", "unknown dealer "+to).ZhReason("未知的经销商 " + to)
	}
	if !c.Open() {
		return nil, apperr.Errorf(apperr.ECONFLICT, "cannot transfer a complaint that is %s", c.State).Zh("投诉状态为 " + c.State + "，不能转派")
	}
	from := c.Dealer
	out, err := s.store.Update(ctx, pg.Dealers(from, to), c.ID, p.Subject, complaint.Now(), func(c *complaint.Complaint) (postgres.Change, error) {
		c.Dealer, c.Assignee = to, ""
		return postgres.Change{Kind: "transferred", Change: "transferred", Detail: from + " → " + to + ": " + req.GetNote()}, nil
	})
	if err != nil {
		return nil, err
	}
	return ToProto(out), nil
}

// ListComplaintEvents implements the RPC.
func (s *Server) ListComplaintEvents(ctx context.Context, req *complaintv1.ListComplaintEventsRequest) (*complaintv1.ListComplaintEventsResponse, error) {
	_, scope, _, err := s.get(ctx, req.GetDealer(), req.GetComplaint())
	if err != nil {
		return nil, err
	}
	evs, err := s.store.Events(ctx, scope, req.GetComplaint())
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
	scope, err := s.listScope(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	if size <= 0 {
		size = 100
	}
	ns, err := s.store.Notifications(ctx, scope, req.GetDealer(), req.GetRecipientRole(), size)
	if err != nil {
		return nil, err
	}
	out := &complaintv1.ListNotificationsResponse{}
	for _, n := range ns {
		out.Notifications = append(out.Notifications, &complaintv1.Notification{Id: n.ID, Complaint: n.Complaint, RecipientRole: n.RecipientRole, Level: int32(n.Level), Message: n.Message, CreateTime: pbconv.Timestamp(n.CreateTime), Dealer: n.Dealer})
	}
	return out, nil
}

// listScope is the scope of a list of dealer's complaints or
// notifications: every dealer the caller sees for tenancy.AnyDealer.
func (s *Server) listScope(ctx context.Context, dealer string) (pg.Scope, error) {
	var scope pg.Scope
	var err error
	if dealer == tenancy.AnyDealer {
		_, scope, err = s.access.Visible(ctx)
	} else {
		_, scope, err = s.access.Scope(ctx, dealer)
	}
	return scope, err
}

// PolicyToProto converts a policy.
func PolicyToProto(p complaint.Policy) *complaintv1.SlaPolicy {
	out := &complaintv1.SlaPolicy{Dealer: p.Dealer, WarningRatio: p.WarningRatio, Overridden: p.Overridden, UpdateTime: pbconv.Timestamp(p.UpdateTime)}
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
		p.Targets = append(p.Targets, complaint.Target{Severity: pbconv.EnumName(t.GetSeverity().String(), "SEVERITY_"), Response: t.GetResponse().AsDuration(), Resolution: t.GetResolution().AsDuration()})
	}
	return p
}

// GetSlaPolicy implements the RPC.
func (s *Server) GetSlaPolicy(ctx context.Context, req *complaintv1.GetSlaPolicyRequest) (*complaintv1.SlaPolicy, error) {
	if _, _, err := s.access.Scope(ctx, req.GetDealer()); err != nil {
		return nil, err
	}
	p, err := s.store.Policy(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	return PolicyToProto(p), nil
}

// UpdateSlaPolicy implements the RPC: HQ admins, or the dealer's own CS
// manager, set a dealer's override.
func (s *Server) UpdateSlaPolicy(ctx context.Context, req *complaintv1.UpdateSlaPolicyRequest) (*complaintv1.SlaPolicy, error) {
	p, _, err := s.access.Scope(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	if !p.HasRole(auth.RoleHQAdmin) && !(p.Dealer == req.GetDealer() && p.HasRole(auth.RoleDealerManager)) {
		return nil, apperr.Errorf(apperr.EFORBIDDEN, "only HQ admins and the dealer's CS manager set its SLA policy").Zh("只有总部管理员和本店客服经理可以设置 SLA")
	}
	pol := policyFromProto(req.GetPolicy())
	if err := pol.Validate(); err != nil {
		return nil, err
	}
	if err := s.store.PutPolicy(ctx, req.GetDealer(), pol); err != nil {
		return nil, err
	}
	out, err := s.store.Policy(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	return PolicyToProto(out), nil
}

// GetDefaultSlaPolicy implements the RPC.
func (s *Server) GetDefaultSlaPolicy(ctx context.Context, _ *complaintv1.GetDefaultSlaPolicyRequest) (*complaintv1.SlaPolicy, error) {
	p, err := s.store.Policy(ctx, "default")
	if err != nil {
		return nil, err
	}
	return PolicyToProto(p), nil
}

// UpdateDefaultSlaPolicy implements the RPC (HQ admin).
func (s *Server) UpdateDefaultSlaPolicy(ctx context.Context, req *complaintv1.UpdateDefaultSlaPolicyRequest) (*complaintv1.SlaPolicy, error) {
	p, ok := auth.PrincipalFromContext(ctx)
	if !ok || !p.HasRole(auth.RoleHQAdmin) {
		return nil, apperr.Errorf(apperr.EFORBIDDEN, "only HQ admins set the default SLA policy").Zh("只有总部管理员可以设置默认 SLA")
	}
	pol := policyFromProto(req.GetPolicy())
	if err := pol.Validate(); err != nil {
		return nil, err
	}
	if err := s.store.PutPolicy(ctx, "default", pol); err != nil {
		return nil, err
	}
	out, err := s.store.Policy(ctx, "default")
	if err != nil {
		return nil, err
	}
	return PolicyToProto(out), nil
}

func templateToProto(t postgres.Template) *complaintv1.ResolutionTemplate {
	return &complaintv1.ResolutionTemplate{Id: t.ID, Category: complaintv1.Category(pbconv.EnumValue(t.Category, "CATEGORY_", complaintv1.Category_value)), Title: t.Title, Body: t.Body, CreateTime: pbconv.Timestamp(t.CreateTime)}
}

// ListResolutionTemplates implements the RPC; any signed-in user.
func (s *Server) ListResolutionTemplates(ctx context.Context, req *complaintv1.ListResolutionTemplatesRequest) (*complaintv1.ListResolutionTemplatesResponse, error) {
	ts, err := s.store.Templates(ctx, pbconv.EnumName(req.GetCategory().String(), "CATEGORY_"), req.GetQuery())
	if err != nil {
		return nil, err
	}
	out := &complaintv1.ListResolutionTemplatesResponse{}
	for _, t := range ts {
		out.Templates = append(out.Templates, templateToProto(t))
	}
	return out, nil
}

// CreateResolutionTemplate implements the RPC (HQ admin).
func (s *Server) CreateResolutionTemplate(ctx context.Context, req *complaintv1.CreateResolutionTemplateRequest) (*complaintv1.ResolutionTemplate, error) {
	p, ok := auth.PrincipalFromContext(ctx)
	if !ok || !p.HasRole(auth.RoleHQAdmin) {
		return nil, apperr.Errorf(apperr.EFORBIDDEN, "only HQ admins add resolution templates").Zh("只有总部管理员可以添加处理模板")
	}
	in := req.GetTemplate()
	t, err := s.store.CreateTemplate(ctx, postgres.Template{Category: pbconv.EnumName(in.GetCategory().String(), "CATEGORY_"), Title: in.GetTitle(), Body: in.GetBody()})
	if err != nil {
		return nil, err
	}
	return templateToProto(*t), nil
}

// ClockServer implements the internal complaintv1.ComplaintClockServiceServer.
type ClockServer struct {
	complaintv1.UnimplementedComplaintClockServiceServer
	store *postgres.Store
}

// NewClockServer returns the internal API of the escalation workflow.
func NewClockServer(store *postgres.Store) *ClockServer { return &ClockServer{store: store} }

func requireService(ctx context.Context) error {
	if p, ok := auth.PrincipalFromContext(ctx); !ok || !p.IsService() {
		return apperr.Errorf(apperr.EFORBIDDEN, "only the platform's service identity may call this").Zh("仅平台服务身份可调用")
	}
	return nil
}

// RecordClockEvent implements the RPC.
func (s *ClockServer) RecordClockEvent(ctx context.Context, req *complaintv1.RecordClockEventRequest) (*complaintv1.RecordClockEventResponse, error) {
	if err := requireService(ctx); err != nil {
		return nil, err
	}
	ok, err := s.store.RecordClockEvent(ctx, req.GetComplaint(), req.GetKey(), req.GetKind(), int(req.GetLevel()), req.GetTime().AsTime(), req.GetDetail())
	if err != nil {
		return nil, err
	}
	return &complaintv1.RecordClockEventResponse{Recorded: ok}, nil
}

// SetDeadlines implements the RPC.
func (s *ClockServer) SetDeadlines(ctx context.Context, req *complaintv1.SetDeadlinesRequest) (*complaintv1.SetDeadlinesResponse, error) {
	if err := requireService(ctx); err != nil {
		return nil, err
	}
	var response, resolution *time.Time
	if t := req.GetResponseDueTime(); t != nil {
		at := t.AsTime()
		response = &at
	}
	if t := req.GetResolutionDueTime(); t != nil {
		at := t.AsTime()
		resolution = &at
	}
	if err := s.store.SetDeadlines(ctx, req.GetComplaint(), response, resolution); err != nil {
		return nil, err
	}
	return &complaintv1.SetDeadlinesResponse{}, nil
}

// GetClockInput implements the RPC.
func (s *ClockServer) GetClockInput(ctx context.Context, req *complaintv1.GetClockInputRequest) (*complaintv1.ClockInput, error) {
	if err := requireService(ctx); err != nil {
		return nil, err
	}
	c, err := s.store.ClockComplaint(ctx, req.GetComplaint())
	if err != nil {
		return nil, err
	}
	p, err := s.store.Policy(ctx, c.Dealer)
	if err != nil {
		return nil, err
	}
	return &complaintv1.ClockInput{
		Dealer: c.Dealer, State: complaintv1.State(pbconv.EnumValue(c.State, "STATE_", complaintv1.State_value)),
		Severity: complaintv1.Severity(pbconv.EnumValue(c.Severity, "SEVERITY_", complaintv1.Severity_value)), Level: int32(c.Level),
		Policy: PolicyToProto(p),
	}, nil
}
