package pii

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
)

// RedactingHandler wraps h so that records never carry a mainland mobile
// number or resident ID number in clear. It is the safety net behind
// wrapping values in Mobile and IDNumber at the call site:
//   - string, number and []byte attributes whose key is mobile, phone,
//     phone_number, id_number, idcard or address (any case, with or without
//     '_' or '-') are masked whole with MaskMobile, MaskIDNumber or
//     MaskAddress;
//   - every mainland mobile number or ID number found in the message, any
//     other string attribute, an error, or the text or JSON form of any other
//     value is masked where it stands (see Scrub); a value masked that way is
//     logged as its scrubbed text.
//
// Attributes in groups and in WithAttrs are treated the same way.
func RedactingHandler(h slog.Handler) slog.Handler {
	if r, ok := h.(*redactingHandler); ok {
		return r
	}
	return &redactingHandler{next: h}
}

type redactingHandler struct {
	next slog.Handler
}

func (r *redactingHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return r.next.Enabled(ctx, level)
}

func (r *redactingHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, Scrub(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return r.next.Handle(ctx, out)
}

func (r *redactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = redactAttr(a)
	}
	return &redactingHandler{next: r.next.WithAttrs(red)}
}

func (r *redactingHandler) WithGroup(name string) slog.Handler {
	return &redactingHandler{next: r.next.WithGroup(name)}
}

// sensitiveKeys maps a normalized attribute key to its mask.
var sensitiveKeys = map[string]func(string) string{
	"mobile":      MaskMobile,
	"phone":       MaskMobile,
	"phonenumber": MaskMobile,
	"idnumber":    MaskIDNumber,
	"idcard":      MaskIDNumber,
	"address":     MaskAddress,
}

var keySeparators = strings.NewReplacer("_", "", "-", "")

func maskFor(key string) func(string) string {
	return sensitiveKeys[keySeparators.Replace(strings.ToLower(key))]
}

func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve() // runs LogValuers such as Mobile's
	mask := maskFor(a.Key)
	switch v.Kind() {
	case slog.KindGroup:
		attrs := v.Group()
		red := make([]slog.Attr, len(attrs))
		for i, g := range attrs {
			red[i] = redactAttr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(red...)}
	case slog.KindString:
		return slog.String(a.Key, redactString(v.String(), mask))
	case slog.KindInt64, slog.KindUint64, slog.KindFloat64:
		if s := v.String(); mask != nil {
			return slog.String(a.Key, mask(s))
		} else if t := Scrub(s); t != s {
			return slog.String(a.Key, t)
		}
	case slog.KindAny:
		if s, changed := redactAny(v.Any(), mask); changed {
			return slog.String(a.Key, s)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// redactString masks a value whole when its key says what it is, unless it
// is masked already (a Mobile's LogValue), and scrubs it in any case.
func redactString(s string, mask func(string) string) string {
	if mask != nil && !strings.Contains(s, "*") {
		return mask(s)
	}
	return Scrub(s)
}

// redactAny returns the text to log instead of x when x's printed form
// holds personal data. Handlers print an error by its message, []byte as
// text, and other values with MarshalText or fmt (text handler) or
// encoding/json (JSON handler); every form is checked, and the fmt form,
// scrubbed, replaces the value.
func redactAny(x any, mask func(string) string) (string, bool) {
	var forms []string
	switch x := x.(type) {
	case nil:
		return "", false
	case error:
		forms = []string{x.Error()}
	case []byte:
		forms = []string{string(x)}
	default:
		forms = []string{fmt.Sprintf("%+v", x)}
		if tm, ok := x.(encoding.TextMarshaler); ok {
			if b, err := tm.MarshalText(); err == nil {
				forms = append(forms, string(b))
			}
		}
		if b, err := json.Marshal(x); err == nil {
			forms = append(forms, string(b))
		}
	}
	if mask != nil {
		return redactString(forms[0], mask), true
	}
	for _, f := range forms {
		if Scrub(f) != f {
			return Scrub(forms[0]), true
		}
	}
	return "", false
}

var (
	// idPattern is an 18-character resident ID number: region, birth date
	// 18xx–20xx, sequence and check character.
	idPattern = regexp.MustCompile(`[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]`)
	// mobilePattern is a mainland mobile, optionally after +86, 0086 or 86
	// and with a space or dash between groups (138 1234 5678); group 1 is
	// the middle four digits.
	mobilePattern = regexp.MustCompile(`(?:(?:\+|00)?86[ -]?)?1[3-9][0-9]([ -]?[0-9]{4})[ -]?[0-9]{4}`)
)

// Scrub masks every mainland mobile number and resident ID number in free
// text and keeps the text around them: "call 138-1234-5678" → "call
// 138-****-5678", "ID 110101199003071234" → "ID 110***********1234". A match
// counts only when no digit touches it on either side, so longer numbers
// (order numbers, timestamps) stay intact.
func Scrub(s string) string {
	if !hasDigits(s, minMatchDigits) {
		return s // most log text: no regexp needed
	}
	s = replaceBounded(s, idPattern, func(m string, _ []int) string { return MaskIDNumber(m) })
	return replaceBounded(s, mobilePattern, func(m string, g []int) string {
		b := []byte(m)
		for i := g[2]; i < g[3]; i++ {
			if isDigit(b[i]) {
				b[i] = '*'
			}
		}
		return string(b)
	})
}

// minMatchDigits is the fewest ASCII digits a match of either pattern
// holds (a mobile has 11, an ID number 17 or 18), so text with fewer
// holds neither.
const minMatchDigits = 11

// hasDigits reports whether s holds at least n ASCII digits.
func hasDigits(s string, n int) bool {
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			if n--; n == 0 {
				return true
			}
		}
	}
	return false
}

// replaceBounded replaces each match of re that has no digit right before
// or after it with mask(match, submatch offsets relative to the match). An
// unbounded match is retried one byte further on, so a number inside a
// longer digit run is not missed when it stands alone later in that span.
func replaceBounded(s string, re *regexp.Regexp, mask func(match string, sub []int) string) string {
	var b strings.Builder
	last, pos := 0, 0
	for pos < len(s) {
		loc := re.FindStringSubmatchIndex(s[pos:])
		if loc == nil {
			break
		}
		start, end := pos+loc[0], pos+loc[1]
		if (start > 0 && isDigit(s[start-1])) || (end < len(s) && isDigit(s[end])) {
			pos = start + 1 // matches start with an ASCII byte
			continue
		}
		sub := make([]int, len(loc))
		for i, o := range loc {
			sub[i] = o - loc[0]
			if o < 0 {
				sub[i] = -1
			}
		}
		b.WriteString(s[last:start])
		b.WriteString(mask(s[start:end], sub))
		last, pos = end, end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
