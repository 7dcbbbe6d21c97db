package complaint

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/complaint/escalation"
)

// Service is the complaint service's application layer: who may do what
// to which complaint, checked against the complaint as it is locked for
// the change, over a Store.
type Service struct {
	store  Store
	access Access
	now    func() time.Time
}

// NewService returns a Service; now is the clock (time.Now in production).
func NewService(store Store, access Access, now func() time.Time) *Service {
	return &Service{store: store, access: access, now: now}
}

func forbidden(en, zh string) error {
	return apperr.Errorf(apperr.EFORBIDDEN, "%s", en).Zh(zh)
}

// Create files a complaint for dealer: its staff, the platform's
// workflows, or HQ (the hotline) for any dealer. EINVALID names the bad
// field; a Source is the platform's alone.
func (s *Service) Create(ctx context.Context, dealer string, c Complaint) (*Complaint, error) {
	p, _, err := s.access.Scope(ctx, dealer)
	if err != nil {
		return nil, err
	}
	if !CanAct(p, dealer) && !p.IsHQ() {
		return nil, forbidden("your role may not file complaints for this dealer", "您的角色不能为该经销商登记投诉")
	}
	c.Dealer = dealer
	if c.Source != "" && !p.IsService() {
		return nil, apperr.Invalid("complaint.source", "is set by the platform's workflows only").ZhReason("仅由平台流程设置")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	pol, err := s.store.Policy(ctx, dealer)
	if err != nil {
		return nil, err
	}
	c.PolicyVersion = pol.Version // filed under the policy in force
	return s.store.Create(ctx, &c, c.Filed(), p.Subject, s.now())
}

// visible is ENOTFOUND unless c is dealer's own or was filed there.
func visible(c *Complaint, dealer string) error {
	if c.Dealer != dealer && c.OriginDealer != dealer {
		return apperr.NotFound("complaint", "投诉", c.ID)
	}
	return nil
}

// get loads a complaint the caller may see under dealer.
func (s *Service) get(ctx context.Context, dealer, id string) (*auth.Principal, pg.Scope, *Complaint, error) {
	p, scope, err := s.access.Scope(ctx, dealer)
	if err != nil {
		return nil, scope, nil, err
	}
	c, err := s.store.Get(ctx, scope, id)
	if err != nil {
		return nil, scope, nil, err
	}
	if err := visible(c, dealer); err != nil {
		return nil, scope, nil, err
	}
	return p, scope, c, nil
}

// Get returns a complaint dealer owns or filed; ENOTFOUND otherwise.
func (s *Service) Get(ctx context.Context, dealer, id string) (*Complaint, error) {
	_, _, c, err := s.get(ctx, dealer, id)
	return c, err
}

// listScope is the scope of a list of dealer's complaints or
// notifications: every dealer the caller sees for tenancy.AnyDealer.
func (s *Service) listScope(ctx context.Context, dealer string) (pg.Scope, error) {
	var scope pg.Scope
	var err error
	if dealer == tenancy.AnyDealer {
		_, scope, err = s.access.Visible(ctx)
	} else {
		_, scope, err = s.access.Scope(ctx, dealer)
	}
	return scope, err
}

// DefaultPageSize is a list's page size when the caller names none.
const DefaultPageSize = 100

// List lists f.Dealer's complaints (tenancy.AnyDealer: every dealer's the
// caller sees), newest first.
func (s *Service) List(ctx context.Context, f ListFilter, after string, size int) ([]Complaint, string, error) {
	scope, err := s.listScope(ctx, f.Dealer)
	if err != nil {
		return nil, "", err
	}
	if size <= 0 {
		size = DefaultPageSize
	}
	return s.store.List(ctx, scope, f, after, size)
}

// act changes a complaint owned by dealer with fn. Every check runs on the
// complaint as locked for the change: one transferred away meanwhile is
// no longer the caller's to change.
func (s *Service) act(ctx context.Context, dealer, id string, fn func(*auth.Principal, *Complaint, time.Time) (Change, error)) (*Complaint, error) {
	p, scope, err := s.access.Scope(ctx, dealer)
	if err != nil {
		return nil, err
	}
	now := s.now()
	return s.store.Update(ctx, scope, id, p.Subject, now, func(c *Complaint) (Change, error) {
		if err := visible(c, dealer); err != nil {
			return Change{}, err
		}
		if c.Dealer != dealer {
			// The originating dealer reads a transferred complaint, no more.
			return Change{}, forbidden("the complaint was transferred to "+c.Dealer, "该投诉已转至 "+c.Dealer)
		}
		if !CanAct(p, dealer) {
			return Change{}, forbidden("your role may not change complaints", "您的角色不能处理投诉")
		}
		return fn(p, c, now)
	})
}

// Transition performs action (acknowledge, start, ...) with a note for
// the timeline. ECONFLICT names the state that forbids it.
func (s *Service) Transition(ctx context.Context, dealer, id string, action Action, note string) (*Complaint, error) {
	return s.act(ctx, dealer, id, func(_ *auth.Principal, c *Complaint, now time.Time) (Change, error) {
		if err := c.Apply(action, now); err != nil {
			return Change{}, err
		}
		return Change{Kind: ChangeOf(action), Detail: note}, nil
	})
}

// Update changes the masked fields (UpdatableFields) of an open
// complaint; a severity change moves its SLA deadlines and puts it under
// the SLA policy in force now.
func (s *Service) Update(ctx context.Context, dealer, id string, in Complaint, mask []string) (*Complaint, error) {
	var current Policy
	if slices.Contains(mask, "severity") {
		var err error
		if current, err = s.store.Policy(ctx, dealer); err != nil {
			return nil, err
		}
	}
	return s.act(ctx, dealer, id, func(_ *auth.Principal, c *Complaint, _ time.Time) (Change, error) {
		before := c.Severity
		severity, err := c.Update(in, mask)
		if err != nil {
			return Change{}, err
		}
		if severity {
			c.PolicyVersion = current.Version
			return Change{Kind: ChangeSeverityChanged, Detail: before + " → " + c.Severity}, nil
		}
		return Change{Kind: ChangeUpdated, Detail: strings.Join(mask, ", ")}, nil
	})
}

// Resolution is what the handler records when resolving.
type Resolution struct {
	RootCause, CorrectiveActions, Resolution string
}

// Resolve resolves a complaint in progress and makes its follow-up
// callback due with the owner, which closes or reopens it.
func (s *Service) Resolve(ctx context.Context, dealer, id string, r Resolution) (*Complaint, error) {
	return s.act(ctx, dealer, id, func(_ *auth.Principal, c *Complaint, now time.Time) (Change, error) {
		if err := c.Apply(ActionResolve, now); err != nil {
			return Change{}, err
		}
		c.RootCause, c.CorrectiveActions, c.Resolution = r.RootCause, r.CorrectiveActions, r.Resolution
		return Change{Kind: ChangeResolved, Detail: r.Resolution, FollowUp: c.FollowUp(now)}, nil
	})
}

// Escalate is the customer's escalation: one level up at once, notifying
// that level.
func (s *Service) Escalate(ctx context.Context, dealer, id, note string) (*Complaint, error) {
	return s.act(ctx, dealer, id, func(_ *auth.Principal, c *Complaint, _ time.Time) (Change, error) {
		if err := c.Escalate(); err != nil {
			return Change{}, err
		}
		n := c.Notice(escalation.ByCustomerWhy)
		return Change{Kind: ChangeEscalated, Detail: escalation.ByCustomerDetail(c.Level, note), Notice: &n}, nil
	})
}

// Assign gives a complaint that is not closed to an assignee.
func (s *Service) Assign(ctx context.Context, dealer, id, assignee string) (*Complaint, error) {
	return s.act(ctx, dealer, id, func(_ *auth.Principal, c *Complaint, _ time.Time) (Change, error) {
		if c.State == StateClosed {
			return Change{}, apperr.Errorf(apperr.ECONFLICT, "the complaint is closed").Zh("投诉已关闭")
		}
		c.Assignee = assignee
		return Change{Kind: ChangeAssigned, Detail: assignee}, nil
	})
}

// Transfer moves an open complaint to dealer to, with its history and
// clock: the owner's managers, region managers and HQ admins. Ownership,
// the role and the state are checked again on the locked complaint.
func (s *Service) Transfer(ctx context.Context, dealer, id, to, note string) (*Complaint, error) {
	p, _, _, err := s.get(ctx, dealer, id)
	if err != nil {
		return nil, err
	}
	mayTransfer := func(c *Complaint) error {
		if c.Dealer != dealer || !CanTransfer(p, dealer) {
			return forbidden("only the owner's managers, region managers and HQ transfer complaints", "只有投诉所属经销商的经理、大区经理和总部可以转派投诉")
		}
		if to == c.Dealer {
			return apperr.Invalid("to_dealer", "is already the owner").ZhReason("已是所属经销商")
		}
		return nil
	}
	// Only the role is checked before the lock: ownership and the target
	// are checked on the locked complaint, after the store has answered a
	// keyed retry whose first answer was lost (the complaint is then at to).
	if !CanTransfer(p, dealer) {
		return nil, forbidden("only the owner's managers, region managers and HQ transfer complaints", "只有投诉所属经销商的经理、大区经理和总部可以转派投诉")
	}
	ok, err := s.access.Network.DealerExists(ctx, to)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apperr.Invalid("to_dealer", "unknown dealer "+to).ZhReason("未知的经销商 " + to)
	}
	current, err := s.store.Policy(ctx, to)
	if err != nil {
		return nil, err
	}
	return s.store.Update(ctx, pg.Dealers(dealer, to), id, p.Subject, s.now(), func(c *Complaint) (Change, error) {
		if err := visible(c, dealer); err != nil {
			return Change{}, err
		}
		if err := mayTransfer(c); err != nil {
			return Change{}, err
		}
		if !c.Open() {
			return Change{}, apperr.Errorf(apperr.ECONFLICT, "cannot transfer a complaint that is %s", c.State).Zh("投诉状态为 " + c.State + "，不能转派")
		}
		from := c.Dealer
		// The clock continues under the new owner's policy in force.
		c.Dealer, c.Assignee, c.PolicyVersion = to, "", current.Version
		return Change{Kind: ChangeTransferred, Detail: from + " → " + to + ": " + note}, nil
	})
}

