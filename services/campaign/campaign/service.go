package campaign

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/pii"
)

// Scope is the set of dealers a caller's rows may come from; the adapter
// turns it into the row-level-security scope.
type Scope struct {
	All     bool
	Dealers []string
}

// Page is a keyset page request.
type Page struct {
	After string
	Size  int
}

// Recipient states.
const (
	RecipientPending    = "pending"
	RecipientSending    = "sending"
	RecipientSent       = "sent"
	RecipientSuppressed = "suppressed"
	RecipientFailed     = "failed"
)

// Delivery states of a sent message.
const (
	DeliveryAccepted    = "accepted"
	DeliveryDelivered   = "delivered"
	DeliveryUndelivered = "undelivered"
)

// Receipt is a provider's delivery report for a message id.
type Receipt struct {
	MessageID, Delivery string
	Time                time.Time
}

// Recipient is one customer of a campaign: the unit sent at most once.
type Recipient struct {
	Owner          string
	Campaign       string
	Dealer         string // the customer's dealer
	Customer       string
	VIN            string
	State          string
	SuppressReason string
	Channel        Channel
	// MessageID is set once the rules chose to send; the provider
	// deduplicates by it, so a resend after a crash is one message.
	MessageID       string
	ProviderID      string
	Attempts        int
	NextAttemptTime time.Time
	SentTime        time.Time
	Delivery        string
	ReceiptTime     time.Time
	ReturnTime      time.Time
	ReturnDealer    string
}

// Stats are a campaign's figures.
type Stats struct {
	Targeted, Sent, Delivered, Failed, Pending, Returned int64
	Suppressed                                           map[string]int64
}

// Store keeps campaigns, recipients, opt-outs and the policy. Methods
// taking a Scope run inside it (row-level security); the workflow's methods
// run across dealers as the service.
type Store interface {
	Create(ctx context.Context, scope Scope, c *Campaign) (*Campaign, error)
	// Ensure stores c with its own id unless that campaign exists, and
	// returns the stored one (service reminders).
	Ensure(ctx context.Context, c *Campaign) (*Campaign, error)
	Get(ctx context.Context, scope Scope, owner, id string) (*Campaign, error)
	List(ctx context.Context, scope Scope, owner string, state State, p Page) ([]Campaign, string, error)
	// Update loads the campaign, applies fn and saves in one transaction;
	// a change into scheduled or cancelled also records the event that
	// reaches the campaign's workflow, in the same transaction.
	Update(ctx context.Context, scope Scope, owner, id string, fn func(*Campaign) error) (*Campaign, error)
	Stats(ctx context.Context, scope Scope, owner, id string) (Stats, error)
	ListRecipients(ctx context.Context, scope Scope, owner, id, state string, messagesOnly, returnedOnly bool, p Page) ([]Recipient, string, error)
	AddOptOut(ctx context.Context, scope Scope, dealer, customer string, ch Channel, source string, now time.Time) error

	Policy(ctx context.Context) (Policy, error)
	SetPolicy(ctx context.Context, p Policy) (Policy, error)

	// AddRecipients adds a page of the resolved audience (existing
	// recipients unchanged) and moves the campaign's resolution cursor.
	// Resolution is where resolving the audience stands.
	Resolution(ctx context.Context, owner, id string) (cursor string, done bool, err error)
	AddRecipients(ctx context.Context, owner, id string, rs []Recipient, cursor string, done bool) (int64, error)
	// Claim marks up to limit due recipients (pending, or sending whose
	// lease ran out: a sender died) as sending until now+lease.
	Claim(ctx context.Context, owner, id string, limit int, now time.Time, lease time.Duration) ([]Recipient, error)
	// RecentMarketing counts, per customer, cap-counted messages since
	// since of campaigns other than id.
	RecentMarketing(ctx context.Context, id string, customers []CustomerRef, since time.Time) (map[CustomerRef]int, error)
	OptOuts(ctx context.Context, customers []CustomerRef) (map[CustomerRef]map[Channel]bool, error)
	// Decide records the rules' outcomes: suppressed, deferred, or to send
	// with its message id (and, when capped, its contact-log entry).
	Decide(ctx context.Context, c *Campaign, outcomes []Outcome, capped bool, now time.Time) error
	// MarkSent records what the providers answered.
	MarkSent(ctx context.Context, owner, id string, results []SendResult, now time.Time) error
	// SuppressRemaining ends every unsent recipient with reason.
	SuppressRemaining(ctx context.Context, owner, id, reason string) error
	// Remaining counts waiting recipients and the earliest time one is due.
	Remaining(ctx context.Context, owner, id string) (int64, time.Time, error)
	// ReturnCandidates lists recipients with a VIN not yet returned.
	ReturnCandidates(ctx context.Context, owner, id string, after string, limit int) ([]Recipient, error)
	MarkReturned(ctx context.Context, owner, id string, rs []Recipient) error
	// RecordReceipts updates the delivery state of each receipt's message
	// (at most one receipt per message id) in one statement, unless the
	// message has a later receipt; it returns how many messages it found.
	RecordReceipts(ctx context.Context, rs []Receipt) (int, error)

	RecallStore
	PlanStore
	DealerPolicyStore
}

