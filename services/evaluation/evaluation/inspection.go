package evaluation

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/pii"
	pg "github.com/dealercare/dealercare/pkg/postgres"
)

// Dealer inspection scorecards (检核, SPEC: evaluation). HQ admins publish
// versioned checklists of items, each with the most points an inspection
// may deduct for it; HQ staff record inspections of a dealer against a
// version, item by item with deductions and evidence notes. An
// inspection's score is (total − deducted) ÷ total × 100, total being the
// checklist's points (the sum of its items' max deductions), so checklists
// of different sizes score on the same 0-100 scale. The dealer's
// inspection_score KPI is the mean score of its inspections of a period
// (by the local day of the visit), which enters the composite when HQ's
// targets weight it.

// InspectionScore is the KPI of a dealer's inspections: numerator the sum
// of their scores in hundredths (ScoreScale), denominator their count.
const InspectionScore = "inspection_score"

// Bounds of a checklist.
const (
	MaxChecklistItems = 500
	MaxItemDeduction  = 100
)

// InspectionItem is one item of a checklist.
type InspectionItem struct {
	Code         string `json:"code"`
	Text         string `json:"text"`
	Category     string `json:"category"`
	MaxDeduction int    `json:"max_deduction"`
}

// Checklist is a version of HQ's inspection checklist.
type Checklist struct {
	Version     int
	Title       string
	Items       []InspectionItem
	TotalPoints int
	CreateBy    string
	CreateTime  time.Time
}

// Validate checks a new checklist and sets its total; errors name the
// field.
func (c *Checklist) Validate() error {
	if strings.TrimSpace(c.Title) == "" {
		return apperr.Invalid("checklist.title", "is required").ZhReason("必填")
	}
	if len(c.Items) == 0 || len(c.Items) > MaxChecklistItems {
		return apperr.Invalid("checklist.items", "must hold 1 to 500 items").ZhReason("须有 1 到 500 项")
	}
	seen := map[string]bool{}
	c.TotalPoints = 0
	for i, it := range c.Items {
		field := fmt.Sprintf("checklist.items[%d]", i)
		switch {
		case strings.TrimSpace(it.Code) == "":
			return apperr.Invalid(field+".code", "is required").ZhReason("必填")
		case seen[it.Code]:
			return apperr.Invalid(field+".code", fmt.Sprintf("%q appears twice", it.Code)).ZhReason(fmt.Sprintf("“%s”重复", it.Code))
		case strings.TrimSpace(it.Text) == "":
			return apperr.Invalid(field+".text", "is required").ZhReason("必填")
		case it.MaxDeduction < 1 || it.MaxDeduction > MaxItemDeduction:
			return apperr.Invalid(field+".max_deduction", "must be between 1 and 100").ZhReason("须在 1 到 100 之间")
		}
		seen[it.Code] = true
		c.TotalPoints += it.MaxDeduction
	}
	return nil
}

// Item returns the item of code, if any.
func (c *Checklist) Item(code string) (InspectionItem, bool) {
	for _, it := range c.Items {
		if it.Code == code {
			return it, true
		}
	}
	return InspectionItem{}, false
}

// ItemResult is one item's result at an inspection.
type ItemResult struct {
	Code         string `json:"code"`
	Deduction    int    `json:"deduction"`
	EvidenceNote string `json:"evidence_note"`
}

// Inspection is one inspection of a dealer.
type Inspection struct {
	ID               string
	Dealer           string
	ChecklistVersion int
	VisitTime        time.Time
	Inspector        string
	Summary          string
	Items            []ItemResult
	TotalPoints      int
	DeductedPoints   int
	// Score in hundredths of a point (ScoreScale), 0-10000.
	Score      int64
	CreateTime time.Time
}

// ScoreValue is the score in points, 0-100.
func (in *Inspection) ScoreValue() float64 { return float64(in.Score) / ScoreScale }

// MaxVisitAhead is how far past now a visit time may be (clock skew).
const MaxVisitAhead = 5 * time.Minute

