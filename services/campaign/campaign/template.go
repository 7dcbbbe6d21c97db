package campaign

import (
	"regexp"
	"slices"
	"strings"

	"github.com/dealercare/dealercare/pkg/apperr"
)

// Locales of templates; zh-CN first.
const (
	LocaleZH = "zh-CN"
	LocaleEN = "en"
)

// Template is a campaign's message: a title (email subject, WeChat
// template id) and a body with {{variables}}.
type Template struct {
	Locale string `json:"locale"`
	Title  string `json:"title"`
	Body   string `json:"body"`
}

// Template variables.
const (
	VarCustomerName = "customer_name"
	VarPlate        = "plate"
	VarDueDate      = "due_date"
	VarDealerName   = "dealer_name"
	VarDealerPhone  = "dealer_phone"
	VarCampaignCode = "campaign_code"
)

// Variables lists what a template may use.
var Variables = []string{VarCustomerName, VarPlate, VarDueDate, VarDealerName, VarDealerPhone, VarCampaignCode}

var placeholder = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// Validate names the first unknown variable or unbalanced brace under
// prefix.
func (t Template) Validate(prefix string) error {
	if t.Locale != LocaleZH && t.Locale != LocaleEN {
		return apperr.Invalid(prefix+".locale", "must be zh-CN or en").ZhReason("须为 zh-CN 或 en")
	}
	for _, f := range []struct{ name, v string }{{"title", t.Title}, {"body", t.Body}} {
		for _, m := range placeholder.FindAllStringSubmatch(f.v, -1) {
			if !slices.Contains(Variables, m[1]) {
				return apperr.Invalid(prefix+"."+f.name, "unknown variable {{"+m[1]+"}}; known: "+strings.Join(Variables, ", ")).
					ZhReason("未知变量 {{" + m[1] + "}}；可用：" + strings.Join(Variables, "、"))
			}
		}
		rest := placeholder.ReplaceAllString(f.v, "")
		if strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
			return apperr.Invalid(prefix+"."+f.name, "has an unclosed {{ or a stray }}").ZhReason("含有未闭合的 {{ 或多余的 }}")
		}
	}
	return nil
}

// Render fills the body (or the title) with vars; a variable without a
// value renders empty.
func Render(text string, vars map[string]string) string {
	return placeholder.ReplaceAllStringFunc(text, func(m string) string {
		return vars[placeholder.FindStringSubmatch(m)[1]]
	})
}