// CustomerRef names a customer across dealers.
type CustomerRef struct{ Dealer, Customer string }

// Outcome is the rules' verdict on one claimed recipient.
type Outcome struct {
	Recipient Recipient
	Decision  Decision
}

// SendResult is a provider's answer for one message.
type SendResult struct {
	Recipient  Recipient
	ProviderID string
	// Err is set when the send failed; Permanent says it will not succeed
	// on a retry (the recipient fails), otherwise the lease lets another
	// claim retry it with the same message id.
	Err       error
	Permanent bool
}

// Directory is the archive as the campaign needs it (the customer
// service's SegmentService and dealer network).
type Directory interface {
	// Dealers resolves which dealers an HQ audience spans (its dealers, the
	// dealers of its regions, or every dealer).
	Dealers(ctx context.Context, dealers, regions []string) ([]string, error)
	// Members pages the customers of dealers matching the audience.
	Members(ctx context.Context, dealers []string, a Audience, asOf time.Time, after string, limit int) ([]Contact, string, error)
	// Contacts loads current contact data and consents of one dealer's
	// customers; customers the archive lacks are absent.
	Contacts(ctx context.Context, dealer string, customers []string) ([]Contact, error)
	// Visits lists repair orders opened for the VINs at any dealer within
	// [after, before).
	Visits(ctx context.Context, vins []string, after, before time.Time) ([]Visit, error)
	// Regions maps every dealer to its region.
	Regions(ctx context.Context) (map[string]string, error)
}

// Visit is a repair order of a VIN at some dealer.
type Visit struct {
	VIN, Dealer, RepairOrder, Type, CampaignCode string
	OpenTime, CloseTime                          time.Time
}

// Message is one message for a provider.
type Message struct {
	ID       string // idempotency key
	Campaign string
	Owner    string // the campaign's owner
	Kind     Kind
	Channel  Channel
	Dealer   string
	Customer string
	VIN      string
	To       string // mobile, email or WeChat open id
	Title    string
	Body     string
}

// Sender hands a message to its channel's provider. The provider must
// deduplicate by Message.ID: a resend after a crash carries the same id.
type Sender interface {
	Send(ctx context.Context, m Message) (providerID string, err error)
}

// ErrPermanent marks a send error no retry fixes (wrap it).
var ErrPermanent = errors.New("permanent")

// Visibility says which dealers the caller sees (the tenancy rule).
type Visibility interface {
	Visible(ctx context.Context) (*auth.Principal, Scope, error)
}

// Service applies the campaign rules over a Store.
type Service struct {
	store   Store
	vis     Visibility
	dir     Directory
	senders map[Channel]Sender
	now     func() time.Time
	// Lease is how long a claimed recipient stays with its sender.
	Lease time.Duration
	// SendConcurrency bounds sends at once per batch.
	SendConcurrency int
}