// Scorecard checks in against its checklist c and sets its points and
// score: every item one of c's, at most once, a deduction within the
// item's max with an evidence note, no personal data in a note; an item
// left out deducts nothing. Errors name the field.
func Scorecard(in *Inspection, c *Checklist, now time.Time) error {
	switch {
	case in.VisitTime.IsZero():
		return apperr.Invalid("inspection.visit_time", "is required").ZhReason("必填")
	case in.VisitTime.After(now.Add(MaxVisitAhead)):
		return apperr.Invalid("inspection.visit_time", "must not be in the future").ZhReason("不能晚于当前时间")
	case in.VisitTime.Year() < 2000:
		return apperr.Invalid("inspection.visit_time", "must be in 2000 or later").ZhReason("须不早于 2000 年")
	case pii.Scrub(in.Summary) != in.Summary:
		return apperr.Invalid("inspection.summary", "must not contain a mobile or ID number").ZhReason("不能包含手机号或身份证号")
	}
	seen := map[string]bool{}
	in.DeductedPoints = 0
	for i, r := range in.Items {
		field := fmt.Sprintf("inspection.items[%d]", i)
		it, ok := c.Item(r.Code)
		switch {
		case !ok:
			return apperr.Invalid(field+".code", fmt.Sprintf("%q is not an item of checklist version %d", r.Code, c.Version)).
				ZhReason(fmt.Sprintf("“%s”不是第 %d 版检核表的项目", r.Code, c.Version))
		case seen[r.Code]:
			return apperr.Invalid(field+".code", fmt.Sprintf("%q appears twice", r.Code)).ZhReason(fmt.Sprintf("“%s”重复", r.Code))
		case r.Deduction < 0 || r.Deduction > it.MaxDeduction:
			return apperr.Invalid(field+".deduction", fmt.Sprintf("must be between 0 and the item's %d", it.MaxDeduction)).
				ZhReason(fmt.Sprintf("须在 0 到该项上限 %d 之间", it.MaxDeduction))
		case r.Deduction > 0 && strings.TrimSpace(r.EvidenceNote) == "":
			return apperr.Invalid(field+".evidence_note", "is required with a deduction").ZhReason("扣分须填写证据说明")
		case pii.Scrub(r.EvidenceNote) != r.EvidenceNote:
			return apperr.Invalid(field+".evidence_note", "must not contain a mobile or ID number").ZhReason("不能包含手机号或身份证号")
		}
		seen[r.Code] = true
		in.DeductedPoints += r.Deduction
	}
	in.ChecklistVersion, in.TotalPoints = c.Version, c.TotalPoints
	kept := int64(c.TotalPoints - in.DeductedPoints)
	total := int64(c.TotalPoints)
	in.Score = (kept*100*ScoreScale + total/2) / total // rounded to the hundredth
	return nil
}

// InspectionStore keeps checklists and inspections.
type InspectionStore interface {
	// CreateChecklist stores c as the next version.
	CreateChecklist(ctx context.Context, c Checklist) (*Checklist, error)
	// Checklists lists the versions, newest first.
	Checklists(ctx context.Context) ([]Checklist, error)
	// Checklist reads one version; ENOTFOUND if none.
	Checklist(ctx context.Context, version int) (*Checklist, error)
	// CreateInspection stores in and marks its visit's day for the rollup,
	// in one transaction.
	CreateInspection(ctx context.Context, scope pg.Scope, in Inspection) (*Inspection, error)
	// Inspection reads one; ENOTFOUND if the scope does not see it.
	Inspection(ctx context.Context, scope pg.Scope, dealer, id string) (*Inspection, error)
	// Inspections lists a dealer's, newest visit first, after the one of
	// the cursor (visit time, id) when it is set.
	Inspections(ctx context.Context, scope pg.Scope, dealer string, limit int, after *InspectionCursor) ([]Inspection, error)
	// InspectionScores reads the visit time and score of each of a
	// dealer's inspections visited in [from, to).
	InspectionScores(ctx context.Context, scope pg.Scope, dealer string, from, to time.Time) ([]Inspection, error)
}

// InspectionCursor is where a page of inspections ends.
type InspectionCursor struct {
	VisitTime time.Time
	ID        string
}

// Inspections applies who may do what with checklists and inspections.
type Inspections struct {
	svc   *Service
	store InspectionStore
}

// NewInspections returns the inspection API's rules over svc and store.
func NewInspections(svc *Service, store InspectionStore) *Inspections {
	return &Inspections{svc: svc, store: store}
}

