package campaign

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/validate"
)

// This file is HQ's maintenance plans (保养计划): per model, the service
// interval (time and distance, whichever first) and the daily distance
// assumed until a vehicle's readings allow an estimate. The vehicle
// workflow asks for its vehicle's plan at every visit (VehiclePlan).

// DefaultModel names the default plan.
const DefaultModel = "default"

// Plan is one model's maintenance plan.
type Plan struct {
	Model      string
	Months     int
	IntervalKM int
	KMPerDay   float64
	UpdateTime time.Time
}

// DefaultPlan is the SPEC's: 6 months or 5,000 km, 40 km/day.
func DefaultPlan() Plan {
	return Plan{Model: DefaultModel, Months: 6, IntervalKM: 5000, KMPerDay: 40}
}

// Validate names the first bad field.
func (p Plan) Validate() error {
	switch {
	case strings.TrimSpace(p.Model) == "" || len(p.Model) > 64:
		return apperr.Invalid("plan.model", "must have 1 to 64 characters").ZhReason("须为 1 到 64 个字符")
	case p.Months < 1 || p.Months > 60:
		return apperr.Invalid("plan.months", "must be between 1 and 60").ZhReason("须在 1 到 60 之间")
	case p.IntervalKM < 500 || p.IntervalKM > 100000:
		return apperr.Invalid("plan.interval_km", "must be between 500 and 100000").ZhReason("须在 500 到 100000 之间")
	case !(p.KMPerDay >= 1 && p.KMPerDay <= 1000):
		return apperr.Invalid("plan.default_km_per_day", "must be between 1 and 1000").ZhReason("须在 1 到 1000 之间")
	}
	return nil
}

// PlanStore keeps the plans.
type PlanStore interface {
	Plans(ctx context.Context) ([]Plan, error)
	// PlanOf returns the model's plan; ok is false when it has none.
	PlanOf(ctx context.Context, model string) (p Plan, ok bool, err error)
	PutPlan(ctx context.Context, p Plan) (Plan, error)
	DeletePlan(ctx context.Context, model string) (bool, error)
}

// PlanFields are UpdatePlan's field-mask paths.
var PlanFields = []string{"months", "interval_km", "default_km_per_day"}

// Plans lists the plans, the default first (any signed-in role).
func (s *Service) Plans(ctx context.Context) ([]Plan, error) {
	if _, _, err := s.vis.Visible(ctx); err != nil {
		return nil, err
	}
	ps, err := s.store.Plans(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(ps, func(a, b Plan) int {
		switch {
		case a.Model == b.Model:
			return 0
		case a.Model == DefaultModel:
			return -1
		case b.Model == DefaultModel:
			return 1
		}
		return strings.Compare(a.Model, b.Model)
	})
	return ps, nil
}

// Plan returns a model's plan (ENOTFOUND when it has none).
func (s *Service) Plan(ctx context.Context, model string) (Plan, error) {
	if _, _, err := s.vis.Visible(ctx); err != nil {
		return Plan{}, err
	}
	p, ok, err := s.store.PlanOf(ctx, model)
	if err != nil {
		return Plan{}, err
	}
	if !ok {
		return Plan{}, apperr.NotFound("maintenance plan", "保养计划", model)
	}
	return p, nil
}

func requireHQAdmin(ctx context.Context, s *Service, what, whatZh string) error {
	p, _, err := s.vis.Visible(ctx)
	if err != nil {
		return err
	}
	if !p.HasRole(auth.RoleHQAdmin) {
		return apperr.Errorf(apperr.EFORBIDDEN, "only an HQ admin sets %s", what).Zh("只有总部管理员可以设置" + whatZh)
	}
	return nil
}

// SetPlan sets the fields of mask (all when empty) of edit.Model's plan,
// creating it from the default plan when missing (hq_admin).
func (s *Service) SetPlan(ctx context.Context, edit Plan, mask []string) (Plan, error) {
	if err := requireHQAdmin(ctx, s, "maintenance plans", "保养计划"); err != nil {
		return Plan{}, err
	}
	for _, f := range mask {
		if !slices.Contains(PlanFields, f) {
			return Plan{}, apperr.Invalid("update_mask", fmt.Sprintf("cannot update field %q", f)).ZhReason("不能修改字段 " + f)
		}
	}
	if len(mask) == 0 {
		mask = PlanFields
	}
	cur, ok, err := s.store.PlanOf(ctx, edit.Model)
	if err != nil {
		return Plan{}, err
	}
	if !ok {
		if cur, _, err = s.store.PlanOf(ctx, DefaultModel); err != nil {
			return Plan{}, err
		}
		cur.Model = edit.Model
	}
	for _, f := range mask {
		switch f {
		case "months":
			cur.Months = edit.Months
		case "interval_km":
			cur.IntervalKM = edit.IntervalKM
		case "default_km_per_day":
			cur.KMPerDay = edit.KMPerDay
		}
	}
	if err := cur.Validate(); err != nil {
		return Plan{}, err
	}
	cur.UpdateTime = s.now().UTC()
	return s.store.PutPlan(ctx, cur)
}

// DeletePlan removes a model's plan (hq_admin); the default stays
// (ECONFLICT).
func (s *Service) DeletePlan(ctx context.Context, model string) error {
	if err := requireHQAdmin(ctx, s, "maintenance plans", "保养计划"); err != nil {
		return err
	}
	if model == DefaultModel {
		return apperr.Errorf(apperr.ECONFLICT, "the default maintenance plan cannot be removed; update it instead").Zh("默认保养计划不能删除，请修改")
	}
	ok, err := s.store.DeletePlan(ctx, model)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.NotFound("maintenance plan", "保养计划", model)
	}
	return nil
}

// VehiclePlan is the plan of the VIN's model: the model on the archive
// whose customer visited last (the vehicle workflow; any dealer), or the
// default plan when no archive names a model with a plan.
func (s *Service) VehiclePlan(ctx context.Context, vin string) (Plan, error) {
	v, err := validate.VIN(vin)
	if err != nil {
		return Plan{}, apperr.Invalid("vin", err.Error()).ZhReason("VIN 无效")
	}
	owners, err := s.vinOwners(ctx, []string{v})
	if err != nil {
		return Plan{}, err
	}
	if m := strings.TrimSpace(owners[v].Model); m != "" {
		if p, ok, err := s.store.PlanOf(ctx, m); err != nil || ok {
			return p, err
		}
	}
	p, ok, err := s.store.PlanOf(ctx, DefaultModel)
	if err == nil && !ok {
		p = DefaultPlan()
	}
	return p, err
}
