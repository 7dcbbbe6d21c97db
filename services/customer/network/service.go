package network

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/calendar"
)

// Page sizes of list methods.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Service applies the network's access rules on top of a Store.
type Service struct {
	store Store
}

// NewService returns a Service over store.
func NewService(store Store) *Service { return &Service{store: store} }

// CanRead reports whether the caller may read dealer's data; other
// services' rules (the archive) share this one.
func (s *Service) CanRead(ctx context.Context, dealer string) (bool, error) {
	_, v, err := s.visibility(ctx)
	if err != nil {
		return false, err
	}
	return v.All || slices.Contains(v.Dealers, dealer), nil
}

// visibility resolves what the caller may read. A region manager sees the
// dealers currently in the region.
func (s *Service) visibility(ctx context.Context) (*auth.Principal, Visibility, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, Visibility{}, err
	}
	switch {
	case p.IsHQ() || p.IsService():
		return p, Visibility{All: true}, nil
	case p.IsRegion():
		codes, err := s.store.RegionDealers(ctx, p.Region)
		if err != nil {
			return nil, Visibility{}, err
		}
		if p.IsDealer() && !slices.Contains(codes, p.Dealer) {
			codes = append(codes, p.Dealer)
		}
		return p, Visibility{Dealers: codes}, nil
	case p.IsDealer():
		return p, Visibility{Dealers: []string{p.Dealer}}, nil
	}
	return p, Visibility{}, nil
}

func requireHQAdmin(p *auth.Principal, what string) error {
	if !p.HasRole(auth.RoleHQAdmin) {
		return apperr.Errorf(apperr.EFORBIDDEN, "only hq_admin may %s", what).Zh("仅总部管理员（hq_admin）可执行此操作")
	}
	return nil
}

func pageSize(n int) int {
	switch {
	case n <= 0:
		return DefaultPageSize
	case n > MaxPageSize:
		return MaxPageSize
	}
	return n
}

// ListRegions lists regions by code. Any authenticated user may.
func (s *Service) ListRegions(ctx context.Context, p Page) ([]Region, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	p.Size = pageSize(p.Size)
	return s.store.ListRegions(ctx, p)
}

// GetRegion returns ENOTFOUND for an unknown code.
func (s *Service) GetRegion(ctx context.Context, code string) (*Region, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	return s.store.GetRegion(ctx, code)
}

// CreateRegion returns EFORBIDDEN unless hq_admin, EINVALID, ECONFLICT.
func (s *Service) CreateRegion(ctx context.Context, r Region) (*Region, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := requireHQAdmin(p, "create regions"); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return s.store.CreateRegion(ctx, r)
}

// ListDealers lists the dealers the caller may see, ordered by code.
func (s *Service) ListDealers(ctx context.Context, region string, p Page) ([]Dealer, error) {
	_, v, err := s.visibility(ctx)
	if err != nil {
		return nil, err
	}
	p.Size = pageSize(p.Size)
	return s.store.ListDealers(ctx, v, region, p)
}

// GetDealer returns ENOTFOUND for a dealer that is missing or not visible.
func (s *Service) GetDealer(ctx context.Context, code string) (*Dealer, error) {
	_, v, err := s.visibility(ctx)
	if err != nil {
		return nil, err
	}
	return s.store.GetDealer(ctx, v, code)
}

