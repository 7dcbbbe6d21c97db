// Package validate checks and normalizes the fields of the customer archive
// (mobile, VIN, plate, ID number, email, dates). Each validator returns the
// normalized value to store, or a *Problem saying exactly what is wrong in
// English and Chinese; the caller adds the field name, for example with
// apperr.Invalid(field, p.Reason).ZhReason(p.ReasonZh).
//
// Validators never echo a whole rejected value in a reason: the values are
// personal data and reasons end up in responses and logs.
package validate

import (
	"fmt"
	"strings"
	"unicode"
)

// Problem is why a value was rejected, in English and Chinese (zh-CN).
type Problem struct {
	Reason   string
	ReasonZh string
}

func (p *Problem) Error() string { return p.Reason }

func problem(reason, reasonZh string) *Problem {
	return &Problem{Reason: reason, ReasonZh: reasonZh}
}

func empty() error { return problem("must not be empty", "不能为空") }

// foldWidth maps full-width ASCII forms (Ａ, １, ＋, ＠ …) and the
// ideographic space, which Chinese input methods produce, to ASCII.
func foldWidth(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			return r - 0xFEE0
		case r == 0x3000:
			return ' '
		}
		return r
	}, s)
}

// asciiUpper upper-cases a–z only; strings.ToUpper would also turn runes
// such as 'ſ' or 'ı' into ASCII letters and accept them.
func asciiUpper(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

// show quotes one character for a reason; invisible ones as U+XXXX.
func show(r rune) string {
	if unicode.IsPrint(r) && r != '\'' {
		return "'" + string(r) + "'"
	}
	return fmt.Sprintf("%U", r)
}

// showZh quotes one character for a Chinese reason.
func showZh(r rune) string {
	if unicode.IsPrint(r) && r != '“' && r != '”' {
		return "“" + string(r) + "”"
	}
	return fmt.Sprintf("%U", r)
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }
