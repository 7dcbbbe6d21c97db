package evaluation

import (
	"context"
	"slices"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/tenancy"
)

// Store reads rollups and targets.
type Store interface {
	// Figures sums the figures of dealers (all the scope sees when nil)
	// per period start.
	Figures(ctx context.Context, scope pg.Scope, dealers []string, g Granularity, starts []Date) (map[Date]Figures, error)
	// DealerFigures reads each dealer's figures of one period.
	DealerFigures(ctx context.Context, scope pg.Scope, g Granularity, start Date) (map[string]Figures, error)
	// Dealers lists the dealers the scope sees.
	Dealers(ctx context.Context, scope pg.Scope) ([]Dealer, error)
	TargetSets(ctx context.Context) ([]TargetSet, error)
	CreateTargetSet(ctx context.Context, t TargetSet) (*TargetSet, error)
	RankingSettings(ctx context.Context) (RankingSettings, error)
	SetRankingSettings(ctx context.Context, in RankingSettings) (RankingSettings, error)
}

// Access is the platform's one visibility rule (pkg/tenancy).
type Access interface {
	Scope(ctx context.Context, dealer string) (*auth.Principal, pg.Scope, error)
	Visible(ctx context.Context) (*auth.Principal, pg.Scope, error)
}

var _ Access = tenancy.Access{}

// Service applies who may read which KPIs on top of a Store.
type Service struct {
	store  Store
	access Access
	now    func() time.Time
}

// NewService returns a Service; now is the clock (time.Now in production).
func NewService(store Store, access Access, now func() time.Time) *Service {
	return &Service{store: store, access: access, now: now}
}

// Query asks for periods: N consecutive periods of a granularity ending
// with the one containing Date ("" for today).
type Query struct {
	Granularity Granularity
	Date        string
	Periods     int
}

// MaxPeriods bounds a query.
const MaxPeriods = 400

// DefaultZone counts days above a dealer (a network's or a region's
// "today").
const DefaultZone = tenancy.DefaultTimeZone

func (s *Service) periods(q Query, zone string) (Granularity, []Date, error) {
	g := q.Granularity
	if g == "" {
		g = Month
	}
	last := DateOf(s.now(), zoneOf(zone))
	if q.Date != "" {
		d, err := ParseDate("query.date", q.Date)
		if err != nil {
			return "", nil, err
		}
		last = d
	}
	n := q.Periods
	switch {
	case n == 0:
		n = 1
	case n < 0 || n > MaxPeriods:
		return "", nil, apperr.Invalid("query.periods", "must be between 1 and 400").ZhReason("须在 1 到 400 之间")
	}
	return g, Periods(g, last, n), nil
}

func zoneOf(name string) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil && name != "" {
		return loc
	}
	loc, _ := time.LoadLocation(DefaultZone)
	return loc
}

// Period is one period's KPIs.
type Period struct {
	Start, End Date // End inclusive
	Figures    Figures
	Targets    *TargetSet
}

// Table is a scope's KPIs over consecutive periods.
type Table struct {
	Scope       string
	Granularity Granularity
	Periods     []Period
}

func (s *Service) table(ctx context.Context, scopeName string, scope pg.Scope, dealers []string, g Granularity, starts []Date) (*Table, error) {
	figs, err := s.store.Figures(ctx, scope, dealers, g, starts)
	if err != nil {
		return nil, err
	}
	sets, err := s.store.TargetSets(ctx)
	if err != nil {
		return nil, err
	}
	t := &Table{Scope: scopeName, Granularity: g}
	for _, st := range starts {
		f := figs[st]
		if f == nil {
			f = Figures{}
		}
		t.Periods = append(t.Periods, Period{Start: st, End: PeriodEnd(g, st).AddDate(0, 0, -1), Figures: f, Targets: InForce(sets, st)})
	}
	return t, nil
}

func (s *Service) dealer(ctx context.Context, scope pg.Scope, code string) Dealer {
	ds, err := s.store.Dealers(ctx, scope)
	if err == nil {
		for _, d := range ds {
			if d.Code == code {
				return d
			}
		}
	}
	return Dealer{Code: code, TimeZone: DefaultZone}
}

// DealerKpis answers a dealer's KPIs: its staff, its region's manager, HQ.
// Another dealer is ENOTFOUND; a bad query EINVALID naming the field.
func (s *Service) DealerKpis(ctx context.Context, dealer string, q Query) (*Table, error) {
	_, scope, err := s.access.Scope(ctx, dealer)
	if err != nil {
		return nil, err
	}
	g, starts, err := s.periods(q, s.dealer(ctx, scope, dealer).TimeZone)
	if err != nil {
		return nil, err
	}
	return s.table(ctx, "dealers/"+dealer, scope, []string{dealer}, g, starts)
}

// RegionKpis answers a region's KPIs, each period the sum of its dealers'
// (HQ, the region's manager). Another region, or one without dealers, is
// ENOTFOUND; dealer staff are EFORBIDDEN.
func (s *Service) RegionKpis(ctx context.Context, region string, q Query) (*Table, error) {
	scope, codes, err := s.regionDealers(ctx, region)
	if err != nil {
		return nil, err
	}
	g, starts, err := s.periods(q, DefaultZone)
	if err != nil {
		return nil, err
	}
	return s.table(ctx, "regions/"+region, scope, codes, g, starts)
}

