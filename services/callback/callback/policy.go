package callback

import (
	"fmt"
	"slices"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
)

// Timing is one kind's timing.
type Timing struct {
	Kind   string
	Delay  time.Duration // source event to due time
	Window time.Duration // due time to deadline
}

// Complaint severities a dissatisfied callback's complaint may take (the
// complaint service's names).
const (
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
)

// Severities lists them, lowest first.
var Severities = []string{SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// SeverityRule is a band of scores: a dissatisfied callback scoring under
// ScoreBelow opens its complaint at Severity.
type SeverityRule struct {
	ScoreBelow float64
	Severity   string
}

// Policy is a callback policy: HQ's default (Dealer "") or a dealer's
// override. Durations are kept to the second.
type Policy struct {
	Dealer         string
	Timings        []Timing
	MaxAttempts    int
	RetryInterval  time.Duration
	CallingStart   string // HH:MM
	CallingEnd     string // HH:MM or 24:00
	ScoreThreshold float64
	// ComplaintSeverity is the severity of the complaint a dissatisfied
	// callback opens when no rule of ComplaintSeverityRules applies.
	ComplaintSeverity string
	// ComplaintSeverityRules, by ascending ScoreBelow: the first whose
	// ScoreBelow is above the callback's score sets the severity instead.
	ComplaintSeverityRules []SeverityRule
	Overridden             bool
	UpdateTime             time.Time
}

// DefaultPolicy is the built-in default, until HQ stores its own: 3 days
// after a repair order, 7 after a delivery, 3 attempts 24 h apart, calls
// between 09:00 and 21:00, a complaint under 80, HIGH under 50 and MEDIUM
// otherwise.
func DefaultPolicy() Policy {
	d := 24 * time.Hour
	return Policy{
		Timings: []Timing{
			{Kind3DC, 3 * d, 2 * d}, {Kind7DC, 7 * d, 3 * d}, {KindNewCustomer, 1 * d, 7 * d},
			{KindComplaintFollowUp, 1 * d, 3 * d}, {KindRevisitOverdue, 0, 7 * d}, {KindCampaign, 0, 7 * d},
		},
		MaxAttempts: 3, RetryInterval: d, CallingStart: "09:00", CallingEnd: "21:00", ScoreThreshold: 80,
		ComplaintSeverity: SeverityMedium, ComplaintSeverityRules: []SeverityRule{{ScoreBelow: 50, Severity: SeverityHigh}},
	}
}

// minutes parses HH:MM (24:00 allowed) to minutes after midnight.
func minutes(s string) (int, bool) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

// Validate checks the policy, fills in defaults for what is unset and
// cuts durations to whole seconds. Errors name the field under "policy.".
func (p *Policy) Validate() error {
	def := DefaultPolicy()
	if p.MaxAttempts == 0 {
		p.MaxAttempts = def.MaxAttempts
	}
	if p.RetryInterval == 0 {
		p.RetryInterval = def.RetryInterval
	}
	if p.CallingStart == "" {
		p.CallingStart = def.CallingStart
	}
	if p.CallingEnd == "" {
		p.CallingEnd = def.CallingEnd
	}
	if p.ComplaintSeverity == "" {
		p.ComplaintSeverity = def.ComplaintSeverity
	}
	if len(p.ComplaintSeverityRules) == 0 {
		p.ComplaintSeverityRules = slices.Clone(def.ComplaintSeverityRules)
	}
	p.RetryInterval = p.RetryInterval.Truncate(time.Second)
	start, okStart := minutes(p.CallingStart)
	end, okEnd := minutes(p.CallingEnd)
	switch {
	case p.MaxAttempts < 1 || p.MaxAttempts > 20:
		return apperr.Invalid("policy.max_attempts", "must be between 1 and 20").ZhReason("须在 1 到 20 之间")
	case p.RetryInterval <= 0:
		return apperr.Invalid("policy.retry_interval", "must be at least one second").ZhReason("至少为 1 秒")
	case !okStart || start >= 24*60:
		return apperr.Invalid("policy.calling_start", "must be HH:MM").ZhReason("格式须为 HH:MM")
	case !okEnd:
		return apperr.Invalid("policy.calling_end", "must be HH:MM or 24:00").ZhReason("格式须为 HH:MM 或 24:00")
	case start >= end:
		return apperr.Invalid("policy.calling_start", "must be before calling_end").ZhReason("须早于 calling_end")
	case p.ScoreThreshold < 0 || p.ScoreThreshold > 100:
		return apperr.Invalid("policy.score_threshold", "must be between 0 and 100").ZhReason("须在 0 到 100 之间")
	case !slices.Contains(Severities, p.ComplaintSeverity):
		return apperr.Invalid("policy.complaint_severity", "must be LOW, MEDIUM, HIGH or CRITICAL").ZhReason("须为 LOW、MEDIUM、HIGH 或 CRITICAL")
	case len(p.ComplaintSeverityRules) > maxSeverityRules:
		return apperr.Invalid("policy.complaint_severity_rules", fmt.Sprintf("must list at most %d rules", maxSeverityRules)).
			ZhReason(fmt.Sprintf("最多 %d 条", maxSeverityRules))
	}
	for i, r := range p.ComplaintSeverityRules {
		f := fmt.Sprintf("policy.complaint_severity_rules[%d]", i)
		switch {
		case r.ScoreBelow <= 0 || r.ScoreBelow > 100:
			return apperr.Invalid(f+".score_below", "must be above 0 and at most 100").ZhReason("须大于 0 且不超过 100")
		case i > 0 && r.ScoreBelow <= p.ComplaintSeverityRules[i-1].ScoreBelow:
			return apperr.Invalid(f+".score_below", "must be above the previous rule's").ZhReason("须大于上一条规则的分数")
		case !slices.Contains(Severities, r.Severity):
			return apperr.Invalid(f+".severity", "must be LOW, MEDIUM, HIGH or CRITICAL").ZhReason("须为 LOW、MEDIUM、HIGH 或 CRITICAL")
		}
	}
	seen := map[string]bool{}
	for i := range p.Timings {
		t := &p.Timings[i]
		f := fmt.Sprintf("policy.timings[%d]", i)
		t.Delay, t.Window = t.Delay.Truncate(time.Second), t.Window.Truncate(time.Second)
		switch {
		case !slices.Contains(Kinds, t.Kind):
			return apperr.Invalid(f+".kind", "is required").ZhReason("为必填项")
		case seen[t.Kind]:
			return apperr.Invalid(f+".kind", t.Kind+" is listed twice").ZhReason(t.Kind + " 重复")
		case t.Delay < 0:
			return apperr.Invalid(f+".delay", "must not be negative").ZhReason("不能为负")
		case t.Window <= 0:
			return apperr.Invalid(f+".window", "must be at least one second").ZhReason("至少为 1 秒")
		}
		seen[t.Kind] = true
	}
	return nil
}

// maxSeverityRules bounds the bands (the API's max_items).
const maxSeverityRules = 4

// Timing returns the policy's timing of kind.
func (p Policy) Timing(kind string) (Timing, bool) {
	for _, t := range p.Timings {
		if t.Kind == kind {
			return t, true
		}
	}
	return Timing{}, false
}

// Effective is the policy in force for a dealer: its override (nil when
// none) over HQ's default, kind by kind, over the built-in default for
// kinds neither lists. The result lists every kind.
func Effective(dealer string, hq Policy, override *Policy) Policy {
	out := hq
	if override != nil {
		out = *override
	}
	out.Dealer, out.Overridden, out.Timings = dealer, override != nil, nil
	builtin := DefaultPolicy()
	for _, k := range Kinds {
		var t Timing
		var ok bool
		if override != nil {
			t, ok = override.Timing(k)
		}
		if !ok {
			t, ok = hq.Timing(k)
		}
		if !ok {
			t, _ = builtin.Timing(k)
		}
		out.Timings = append(out.Timings, t)
	}
	return out
}
