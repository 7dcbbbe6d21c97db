package campaign

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
)

// DealerPolicy is a dealer's override of HQ's messaging policy: a nil
// field follows HQ's. Cap-exempt kinds are HQ's alone.
type DealerPolicy struct {
	Dealer          string
	QuietStart      *string
	QuietEnd        *string
	FrequencyCap    *int
	FrequencyWindow *time.Duration
	UpdateTime      time.Time
}

// DealerPolicyFields are the fields a dealer may override.
var DealerPolicyFields = []string{"quiet_start", "quiet_end", "frequency_cap", "frequency_window"}

// Apply returns hq with the dealer's overrides.
func (d DealerPolicy) Apply(hq Policy) Policy {
	p := hq
	if d.QuietStart != nil {
		p.QuietStart = *d.QuietStart
	}
	if d.QuietEnd != nil {
		p.QuietEnd = *d.QuietEnd
	}
	if d.FrequencyCap != nil {
		p.FrequencyCap = *d.FrequencyCap
	}
	if d.FrequencyWindow != nil {
		p.FrequencyWindow = *d.FrequencyWindow
	}
	if d.UpdateTime.After(p.UpdateTime) {
		p.UpdateTime = d.UpdateTime
	}
	return p
}

// Overridden names the fields the dealer sets.
func (d DealerPolicy) Overridden() []string {
	var out []string
	for i, set := range []bool{d.QuietStart != nil, d.QuietEnd != nil, d.FrequencyCap != nil, d.FrequencyWindow != nil} {
		if set {
			out = append(out, DealerPolicyFields[i])
		}
	}
	return out
}

// DealerPolicyStore keeps dealers' overrides.
type DealerPolicyStore interface {
	// DealerPolicies returns the overrides of dealers that have one.
	DealerPolicies(ctx context.Context, scope Scope, dealers []string) (map[string]DealerPolicy, error)
	PutDealerPolicy(ctx context.Context, scope Scope, d DealerPolicy) error
}

// DealerPolicy returns the policy dealer's customers' messages obey and
// the dealer's override (whoever sees the dealer).
func (s *Service) DealerPolicy(ctx context.Context, dealer string) (Policy, DealerPolicy, error) {
	if dealer == HQOwner {
		return Policy{}, DealerPolicy{}, apperr.Invalid("dealer", "is required").ZhReason("必填")
	}
	_, scope, err := s.reader(ctx, dealer)
	if err != nil {
		return Policy{}, DealerPolicy{}, err
	}
	hq, err := s.store.Policy(ctx)
	if err != nil {
		return Policy{}, DealerPolicy{}, err
	}
	ds, err := s.store.DealerPolicies(ctx, scope, []string{dealer})
	if err != nil {
		return Policy{}, DealerPolicy{}, err
	}
	d := ds[dealer]
	d.Dealer = dealer
	return d.Apply(hq), d, nil
}

// SetDealerPolicy overrides the fields of mask (all when empty) with
// edit's and lets the fields of clear follow HQ's again (the dealer's CS
// manager, or HQ). The resulting policy must be valid.
func (s *Service) SetDealerPolicy(ctx context.Context, dealer string, edit Policy, mask, clear []string) (Policy, DealerPolicy, error) {
	if dealer == HQOwner {
		return Policy{}, DealerPolicy{}, apperr.Invalid("dealer", "is required").ZhReason("必填")
	}
	_, scope, err := s.writer(ctx, dealer)
	if err != nil {
		return Policy{}, DealerPolicy{}, err
	}
	for field, list := range map[string][]string{"update_mask": mask, "clear": clear} {
		for _, f := range list {
			if !slices.Contains(DealerPolicyFields, f) {
				return Policy{}, DealerPolicy{}, apperr.Invalid(field, fmt.Sprintf("cannot override field %q", f)).ZhReason("不能覆盖字段 " + f)
			}
		}
	}
	if len(mask) == 0 && len(clear) == 0 {
		mask = DealerPolicyFields
	}
	hq, err := s.store.Policy(ctx)
	if err != nil {
		return Policy{}, DealerPolicy{}, err
	}
	ds, err := s.store.DealerPolicies(ctx, scope, []string{dealer})
	if err != nil {
		return Policy{}, DealerPolicy{}, err
	}
	d := ds[dealer]
	d.Dealer = dealer
	for _, f := range mask {
		switch f {
		case "quiet_start":
			d.QuietStart = &edit.QuietStart
		case "quiet_end":
			d.QuietEnd = &edit.QuietEnd
		case "frequency_cap":
			d.FrequencyCap = &edit.FrequencyCap
		case "frequency_window":
			d.FrequencyWindow = &edit.FrequencyWindow
		}
	}
	for _, f := range clear {
		switch f {
		case "quiet_start":
			d.QuietStart = nil
		case "quiet_end":
			d.QuietEnd = nil
		case "frequency_cap":
			d.FrequencyCap = nil
		case "frequency_window":
			d.FrequencyWindow = nil
		}
	}
	eff := d.Apply(hq)
	if err := eff.Validate(); err != nil {
		return Policy{}, DealerPolicy{}, err
	}
	d.UpdateTime = s.now().UTC()
	if err := s.store.PutDealerPolicy(ctx, scope, d); err != nil {
		return Policy{}, DealerPolicy{}, err
	}
	return d.Apply(hq), d, nil
}