// Events lists the complaint's timeline as dealer sees it.
func (s *Service) Events(ctx context.Context, dealer, id string) ([]Event, error) {
	_, scope, _, err := s.get(ctx, dealer, id)
	if err != nil {
		return nil, err
	}
	return s.store.Events(ctx, scope, id)
}

// Notifications lists dealer's notifications (tenancy.AnyDealer: those of
// every dealer the caller sees), newest first.
func (s *Service) Notifications(ctx context.Context, dealer, role string, size int) ([]Notification, error) {
	scope, err := s.listScope(ctx, dealer)
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		size = DefaultPageSize
	}
	return s.store.Notifications(ctx, scope, dealer, role, size)
}

// PostNotice posts a notice another service sends to a role's inbox at
// dealer ("": HQ's), once per key; only the service identity may.
func (s *Service) PostNotice(ctx context.Context, dealer, role, subject, message, key string) (Notification, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return Notification{}, err
	}
	r := auth.Role(role)
	switch {
	case !r.Known() || r == auth.RoleService:
		return Notification{}, apperr.Invalid("recipient_role", "must be a user role, e.g. dealer_gm or hq_admin").ZhReason("须为用户角色，如 dealer_gm 或 hq_admin")
	case dealer == "" && r.IsDealerRole():
		return Notification{}, apperr.Invalid("recipient_role", "HQ's inbox (dealer empty) takes HQ and region roles only").ZhReason("总部收件箱（经销商为空）只收总部与大区角色")
	case dealer != "" && !r.IsDealerRole():
		return Notification{}, apperr.Invalid("recipient_role", "a dealer's inbox takes dealer roles only").ZhReason("经销商收件箱只收经销商角色")
	}
	return s.store.PostNotice(ctx, Notification{Dealer: dealer, RecipientRole: role, Subject: subject, Message: message, CreateTime: s.now().UTC()}, key)
}