// CreateDealer creates a dealer with the default calendar. EFORBIDDEN unless
// hq_admin; EINVALID (including an unknown region); ECONFLICT.
func (s *Service) CreateDealer(ctx context.Context, d Dealer) (*Dealer, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := requireHQAdmin(p, "create dealers"); err != nil {
		return nil, err
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if _, err := s.store.GetRegion(ctx, d.Region); err != nil {
		if apperr.Code(err) == apperr.ENOTFOUND {
			return nil, apperr.Invalid("dealer.region", "unknown region "+quote(d.Region)).ZhReason("未知的大区 " + quote(d.Region))
		}
		return nil, err
	}
	return s.store.CreateDealer(ctx, d, DefaultCalendarSpec(d.TimeZone))
}

// DealerFields are the fields UpdateDealer may change.
var DealerFields = []string{"name", "region", "time_zone", "city"}

// UpdateDealer changes the masked fields (all of DealerFields when mask is
// empty). A dealer the caller cannot see is ENOTFOUND even for a non-admin,
// so existence does not leak; EFORBIDDEN unless hq_admin.
func (s *Service) UpdateDealer(ctx context.Context, in Dealer, mask []string) (*Dealer, error) {
	p, v, err := s.visibility(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.GetDealer(ctx, v, in.Code); err != nil {
		return nil, err
	}
	if err := requireHQAdmin(p, "change dealers"); err != nil {
		return nil, err
	}
	if len(mask) == 0 {
		mask = DealerFields
	}
	for _, f := range mask {
		if !slices.Contains(DealerFields, f) {
			return nil, apperr.Invalid("update_mask", "cannot update field "+quote(f)+"; updatable: name, region, time_zone, city").ZhReason("不能更新字段 " + quote(f) + "；可更新：name、region、time_zone、city")
		}
	}
	if slices.Contains(mask, "region") {
		if _, err := s.store.GetRegion(ctx, in.Region); err != nil {
			if apperr.Code(err) == apperr.ENOTFOUND {
				return nil, apperr.Invalid("dealer.region", "unknown region "+quote(in.Region)).ZhReason("未知的大区 " + quote(in.Region))
			}
			return nil, err
		}
	}
	return s.store.UpdateDealer(ctx, in.Code, func(d *Dealer) error {
		for _, f := range mask {
			switch f {
			case "name":
				d.Name = in.Name
			case "region":
				d.Region = in.Region
			case "time_zone":
				d.TimeZone = in.TimeZone
			case "city":
				d.City = in.City
			}
		}
		return d.Validate()
	})
}

// GetCalendar returns the dealer's calendar; its time zone is the dealer's.
func (s *Service) GetCalendar(ctx context.Context, dealer string) (*StoredCalendar, error) {
	_, v, err := s.visibility(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.store.GetDealer(ctx, v, dealer)
	if err != nil {
		return nil, err
	}
	c, err := s.store.GetCalendar(ctx, v, dealer)
	if err != nil {
		return nil, err
	}
	c.Spec.TimeZone = d.TimeZone
	return c, nil
}

// PutCalendar replaces a dealer's calendar after validating it.
func (s *Service) PutCalendar(ctx context.Context, dealer string, spec calendar.Spec) (*StoredCalendar, error) {
	p, v, err := s.visibility(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.store.GetDealer(ctx, v, dealer)
	if err != nil {
		return nil, err
	}
	if err := requireHQAdmin(p, "change business calendars"); err != nil {
		return nil, err
	}
	spec.TimeZone = d.TimeZone
	if _, err := calendar.New(spec); err != nil {
		return nil, calendarError(err)
	}
	c, err := s.store.PutCalendar(ctx, dealer, spec)
	if err != nil {
		return nil, err
	}
	c.Spec.TimeZone = d.TimeZone
	return c, nil
}

// AddBusinessTime answers when d of business time has elapsed after start
// on the dealer's calendar, and whether start is in business hours.
func (s *Service) AddBusinessTime(ctx context.Context, dealer string, start time.Time, d time.Duration) (time.Time, bool, error) {
	c, err := s.GetCalendar(ctx, dealer)
	if err != nil {
		return time.Time{}, false, err
	}
	cal, err := calendar.New(c.Spec)
	if err != nil {
		return time.Time{}, false, calendarError(err)
	}
	end, err := cal.Add(start, d)
	if err != nil {
		return time.Time{}, false, apperr.Errorf(apperr.EFAILEDPRECOND, "dealer %s: %v", dealer, err)
	}
	return end, cal.IsOpen(start), nil
}

func calendarError(err error) error {
	var fe *calendar.FieldError
	if errors.As(err, &fe) {
		return apperr.Invalid("calendar."+fe.Field, fe.Reason)
	}
	return apperr.Invalid("calendar", err.Error())
}
