package archive

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/calendar"
	"github.com/dealercare/dealercare/pkg/pii"
	"github.com/dealercare/dealercare/pkg/validate"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Page is a keyset page request: After is an opaque position from the
// previous page.
type Page struct {
	After string
	Size  int
}

// Page sizes.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

func (p Page) size() int {
	switch {
	case p.Size <= 0:
		return DefaultPageSize
	case p.Size > MaxPageSize:
		return MaxPageSize
	}
	return p.Size
}

// DuplicateGroup is a set of customers sharing a mobile or a VIN.
type DuplicateGroup struct {
	Reason    string
	Customers []Customer
}

// Store persists one dealer's archive; every method works inside that
// dealer's row-level-security scope.
type Store interface {
	CreateCustomer(ctx context.Context, c *Customer) (*Customer, error)
	GetCustomer(ctx context.Context, dealer, id string) (*Customer, error)
	// UpdateCustomer loads, applies fn and saves in one transaction.
	UpdateCustomer(ctx context.Context, dealer, id string, fn func(*Customer) error) (*Customer, error)
	// ListCustomers searches by query (name prefix, mobile, plate, VIN).
	ListCustomers(ctx context.Context, dealer, query, tier string, p Page) ([]Customer, string, error)
	SetConsent(ctx context.Context, dealer, id string, c Consent) (*Customer, error)
	AdjustPoints(ctx context.Context, dealer, id string, points int64, reason string) (*LoyaltyTransaction, error)
	ListLoyalty(ctx context.Context, dealer, id string, p Page) ([]LoyaltyTransaction, string, error)
	Duplicates(ctx context.Context, dealer string, limit int) ([]DuplicateGroup, error)
	Merge(ctx context.Context, dealer, survivor string, merged []string, actor string) (*Customer, error)
	ListProblems(ctx context.Context, dealer string, p Page) ([]Customer, string, error)

	CreateVehicle(ctx context.Context, v *Vehicle) (*Vehicle, error)
	GetVehicle(ctx context.Context, dealer, customer, id string) (*Vehicle, error)
	ListVehicles(ctx context.Context, dealer, customer string) ([]Vehicle, error)
	// UpdateVehicle loads the customer's vehicle, applies fn and saves in
	// one transaction.
	UpdateVehicle(ctx context.Context, dealer, customer, id string, fn func(*Vehicle) error) (*Vehicle, error)
	// ListMileage lists the readings of the customer's vehicle, newest
	// first; ENOTFOUND unless the vehicle is the customer's.
	ListMileage(ctx context.Context, dealer, customer, vehicle string, p Page) ([]MileageReading, string, error)

	// CreateRepairOrder resolves the vehicle by id or VIN in the dealer's
	// archive (a visiting vehicle unknown here is an error the caller can
	// fix by archiving it first).
	CreateRepairOrder(ctx context.Context, ro *RepairOrder) (*RepairOrder, error)
	GetRepairOrder(ctx context.Context, dealer, id string) (*RepairOrder, error)
	ListRepairOrders(ctx context.Context, dealer, vehicle string, p Page) ([]RepairOrder, string, error)
	// CloseRepairOrder applies fn to the open order and, in the same
	// transaction, records the RepairOrderClosed event in the outbox.
	CloseRepairOrder(ctx context.Context, dealer, id string, fn func(*RepairOrder) error) (*RepairOrder, error)

	// CreateSale records the delivery and its VehicleDelivered event in one
	// transaction.
	CreateSale(ctx context.Context, s *Sale) (*Sale, error)
	GetSale(ctx context.Context, dealer, id string) (*Sale, error)
	ListSales(ctx context.Context, dealer string, p Page) ([]Sale, string, error)

	// TimeZone is the dealer's IANA time zone ("" when the network has
	// none for it).
	TimeZone(ctx context.Context, dealer string) (string, error)

	// SetServiceState stores the state the vehicle's workflow computed on
	// every dealer's archive of that VIN, and adds the readings of its
	// visits that an archive lacks.
	SetServiceState(ctx context.Context, vin string, s ServiceState, readings []MileageReading) (int, error)
}

// Visibility resolves which dealers the caller may read (the dealer
// network's rule).
type Visibility interface {
	CanRead(ctx context.Context, dealer string) (bool, error)
}

// Service applies the archive's access rules on top of a Store.
type Service struct {
	store Store
	vis   Visibility
	now   func() time.Time
}

// NewService returns a Service; now is the clock (time.Now in production).
func NewService(store Store, vis Visibility, now func() time.Time) *Service {
	return &Service{store: store, vis: vis, now: now}
}