// CreateChecklist publishes the next checklist version: HQ admins only
// (EFORBIDDEN otherwise); EINVALID names the bad field.
func (s *Inspections) CreateChecklist(ctx context.Context, c Checklist) (*Checklist, error) {
	p, _, err := s.svc.access.Visible(ctx)
	if err != nil {
		return nil, err
	}
	if !p.HasRole(auth.RoleHQAdmin) {
		return nil, apperr.Errorf(apperr.EFORBIDDEN, "only HQ admins publish inspection checklists").Zh("只有总部管理员可以发布检核表")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.CreateBy = p.Subject
	return s.store.CreateChecklist(ctx, c)
}

// Checklists lists the versions (anyone signed in: the standard is
// public to the network).
func (s *Inspections) Checklists(ctx context.Context) ([]Checklist, error) {
	if _, _, err := s.svc.access.Visible(ctx); err != nil {
		return nil, err
	}
	return s.store.Checklists(ctx)
}

// Checklist reads one version.
func (s *Inspections) Checklist(ctx context.Context, version int) (*Checklist, error) {
	if _, _, err := s.svc.access.Visible(ctx); err != nil {
		return nil, err
	}
	return s.store.Checklist(ctx, version)
}

// CreateInspection records an inspection of dealer: HQ analysts and
// admins (EFORBIDDEN for everyone else; a dealer the caller does not see
// is ENOTFOUND first). The checklist version defaults to the newest.
func (s *Inspections) CreateInspection(ctx context.Context, dealer string, in Inspection) (*Inspection, error) {
	p, scope, err := s.svc.access.Scope(ctx, dealer)
	if err != nil {
		return nil, err
	}
	if !p.HasRole(auth.RoleHQAnalyst, auth.RoleHQAdmin) {
		return nil, apperr.Errorf(apperr.EFORBIDDEN, "only HQ inspectors record inspections").Zh("只有总部检核员可以记录检核")
	}
	if !s.known(ctx, scope, dealer) {
		return nil, apperr.NotFound("dealer", "经销商", dealer)
	}
	var c *Checklist
	if in.ChecklistVersion == 0 {
		list, err := s.store.Checklists(ctx)
		if err != nil {
			return nil, err
		}
		if len(list) == 0 {
			return nil, apperr.Errorf(apperr.EFAILEDPRECOND, "no inspection checklist is published yet").Zh("尚未发布检核表")
		}
		c = &list[0]
	} else if c, err = s.store.Checklist(ctx, in.ChecklistVersion); err != nil {
		if apperr.Code(err) == apperr.ENOTFOUND {
			return nil, apperr.Invalid("inspection.checklist_version", fmt.Sprintf("checklist version %d does not exist", in.ChecklistVersion)).
				ZhReason(fmt.Sprintf("检核表第 %d 版不存在", in.ChecklistVersion))
		}
		return nil, err
	}
	if err := Scorecard(&in, c, s.svc.now()); err != nil {
		return nil, err
	}
	in.Dealer, in.Inspector = dealer, p.Subject
	return s.store.CreateInspection(ctx, scope, in)
}

func (s *Inspections) known(ctx context.Context, scope pg.Scope, dealer string) bool {
	ds, err := s.svc.store.Dealers(ctx, scope)
	if err != nil {
		return false
	}
	for _, d := range ds {
		if d.Code == dealer {
			return true
		}
	}
	return false
}

// Inspection reads one of dealer's: its staff, its region's manager, HQ.
func (s *Inspections) Inspection(ctx context.Context, dealer, id string) (*Inspection, error) {
	_, scope, err := s.svc.access.Scope(ctx, dealer)
	if err != nil {
		return nil, err
	}
	return s.store.Inspection(ctx, scope, dealer, id)
}

// List pages dealer's inspections, newest visit first.
func (s *Inspections) List(ctx context.Context, dealer string, limit int, after *InspectionCursor) ([]Inspection, error) {
	_, scope, err := s.svc.access.Scope(ctx, dealer)
	if err != nil {
		return nil, err
	}
	return s.store.Inspections(ctx, scope, dealer, limit, after)
}

// ScorePeriod is one period of a dealer's inspection score.
type ScorePeriod struct {
	Start, End Date // End inclusive
	Figure     Figure
}

// ScoreTrend is a dealer's inspection score over consecutive periods.
type ScoreTrend struct {
	Scope       string
	Granularity Granularity
	Periods     []ScorePeriod
}

// Scores answers dealer's inspection score per period in its time zone,
// straight from its inspections (the KPI tables show the same figures
// once the rollup has run).
func (s *Inspections) Scores(ctx context.Context, dealer string, q Query) (*ScoreTrend, error) {
	_, scope, err := s.svc.access.Scope(ctx, dealer)
	if err != nil {
		return nil, err
	}
	zone := zoneOf(s.svc.dealer(ctx, scope, dealer).TimeZone)
	g, starts, err := s.svc.periods(q, zone.String())
	if err != nil {
		return nil, err
	}
	end := PeriodEnd(g, starts[len(starts)-1])
	list, err := s.store.InspectionScores(ctx, scope, dealer, StartOf(starts[0], zone), StartOf(end, zone))
	if err != nil {
		return nil, err
	}
	figs := map[Date]Figure{}
	for _, in := range list {
		st := PeriodStart(g, DateOf(in.VisitTime, zone))
		figs[st] = figs[st].Add(Figure{Numerator: in.Score, Denominator: 1})
	}
	out := &ScoreTrend{Scope: "dealers/" + dealer, Granularity: g}
	for _, st := range starts {
		out.Periods = append(out.Periods, ScorePeriod{Start: st, End: PeriodEnd(g, st).AddDate(0, 0, -1), Figure: figs[st]})
	}
	return out, nil
}
