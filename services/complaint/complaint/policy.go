package complaint

import (
	"fmt"
	"slices"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
)

// Target is the SLA of one severity.
type Target struct {
	Severity   string        `json:"severity"`
	Response   time.Duration `json:"response"`
	Resolution time.Duration `json:"resolution"`
}

// Policy is an SLA policy: HQ's default or a dealer's override.
type Policy struct {
	Dealer       string // "" for the default
	Targets      []Target
	WarningRatio float64
	Overridden   bool
	UpdateTime   time.Time
	// Version numbers each write of any policy (HQ's default or a
	// dealer's override); 0 is DefaultPolicy, the built-in one.
	Version int64
}

// DefaultPolicy is the built-in default until HQ sets one: critical 2 h /
// 1 day, high 4 h / 2 days, medium 8 h / 3 days, low 1 day / 5 days of
// business time; warn at 80 %.
func DefaultPolicy() Policy {
	h := time.Hour
	return Policy{WarningRatio: 0.8, Targets: []Target{
		{"low", 8 * h, 40 * h}, {"medium", 8 * h, 24 * h}, {"high", 4 * h, 16 * h}, {"critical", 2 * h, 8 * h},
	}}
}

// Validate checks every severity has positive targets.
func (p *Policy) Validate() error {
	if p.WarningRatio == 0 {
		p.WarningRatio = 0.8
	}
	if p.WarningRatio <= 0 || p.WarningRatio >= 1 {
		return apperr.Invalid("policy.warning_ratio", "must be between 0 and 1").ZhReason("须在 0 到 1 之间")
	}
	seen := map[string]bool{}
	for i, t := range p.Targets {
		if !slices.Contains(severities, t.Severity) {
			return apperr.Invalid(fmt.Sprintf("policy.targets[%d].severity", i), "is required").ZhReason("为必填项")
		}
		if seen[t.Severity] {
			return apperr.Invalid(fmt.Sprintf("policy.targets[%d].severity", i), "listed twice").ZhReason("重复")
		}
		seen[t.Severity] = true
		if t.Response <= 0 || t.Resolution <= 0 {
			return apperr.Invalid(fmt.Sprintf("policy.targets[%d]", i), "response and resolution must be positive").ZhReason("响应与解决时限须大于 0")
		}
		if t.Response > t.Resolution {
			return apperr.Invalid(fmt.Sprintf("policy.targets[%d].response", i), "must not exceed the resolution target").ZhReason("不能超过解决时限")
		}
	}
	for _, s := range severities {
		if !seen[s] {
			return apperr.Invalid("policy.targets", "missing severity "+s).ZhReason("缺少严重度 " + s)
		}
	}
	return nil
}

// For returns the target of a severity.
func (p Policy) For(severity string) Target {
	for _, t := range p.Targets {
		if t.Severity == severity {
			return t
		}
	}
	return Target{Severity: severity}
}