// dealerNow is now in the dealer's time zone: a date typed for the dealer
// (a birthday, a purchase date) is in the future only after the dealer's
// today, wherever the service runs.
func (s *Service) dealerNow(ctx context.Context, dealer string) (time.Time, error) {
	zone, err := s.store.TimeZone(ctx, dealer)
	if err != nil {
		return time.Time{}, err
	}
	return s.now().In(calendar.Zone(zone)), nil
}

// Reader checks the caller may read dealer's archive and returns the
// caller; a dealer the caller may not see is ENOTFOUND, so its existence
// does not leak. Every part of the customer service that reads dealer data
// (archive, imports) uses this rule.
func Reader(ctx context.Context, vis Visibility, dealer string) (*auth.Principal, error) {
	p, ok := auth.PrincipalFromContext(ctx)
	if !ok {
		return nil, apperr.Errorf(apperr.EUNAUTHORIZED, "authentication required").Zh("需要登录认证")
	}
	ok, err := vis.CanRead(ctx, dealer)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apperr.NotFound("dealer", "经销商", dealer)
	}
	return p, nil
}

// Writer additionally requires a dealer role of that dealer: HQ and region
// users read archives but do not change them (EFORBIDDEN).
func Writer(ctx context.Context, vis Visibility, dealer string) (*auth.Principal, error) {
	p, err := Reader(ctx, vis, dealer)
	if err != nil {
		return nil, err
	}
	if !p.IsDealer() || p.Dealer != dealer {
		return nil, apperr.Errorf(apperr.EFORBIDDEN, "only the dealer's own staff may change its archive").Zh("只有本店员工可以修改客户档案")
	}
	return p, nil
}

func (s *Service) reader(ctx context.Context, dealer string) (*auth.Principal, error) {
	return Reader(ctx, s.vis, dealer)
}

func (s *Service) writer(ctx context.Context, dealer string) (*auth.Principal, error) {
	return Writer(ctx, s.vis, dealer)
}

// Mask hides personal data from roles that may not see it.
func Mask(p *auth.Principal, c *Customer) *Customer {
	if c == nil {
		return nil
	}
	out := *c
	if !p.CanSeePersonalData() {
		out.Mobile = pii.MaskMobile(c.Mobile)
		out.Address = pii.MaskAddress(c.Address)
		out.Email = pii.MaskEmail(c.Email)
	}
	// The ID number is shown masked to everyone; only its last digits help
	// an agent confirm identity on the phone.
	out.IDNumber = pii.MaskIDNumber(c.IDNumber)
	return &out
}

func maskAll(p *auth.Principal, cs []Customer) []Customer {
	out := make([]Customer, len(cs))
	for i := range cs {
		out[i] = *Mask(p, &cs[i])
	}
	return out
}

// CreateCustomer validates and stores a new archive.
func (s *Service) CreateCustomer(ctx context.Context, dealer string, c Customer) (*Customer, error) {
	p, err := s.writer(ctx, dealer)
	if err != nil {
		return nil, err
	}
	now, err := s.dealerNow(ctx, dealer)
	if err != nil {
		return nil, err
	}
	if err := c.Normalize(now); err != nil {
		return nil, err
	}
	c.Dealer = dealer
	c.Problems = c.Check()
	out, err := s.store.CreateCustomer(ctx, &c)
	if err != nil {
		return nil, err
	}
	return Mask(p, out), nil
}

// GetCustomer returns ENOTFOUND for a missing or invisible archive.
func (s *Service) GetCustomer(ctx context.Context, dealer, id string) (*Customer, error) {
	p, err := s.reader(ctx, dealer)
	if err != nil {
		return nil, err
	}
	c, err := s.store.GetCustomer(ctx, dealer, id)
	if err != nil {
		return nil, err
	}
	return Mask(p, c), nil
}

// ListCustomers searches a dealer's archive.
func (s *Service) ListCustomers(ctx context.Context, dealer, query, tier string, pg Page) ([]Customer, string, error) {
	p, err := s.reader(ctx, dealer)
	if err != nil {
		return nil, "", err
	}
	pg.Size = pg.size()
	cs, next, err := s.store.ListCustomers(ctx, dealer, query, tier, pg)
	if err != nil {
		return nil, "", err
	}
	return maskAll(p, cs), next, nil
}

