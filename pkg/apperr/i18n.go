package apperr

import (
	"context"
	"strconv"
	"strings"
)

// Languages the API answers in (SPEC: zh-CN and en, by Accept-Language).
const (
	LangEN = "en"
	LangZH = "zh-CN"
)

// ParseAcceptLanguage picks zh-CN or en from an Accept-Language header by
// quality; English is the default.
func ParseAcceptLanguage(header string) string {
	best, bestQ := LangEN, -1.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		lang := ""
		switch t := strings.ToLower(strings.TrimSpace(tag)); {
		case t == "zh" || strings.HasPrefix(t, "zh-cn") || strings.HasPrefix(t, "zh-hans") || strings.HasPrefix(t, "zh-sg"):
			lang = LangZH
		case t == "en" || strings.HasPrefix(t, "en-"):
			lang = LangEN
		}
		if lang != "" && q > bestQ {
			best, bestQ = lang, q
		}
	}
	return best
}

type langKey struct{}

// NewContextWithLang records the caller's language.
func NewContextWithLang(ctx context.Context, lang string) context.Context {
	return context.WithValue(ctx, langKey{}, lang)
}

// LangFromContext returns the caller's language, English by default.
func LangFromContext(ctx context.Context) string {
	if l, ok := ctx.Value(langKey{}).(string); ok {
		return l
	}
	return LangEN
}

// Zh adds the Chinese message of an error built with Errorf or NotFound.
func (e *Error) Zh(msg string) *Error {
	e.MessageZh = msg
	return e
}

// ZhReason adds the Chinese reason of a one-field error built with Invalid.
func (e *Error) ZhReason(reason string) *Error {
	if len(e.Violations) == 1 {
		e.Violations[0].ReasonZh = reason
		e.MessageZh = e.Violations[0].Field + ": " + reason
	}
	return e
}

// Localized returns the message in lang, falling back to English.
func (e *Error) Localized(lang string) string {
	if lang == LangZH && e.MessageZh != "" {
		return e.MessageZh
	}
	return e.Message
}

// LocalizedReason returns a violation's reason in lang.
func (v FieldViolation) LocalizedReason(lang string) string {
	if lang == LangZH && v.ReasonZh != "" {
		return v.ReasonZh
	}
	return v.Reason
}
