// Package network holds the dealer network's master data rules: regions,
// dealers and their business calendars, and who may read or change them.
// HQ owns this data; dealer staff see their own dealer, region managers
// their region's dealers.
package network

import (
	"context"
	"regexp"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/calendar"
)

var codePattern = regexp.MustCompile(`^[A-Z][A-Z0-9_-]{1,31}$`)

// IsCode reports whether s is a well-formed region or dealer code.
func IsCode(s string) bool { return codePattern.MatchString(s) }

// Region groups dealers under one region manager.
type Region struct {
	Code        string
	Name        string
	DealerCount int
	CreateTime  time.Time
}

// Dealer is a dealership (4S store), the tenant of every dealer-owned row.
type Dealer struct {
	Code       string
	Name       string
	Region     string
	TimeZone   string
	City       string
	CreateTime time.Time
	UpdateTime time.Time
}

// Validate checks a dealer's fields; errors name the field.
func (d *Dealer) Validate() error {
	if !codePattern.MatchString(d.Code) {
		return apperr.Invalid("dealer.code", "must be 2-32 upper-case letters, digits, '-' or '_', starting with a letter").ZhReason("须为 2-32 位大写字母、数字、'-' 或 '_'，以字母开头")
	}
	if d.Name == "" {
		return apperr.Invalid("dealer.name", "is required").ZhReason("为必填项")
	}
	if d.Region == "" {
		return apperr.Invalid("dealer.region", "is required").ZhReason("为必填项")
	}
	if d.TimeZone == "" {
		d.TimeZone = calendar.DefaultTimeZone
	}
	if _, err := time.LoadLocation(d.TimeZone); err != nil {
		return apperr.Invalid("dealer.time_zone", "unknown IANA time zone "+quote(d.TimeZone)).ZhReason("未知的 IANA 时区 " + quote(d.TimeZone))
	}
	return nil
}

// Validate checks a region's fields.
func (r *Region) Validate() error {
	if !codePattern.MatchString(r.Code) {
		return apperr.Invalid("region.code", "must be 2-32 upper-case letters, digits, '-' or '_', starting with a letter").ZhReason("须为 2-32 位大写字母、数字、'-' 或 '_'，以字母开头")
	}
	if r.Name == "" {
		return apperr.Invalid("region.name", "is required").ZhReason("为必填项")
	}
	return nil
}

// DefaultCalendarSpec is a new dealer's calendar until HQ sets one: open
// every day 08:30-17:30, the usual after-sales reception hours.
func DefaultCalendarSpec(timeZone string) calendar.Spec {
	day := []calendar.Interval{{Start: 8*time.Hour + 30*time.Minute, End: 17*time.Hour + 30*time.Minute}}
	weekly := map[time.Weekday][]calendar.Interval{}
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		weekly[wd] = day
	}
	return calendar.Spec{TimeZone: timeZone, Weekly: weekly}
}

// StoredCalendar is a dealer's calendar with its update time.
type StoredCalendar struct {
	Dealer     string
	Spec       calendar.Spec
	UpdateTime time.Time
}

// Page is a keyset page request: items after the After code, at most Size.
type Page struct {
	After string
	Size  int
}

// Store persists the network. Implementations scope every query by the
// caller's visibility (and PostgreSQL row-level security backs them up).
type Store interface {
	ListRegions(ctx context.Context, p Page) ([]Region, error)
	GetRegion(ctx context.Context, code string) (*Region, error)
	CreateRegion(ctx context.Context, r Region) (*Region, error)
	// ListDealers lists dealers visible to v, optionally of one region.
	ListDealers(ctx context.Context, v Visibility, region string, p Page) ([]Dealer, error)
	// GetDealer returns ENOTFOUND when the dealer is missing or not visible.
	GetDealer(ctx context.Context, v Visibility, code string) (*Dealer, error)
	CreateDealer(ctx context.Context, d Dealer, cal calendar.Spec) (*Dealer, error)
	// UpdateDealer loads the dealer, applies fn and saves it in one
	// transaction.
	UpdateDealer(ctx context.Context, code string, fn func(*Dealer) error) (*Dealer, error)
	GetCalendar(ctx context.Context, v Visibility, dealer string) (*StoredCalendar, error)
	PutCalendar(ctx context.Context, dealer string, spec calendar.Spec) (*StoredCalendar, error)
	// RegionDealers lists the codes of a region's dealers.
	RegionDealers(ctx context.Context, region string) ([]string, error)
}

// Visibility is what a caller may read: every dealer, or a set of codes.
type Visibility struct {
	All     bool
	Dealers []string
}

func quote(s string) string { return `"` + s + `"` }

// caller returns the authenticated principal or EUNAUTHORIZED.
func caller(ctx context.Context) (*auth.Principal, error) {
	p, ok := auth.PrincipalFromContext(ctx)
	if !ok {
		return nil, apperr.Errorf(apperr.EUNAUTHORIZED, "authentication required").Zh("需要登录认证")
	}
	return p, nil
}