// UpdateCustomer changes the masked fields.
func (s *Service) UpdateCustomer(ctx context.Context, dealer string, in Customer, mask []string) (*Customer, error) {
	p, err := s.writer(ctx, dealer)
	if err != nil {
		return nil, err
	}
	if len(mask) == 0 {
		mask = CustomerFields
	}
	now, err := s.dealerNow(ctx, dealer)
	if err != nil {
		return nil, err
	}
	out, err := s.store.UpdateCustomer(ctx, dealer, in.ID, func(c *Customer) error {
		if c.MergedInto != "" {
			return apperr.Errorf(apperr.EFAILEDPRECOND, "customer %s was merged into %s", c.ID, c.MergedInto).Zh("该客户已合并到 " + c.MergedInto)
		}
		if err := c.Apply(&in, mask); err != nil {
			return err
		}
		if err := c.Normalize(now); err != nil {
			return err
		}
		c.Problems = c.Check()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return Mask(p, out), nil
}

// UpdateConsent records a consent change for one channel.
func (s *Service) UpdateConsent(ctx context.Context, dealer, id string, c Consent) (*Customer, error) {
	p, err := s.writer(ctx, dealer)
	if err != nil {
		return nil, err
	}
	if !slices.Contains([]string{ChannelSMS, ChannelCall, ChannelEmail, ChannelWeChat}, c.Channel) {
		return nil, apperr.Invalid("consent.channel", "must be sms, call, email or wechat").ZhReason("须为 sms、call、email 或 wechat")
	}
	c.UpdateTime = s.now()
	out, err := s.store.SetConsent(ctx, dealer, id, c)
	if err != nil {
		return nil, err
	}
	return Mask(p, out), nil
}

// AdjustLoyaltyPoints adds a ledger entry; EFAILEDPRECOND when a
// redemption exceeds the balance.
func (s *Service) AdjustLoyaltyPoints(ctx context.Context, dealer, id string, points int64, reason string) (*LoyaltyTransaction, error) {
	if _, err := s.writer(ctx, dealer); err != nil {
		return nil, err
	}
	if points == 0 {
		return nil, apperr.Invalid("points", "must not be zero").ZhReason("不能为 0")
	}
	return s.store.AdjustPoints(ctx, dealer, id, points, reason)
}

// ListLoyaltyTransactions lists the ledger, newest first.
func (s *Service) ListLoyaltyTransactions(ctx context.Context, dealer, id string, pg Page) ([]LoyaltyTransaction, string, error) {
	if _, err := s.reader(ctx, dealer); err != nil {
		return nil, "", err
	}
	if _, err := s.store.GetCustomer(ctx, dealer, id); err != nil {
		return nil, "", err
	}
	pg.Size = pg.size()
	return s.store.ListLoyalty(ctx, dealer, id, pg)
}

// Duplicates lists likely duplicate groups.
func (s *Service) Duplicates(ctx context.Context, dealer string, limit int) ([]DuplicateGroup, error) {
	p, err := s.reader(ctx, dealer)
	if err != nil {
		return nil, err
	}
	gs, err := s.store.Duplicates(ctx, dealer, Page{Size: limit}.size())
	if err != nil {
		return nil, err
	}
	for i := range gs {
		gs[i].Customers = maskAll(p, gs[i].Customers)
	}
	return gs, nil
}

// Merge merges customers into a survivor. EINVALID when the survivor is
// among the merged; ENOTFOUND for unknown ids.
func (s *Service) Merge(ctx context.Context, dealer, survivor string, merged []string) (*Customer, error) {
	p, err := s.writer(ctx, dealer)
	if err != nil {
		return nil, err
	}
	// The addressed customer first: another dealer's id answers 404 whatever
	// the body says.
	if _, err := s.store.GetCustomer(ctx, dealer, survivor); err != nil {
		return nil, err
	}
	if slices.Contains(merged, survivor) {
		return nil, apperr.Invalid("merged", "must not contain the surviving customer").ZhReason("不能包含保留的客户")
	}
	slices.Sort(merged)
	merged = slices.Compact(merged)
	out, err := s.store.Merge(ctx, dealer, survivor, merged, p.Subject)
	if err != nil {
		return nil, err
	}
	return Mask(p, out), nil
}

// ListProblems lists archives failing validation.
func (s *Service) ListProblems(ctx context.Context, dealer string, pg Page) ([]Customer, string, error) {
	p, err := s.reader(ctx, dealer)
	if err != nil {
		return nil, "", err
	}
	pg.Size = pg.size()
	cs, next, err := s.store.ListProblems(ctx, dealer, pg)
	if err != nil {
		return nil, "", err
	}
	return maskAll(p, cs), next, nil
}

// CreateVehicle adds a vehicle to a customer.
func (s *Service) CreateVehicle(ctx context.Context, dealer, customer string, v Vehicle) (*Vehicle, error) {
	if _, err := s.writer(ctx, dealer); err != nil {
		return nil, err
	}
	if _, err := s.store.GetCustomer(ctx, dealer, customer); err != nil {
		return nil, err
	}
	now, err := s.dealerNow(ctx, dealer)
	if err != nil {
		return nil, err
	}
	if err := v.Normalize(now); err != nil {
		return nil, err
	}
	v.Dealer, v.Customer = dealer, customer
	return s.store.CreateVehicle(ctx, &v)
}

// GetVehicle returns the vehicle with its service state.
func (s *Service) GetVehicle(ctx context.Context, dealer, customer, id string) (*Vehicle, error) {
	if _, err := s.reader(ctx, dealer); err != nil {
		return nil, err
	}
	return s.store.GetVehicle(ctx, dealer, customer, id)
}

// ListVehicles lists a customer's vehicles.
func (s *Service) ListVehicles(ctx context.Context, dealer, customer string) ([]Vehicle, error) {
	if _, err := s.reader(ctx, dealer); err != nil {
		return nil, err
	}
	if _, err := s.store.GetCustomer(ctx, dealer, customer); err != nil {
		return nil, err
	}
	return s.store.ListVehicles(ctx, dealer, customer)
}

// UpdateVehicle changes the masked fields of a customer's vehicle.
func (s *Service) UpdateVehicle(ctx context.Context, dealer, customer string, in Vehicle, mask []string) (*Vehicle, error) {
	if _, err := s.writer(ctx, dealer); err != nil {
		return nil, err
	}
	if len(mask) == 0 {
		mask = VehicleFields
	}
	now, err := s.dealerNow(ctx, dealer)
	if err != nil {
		return nil, err
	}
	return s.store.UpdateVehicle(ctx, dealer, customer, in.ID, func(v *Vehicle) error {
		if err := v.Apply(&in, mask); err != nil {
			return err
		}
		return v.Normalize(now)
	})
}

// ListMileageReadings lists a customer's vehicle's odometer readings,
// newest first.
func (s *Service) ListMileageReadings(ctx context.Context, dealer, customer, vehicle string, pg Page) ([]MileageReading, string, error) {
	if _, err := s.reader(ctx, dealer); err != nil {
		return nil, "", err
	}
	pg.Size = pg.size()
	return s.store.ListMileage(ctx, dealer, customer, vehicle, pg)
}

// CreateRepairOrder opens a repair order.
func (s *Service) CreateRepairOrder(ctx context.Context, dealer string, ro RepairOrder) (*RepairOrder, error) {
	if _, err := s.writer(ctx, dealer); err != nil {
		return nil, err
	}
	if err := ro.Validate(s.now()); err != nil {
		return nil, err
	}
	ro.Dealer, ro.State = dealer, ROOpen
	return s.store.CreateRepairOrder(ctx, &ro)
}

// GetRepairOrder returns ENOTFOUND for a missing or invisible order.
func (s *Service) GetRepairOrder(ctx context.Context, dealer, id string) (*RepairOrder, error) {
	if _, err := s.reader(ctx, dealer); err != nil {
		return nil, err
	}
	return s.store.GetRepairOrder(ctx, dealer, id)
}

// ListRepairOrders lists repair orders, newest first.
func (s *Service) ListRepairOrders(ctx context.Context, dealer, vehicle string, pg Page) ([]RepairOrder, string, error) {
	if _, err := s.reader(ctx, dealer); err != nil {
		return nil, "", err
	}
	pg.Size = pg.size()
	return s.store.ListRepairOrders(ctx, dealer, vehicle, pg)
}

// CloseRepairOrder closes the order and emits RepairOrderClosed.
func (s *Service) CloseRepairOrder(ctx context.Context, dealer, id string, at time.Time, mileageKM int, amountFen int64) (*RepairOrder, error) {
	if _, err := s.writer(ctx, dealer); err != nil {
		return nil, err
	}
	now := s.now()
	if at.IsZero() {
		at = now
	}
	if at.After(now.Add(time.Hour)) {
		return nil, apperr.Invalid("close_time", "is in the future").ZhReason("不能晚于当前时间")
	}
	return s.store.CloseRepairOrder(ctx, dealer, id, func(ro *RepairOrder) error {
		return ro.Close(at, mileageKM, amountFen)
	})
}

// CreateSale records a delivery and emits VehicleDelivered.
func (s *Service) CreateSale(ctx context.Context, dealer string, sale Sale) (*Sale, error) {
	if _, err := s.writer(ctx, dealer); err != nil {
		return nil, err
	}
	if err := validate.EventTime(sale.DeliveredTime, s.now().Add(time.Hour)); err != nil {
		return nil, invalid("sale.delivered_time", err)
	}
	sale.Dealer = dealer
	return s.store.CreateSale(ctx, &sale)
}

// GetSale returns ENOTFOUND for a missing or invisible sale.
func (s *Service) GetSale(ctx context.Context, dealer, id string) (*Sale, error) {
	if _, err := s.reader(ctx, dealer); err != nil {
		return nil, err
	}
	return s.store.GetSale(ctx, dealer, id)
}

// ListSales lists deliveries, newest first.
func (s *Service) ListSales(ctx context.Context, dealer string, pg Page) ([]Sale, string, error) {
	if _, err := s.reader(ctx, dealer); err != nil {
		return nil, "", err
	}
	pg.Size = pg.size()
	return s.store.ListSales(ctx, dealer, pg)
}