// regionDealers is the scope and the dealers of a region the caller may
// read (HQ, the region's manager): another region, or one without
// dealers, is ENOTFOUND; anyone else EFORBIDDEN.
func (s *Service) regionDealers(ctx context.Context, region string) (pg.Scope, []string, error) {
	p, scope, err := s.access.Visible(ctx)
	if err != nil {
		return pg.Scope{}, nil, err
	}
	if !p.IsHQ() && !p.IsRegion() {
		return pg.Scope{}, nil, forbidden()
	}
	notFound := apperr.NotFound("region", "大区", region)
	if p.IsRegion() && p.Region != region {
		return pg.Scope{}, nil, notFound
	}
	ds, err := s.store.Dealers(ctx, scope)
	if err != nil {
		return pg.Scope{}, nil, err
	}
	codes := []string{}
	for _, d := range ds {
		if d.Region == region {
			codes = append(codes, d.Code)
		}
	}
	if len(codes) == 0 {
		return pg.Scope{}, nil, notFound
	}
	return scope, codes, nil
}

// NetworkKpis answers the network's KPIs (HQ only: EFORBIDDEN otherwise).
func (s *Service) NetworkKpis(ctx context.Context, q Query) (*Table, error) {
	p, scope, err := s.access.Visible(ctx)
	if err != nil {
		return nil, err
	}
	if !p.IsHQ() && !p.IsService() {
		return nil, forbidden()
	}
	g, starts, err := s.periods(q, DefaultZone)
	if err != nil {
		return nil, err
	}
	return s.table(ctx, "network", scope, nil, g, starts)
}

func forbidden() error {
	return apperr.Errorf(apperr.EFORBIDDEN, "this role may not read these KPIs").Zh("该角色无权查看这些指标")
}

// RankingResult is a ranking as the caller may see it.
type RankingResult struct {
	Granularity   Granularity
	Start, End    Date
	Region        string
	DealerCount   int
	Median        float64
	Ranks         []Rank
	TargetVersion int
	// Targets are the version the scores use (nil without targets).
	Targets *TargetSet
}

// Rank ranks dealers by composite score for one period, network-wide or
// within region. HQ sees every dealer; a region manager the dealers of
// its region (their network-wide or regional places); dealer staff only
// their own place, with the count and the median, unless HQ's ranking
// settings let dealers see the whole ranking with names. A region the
// caller may not see is ENOTFOUND.
func (s *Service) Rank(ctx context.Context, q Query, region string) (*RankingResult, error) {
	p, _, err := s.access.Visible(ctx)
	if err != nil {
		return nil, err
	}
	if !p.IsHQ() && !p.IsRegion() && !p.IsDealer() && !p.IsService() {
		return nil, forbidden()
	}
	if region != "" && p.IsRegion() && p.Region != region {
		return nil, apperr.NotFound("region", "大区", region)
	}
	q.Periods = 1
	g, starts, err := s.periods(q, DefaultZone)
	if err != nil {
		return nil, err
	}
	start := starts[0]
	// The ranking itself covers every dealer: a dealer's place depends on
	// the others. What the caller sees of it is cut below.
	fin, err := s.finishedRanking(ctx, RankingKey{Granularity: g, Start: start, Region: region})
	if err != nil {
		return nil, err
	}
	if !fin.RegionKnown {
		return nil, apperr.NotFound("region", "大区", region)
	}
	// The finished ranking may be shared (kept by the store): the cut
	// works on a copy of its list; the ranks' figures are only read.
	cur := slices.Clone(fin.Ranks)
	res := &RankingResult{Granularity: g, Start: start, End: PeriodEnd(g, start).AddDate(0, 0, -1), Region: region,
		DealerCount: len(cur), Median: Median(cur)}
	if set := fin.Targets; set != nil {
		res.TargetVersion, res.Targets = set.Version, set
	}
	settings := RankingSettings{}
	if p.IsDealer() {
		if settings, err = s.store.RankingSettings(ctx); err != nil {
			return nil, err
		}
	}
	switch {
	case p.IsHQ() || p.IsService() || (p.IsDealer() && settings.DealersSeeNames):
		res.Ranks = cur
	case p.IsRegion():
		for _, r := range cur {
			if r.Region == p.Region {
				res.Ranks = append(res.Ranks, r)
			}
		}
	default:
		for _, r := range cur {
			if r.Dealer == p.Dealer {
				res.Ranks = append(res.Ranks, r)
			}
		}
	}
	return res, nil
}

func regionKnown(ds []Dealer, region string) bool {
	for _, d := range ds {
		if d.Region == region {
			return true
		}
	}
	return false
}

// TargetSets lists HQ's target sets (any signed-in user may read the
// standards).
func (s *Service) TargetSets(ctx context.Context) ([]TargetSet, error) {
	if _, _, err := s.access.Visible(ctx); err != nil {
		return nil, err
	}
	return s.store.TargetSets(ctx)
}

// CreateTargetSet stores a new version of HQ's targets: HQ admins only
// (EFORBIDDEN for everyone else, regions included); EINVALID names the
// bad field.
func (s *Service) CreateTargetSet(ctx context.Context, t TargetSet) (*TargetSet, error) {
	p, _, err := s.access.Visible(ctx)
	if err != nil {
		return nil, err
	}
	if !p.HasRole(auth.RoleHQAdmin) {
		return nil, apperr.Errorf(apperr.EFORBIDDEN, "only HQ admins set KPI targets").Zh("只有总部管理员可以设置指标目标")
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	t.CreateBy = p.Subject
	return s.store.CreateTargetSet(ctx, t)
}