// NewService returns a Service; now is the clock.
func NewService(store Store, vis Visibility, dir Directory, senders map[Channel]Sender, now func() time.Time) *Service {
	return &Service{store: store, vis: vis, dir: dir, senders: senders, now: now, Lease: 2 * time.Minute, SendConcurrency: 16}
}

// reader returns the caller and a scope that reaches owner's campaigns:
// a dealer's campaigns are seen by whoever sees the dealer, HQ's by HQ
// roles. Anyone else gets ENOTFOUND.
func (s *Service) reader(ctx context.Context, owner string) (*auth.Principal, Scope, error) {
	p, scope, err := s.vis.Visible(ctx)
	if err != nil {
		return nil, Scope{}, err
	}
	if owner == HQOwner {
		if !p.IsHQ() && !p.IsService() {
			return nil, Scope{}, apperr.NotFound("campaign collection", "活动", "/v1/campaigns")
		}
		return p, Scope{All: true}, nil
	}
	if !scope.All && !slices.Contains(scope.Dealers, owner) {
		return nil, Scope{}, apperr.NotFound("dealer", "经销商", owner)
	}
	return p, scope, nil
}

// writer additionally needs the role that runs campaigns: the dealer's CS
// manager for its own, HQ (analyst or admin) for HQ's and any dealer's.
func (s *Service) writer(ctx context.Context, owner string) (*auth.Principal, Scope, error) {
	p, scope, err := s.reader(ctx, owner)
	if err != nil {
		return nil, Scope{}, err
	}
	if p.IsHQ() || (owner != HQOwner && p.Dealer == owner && p.HasRole(auth.RoleDealerManager)) {
		return p, scope, nil
	}
	return nil, Scope{}, apperr.Errorf(apperr.EFORBIDDEN, "your role may not change campaigns").Zh("您的角色不能修改活动")
}

// Create drafts a campaign for owner (a dealer code or HQOwner).
func (s *Service) Create(ctx context.Context, owner string, c Campaign) (*Campaign, error) {
	_, scope, err := s.writer(ctx, owner)
	if err != nil {
		return nil, err
	}
	c.Owner, c.ID = owner, "" // the store assigns the id
	draft, err := New(c, s.now())
	if err != nil {
		return nil, err
	}
	return s.store.Create(ctx, scope, draft)
}

// Get returns the campaign and its figures.
func (s *Service) Get(ctx context.Context, owner, id string) (*Campaign, Stats, error) {
	_, scope, err := s.reader(ctx, owner)
	if err != nil {
		return nil, Stats{}, err
	}
	c, err := s.store.Get(ctx, scope, owner, id)
	if err != nil {
		return nil, Stats{}, err
	}
	st, err := s.store.Stats(ctx, scope, owner, id)
	return c, st, err
}

// List lists owner's campaigns, newest first.
func (s *Service) List(ctx context.Context, owner string, state State, p Page) ([]Campaign, string, error) {
	_, scope, err := s.reader(ctx, owner)
	if err != nil {
		return nil, "", err
	}
	return s.store.List(ctx, scope, owner, state, p)
}