// Policy is the SLA policy in force for a dealer the caller sees.
func (s *Service) Policy(ctx context.Context, dealer string) (Policy, error) {
	if _, _, err := s.access.Scope(ctx, dealer); err != nil {
		return Policy{}, err
	}
	return s.store.Policy(ctx, dealer)
}

// PutPolicy sets a dealer's override: HQ admins, or the dealer's own CS
// manager.
func (s *Service) PutPolicy(ctx context.Context, dealer string, pol Policy) (Policy, error) {
	p, _, err := s.access.Scope(ctx, dealer)
	if err != nil {
		return Policy{}, err
	}
	if !p.HasRole(auth.RoleHQAdmin) && !(p.Dealer == dealer && p.HasRole(auth.RoleDealerManager)) {
		return Policy{}, forbidden("only HQ admins and the dealer's CS manager set its SLA policy", "只有总部管理员和本店客服经理可以设置 SLA")
	}
	return s.putPolicy(ctx, dealer, pol)
}

func (s *Service) putPolicy(ctx context.Context, scope string, pol Policy) (Policy, error) {
	if err := pol.Validate(); err != nil {
		return Policy{}, err
	}
	if err := s.store.PutPolicy(ctx, scope, pol); err != nil {
		return Policy{}, err
	}
	return s.store.Policy(ctx, scope)
}

// DefaultPolicy is HQ's default SLA policy.
func (s *Service) DefaultPolicy(ctx context.Context) (Policy, error) {
	return s.store.Policy(ctx, DefaultScope)
}

func hqAdmin(ctx context.Context, en, zh string) error {
	p, ok := auth.PrincipalFromContext(ctx)
	if !ok || !p.HasRole(auth.RoleHQAdmin) {
		return forbidden(en, zh)
	}
	return nil
}

// PutDefaultPolicy sets HQ's default (HQ admins).
func (s *Service) PutDefaultPolicy(ctx context.Context, pol Policy) (Policy, error) {
	if err := hqAdmin(ctx, "only HQ admins set the default SLA policy", "只有总部管理员可以设置默认 SLA"); err != nil {
		return Policy{}, err
	}
	return s.putPolicy(ctx, DefaultScope, pol)
}

// Templates searches resolution templates; any signed-in user.
func (s *Service) Templates(ctx context.Context, category, query string) ([]Template, error) {
	return s.store.Templates(ctx, category, query)
}

// CreateTemplate adds a resolution template (HQ admins).
func (s *Service) CreateTemplate(ctx context.Context, t Template) (*Template, error) {
	if err := hqAdmin(ctx, "only HQ admins add resolution templates", "只有总部管理员可以添加处理模板"); err != nil {
		return nil, err
	}
	return s.store.CreateTemplate(ctx, t)
}