// Update edits a draft; mask names the Editable fields to take from edit
// (all when empty). A nested path (audience.models, as the gateway infers
// from a body) selects its whole top-level field. The campaign is found
// first, so another dealer's id is ENOTFOUND whatever the mask.
func (s *Service) Update(ctx context.Context, owner, id string, edit Campaign, mask []string) (*Campaign, error) {
	_, scope, err := s.writer(ctx, owner)
	if err != nil {
		return nil, err
	}
	fields := make([]string, 0, len(mask))
	for _, f := range mask {
		top, _, _ := strings.Cut(f, ".")
		if !slices.Contains(fields, top) {
			fields = append(fields, top)
		}
	}
	if len(fields) == 0 {
		fields = Editable
	}
	mask = fields
	return s.store.Update(ctx, scope, owner, id, func(c *Campaign) error {
		for _, f := range mask {
			if !slices.Contains(Editable, f) {
				return apperr.Invalid("update_mask", fmt.Sprintf("cannot update field %q", f)).ZhReason("不能修改字段 " + f)
			}
		}
		return c.Update(s.now(), func(n *Campaign) {
			for _, f := range mask {
				switch f {
				case "kind":
					n.Kind = edit.Kind
				case "name":
					n.Name = edit.Name
				case "channels":
					n.Channels = edit.Channels
				case "template":
					n.Template = edit.Template
				case "audience":
					dealers, regions := n.Audience.Dealers, n.Audience.Regions
					n.Audience = edit.Audience
					n.Audience.Dealers, n.Audience.Regions = dealers, regions
				case "dealers":
					n.Audience.Dealers = edit.Audience.Dealers
				case "regions":
					n.Audience.Regions = edit.Audience.Regions
				case "return_window":
					n.ReturnWindow = edit.ReturnWindow
				case "code":
					n.Code = edit.Code
				case "contact_phone":
					n.ContactPhone = edit.ContactPhone
				}
			}
		})
	})
}

// Schedule moves a draft to scheduled (ECONFLICT otherwise); its workflow
// starts with the same transaction.
func (s *Service) Schedule(ctx context.Context, owner, id string, start time.Time) (*Campaign, error) {
	_, scope, err := s.writer(ctx, owner)
	if err != nil {
		return nil, err
	}
	c, err := s.store.Update(ctx, scope, owner, id, func(c *Campaign) error { return c.Schedule(start, s.now()) })
	if err != nil || c.Kind != KindRecall {
		return c, err
	}
	// A recall's VINs given on the campaign are tracked like uploaded ones
	// (a repeat adds nothing).
	if _, err := s.trackRecallVINs(ctx, scope, c, c.Audience.VINs); err != nil {
		return nil, fmt.Errorf("track the recall's VINs: %w", err)
	}
	return c, nil
}

// Cancel stops a campaign (ECONFLICT once it ended); nothing is sent after
// the cancellation commits.
func (s *Service) Cancel(ctx context.Context, owner, id, reason string) (*Campaign, error) {
	_, scope, err := s.writer(ctx, owner)
	if err != nil {
		return nil, err
	}
	return s.store.Update(ctx, scope, owner, id, func(c *Campaign) error { return c.Cancel(reason, s.now()) })
}

// PreviewRecipient is one sampled recipient.
type PreviewRecipient struct {
	Customer, Dealer, Name, Mobile string
	Channel                        Channel
	Text                           string
}

// Preview is a campaign's audience before scheduling.
type Preview struct {
	Count         int64
	CountByDealer map[string]int64
	Sample        []PreviewRecipient
}

// previewLimit bounds how much of an audience a preview counts.
const previewLimit = 200000

// Preview counts the audience and renders a sample. HQ and region roles
// see no personal data: names and mobiles masked, and the sample's text
// rendered with the masked name.
func (s *Service) Preview(ctx context.Context, owner, id string, sample int) (*Preview, error) {
	p, scope, err := s.reader(ctx, owner)
	if err != nil {
		return nil, err
	}
	c, err := s.store.Get(ctx, scope, owner, id)
	if err != nil {
		return nil, err
	}
	if sample <= 0 {
		sample = 10
	}
	dealers, err := s.audienceDealers(ctx, c)
	if err != nil {
		return nil, err
	}
	policy, err := s.store.Policy(ctx)
	if err != nil {
		return nil, err
	}
	masked := p.IsHQ() || p.IsRegion()
	out := &Preview{CountByDealer: map[string]int64{}}
	after := ""
	for out.Count < previewLimit {
		members, next, err := s.dir.Members(ctx, dealers, c.Audience, s.now(), after, 5000)
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			out.Count++
			out.CountByDealer[m.Dealer]++
			if len(out.Sample) >= sample {
				continue
			}
			if masked {
				m.Name, m.Mobile, m.Email = pii.MaskName(m.Name), pii.MaskMobile(m.Mobile), pii.MaskEmail(m.Email)
				m.Plate = pii.MaskName(m.Plate)
			}
			d, _ := Decide(c, policy, m, nil, 0, s.now())
			ch := d.Channel
			if ch == "" && d.Suppress == "" && len(c.Channels) > 0 { // deferred by quiet hours
				ch = firstConsented(c, m)
			}
			out.Sample = append(out.Sample, PreviewRecipient{
				Customer: m.Customer, Dealer: m.Dealer, Name: m.Name, Mobile: m.Mobile, Channel: ch,
				Text: Render(c.Template.Body, c.Vars(m)),
			})
		}
		if next == "" {
			break
		}
		after = next
	}
	return out, nil
}

func firstConsented(c *Campaign, m Contact) Channel {
	for _, ch := range c.Channels {
		if m.Consents[ch.ConsentChannel()] {
			return ch
		}
	}
	return ""
}

// audienceDealers is the owner's dealer, or what an HQ audience spans.
func (s *Service) audienceDealers(ctx context.Context, c *Campaign) ([]string, error) {
	if !c.IsHQ() {
		return []string{c.Owner}, nil
	}
	return s.dir.Dealers(ctx, c.Audience.Dealers, c.Audience.Regions)
}

// Recipients lists a campaign's recipients (messagesOnly: those sent).
func (s *Service) Recipients(ctx context.Context, owner, id, state string, messagesOnly, returnedOnly bool, pg Page) ([]Recipient, string, error) {
	_, scope, err := s.reader(ctx, owner)
	if err != nil {
		return nil, "", err
	}
	if _, err := s.store.Get(ctx, scope, owner, id); err != nil {
		return nil, "", err
	}
	return s.store.ListRecipients(ctx, scope, owner, id, state, messagesOnly, returnedOnly, pg)
}

// OptOut records a customer's opt-out (dealer staff of the customer's
// dealer); the next send honours it.
func (s *Service) OptOut(ctx context.Context, dealer, customer string, ch Channel, source string) error {
	p, scope, err := s.reader(ctx, dealer)
	if err != nil {
		return err
	}
	if dealer == HQOwner {
		return apperr.Invalid("dealer", "is required").ZhReason("必填")
	}
	if !(p.IsDealer() && p.Dealer == dealer) && !p.HasRole(auth.RoleHQAdmin) && !p.IsService() {
		return apperr.Errorf(apperr.EFORBIDDEN, "only the dealer's staff record opt-outs").Zh("只有本店员工可以登记退订")
	}
	if ch != "" && !slices.Contains(Channels, ch) {
		return apperr.Invalid("opt_out.channel", "is not a channel").ZhReason("不是有效渠道")
	}
	return s.store.AddOptOut(ctx, scope, dealer, customer, ch, source, s.now())
}

// Policy returns HQ's messaging policy (any signed-in role).
func (s *Service) Policy(ctx context.Context) (Policy, error) {
	if _, _, err := s.vis.Visible(ctx); err != nil {
		return Policy{}, err
	}
	return s.store.Policy(ctx)
}

// SetPolicy replaces HQ's messaging policy (hq_admin).
func (s *Service) SetPolicy(ctx context.Context, edit func(*Policy)) (Policy, error) {
	p, _, err := s.vis.Visible(ctx)
	if err != nil {
		return Policy{}, err
	}
	if !p.HasRole(auth.RoleHQAdmin) {
		return Policy{}, apperr.Errorf(apperr.EFORBIDDEN, "only an HQ admin sets the messaging policy").Zh("只有总部管理员可以设置消息策略")
	}
	cur, err := s.store.Policy(ctx)
	if err != nil {
		return Policy{}, err
	}
	edit(&cur)
	if err := cur.Validate(); err != nil {
		return Policy{}, err
	}
	cur.UpdateTime = s.now()
	return s.store.SetPolicy(ctx, cur)
}

// MessageID is the idempotency key of the one message a customer may get
// from a campaign: derived from the pair, so every retry, by any process,
// carries the same key whatever the database says.
func MessageID(campaign, dealer, customer string) string {
	return nameUUID("dealercare/campaign-message", campaign, dealer, customer)
}
