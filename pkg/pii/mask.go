package pii

import (
	"strings"
	"unicode/utf8"

	"github.com/dealercare/dealercare/pkg/validate"
)

// minHidden is how many runes a mask hides at least (all of a shorter value).
const minHidden = 4

// keep shows the first head and last tail runes of s and stars the rest,
// one star per rune. It shows fewer (head first) when that would hide fewer
// than minHidden runes, so short or truncated values are never shown whole.
func keep(s string, head, tail int) string {
	r := []rune(s)
	n := len(r)
	for n-head-tail < min(minHidden, n) {
		if head > 0 {
			head--
		} else {
			tail--
		}
	}
	return string(r[:head]) + strings.Repeat("*", n-head-tail) + string(r[n-tail:])
}

// MaskMobile shows a mobile number's country code, the first 3 and the last
// 4 digits of the national number: "+8613812345678" → "+86 138****5678".
// Any format validate.Mobile accepts is normalized first; anything else
// shows at most its last 4 characters.
func MaskMobile(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	e164, err := validate.Mobile(s)
	if err != nil {
		return keep(s, 0, 4)
	}
	digits := e164[1:]
	cc := countryCodeLen(digits)
	return "+" + digits[:cc] + " " + keep(digits[cc:], 3, 4)
}

// twoDigitCountryCodes are the ITU E.164 country codes of two digits; 1 and
// 7 are the one-digit codes and every other code has three digits.
var twoDigitCountryCodes = map[string]bool{
	"20": true, "27": true, "30": true, "31": true, "32": true, "33": true, "34": true, "36": true, "39": true,
	"40": true, "41": true, "43": true, "44": true, "45": true, "46": true, "47": true, "48": true, "49": true,
	"51": true, "52": true, "53": true, "54": true, "55": true, "56": true, "57": true, "58": true,
	"60": true, "61": true, "62": true, "63": true, "64": true, "65": true, "66": true,
	"81": true, "82": true, "84": true, "86": true,
	"90": true, "91": true, "92": true, "93": true, "94": true, "95": true, "98": true,
}

// countryCodeLen is the length of the country code opening E.164 digits
// (E.164 codes are prefix-free).
func countryCodeLen(digits string) int {
	switch {
	case digits[0] == '1' || digits[0] == '7':
		return 1
	case twoDigitCountryCodes[digits[:2]]:
		return 2
	}
	return 3
}

// MaskIDNumber shows the first 3 and the last 4 characters:
// "110101199003071234" → "110***********1234". The birth date is hidden.
func MaskIDNumber(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	return keep(s, 3, 4)
}

// MaskName shows the first rune (the family name of a Chinese name) and a
// star for every other rune: "张三丰" → "张**". A one-rune name is "*".
func MaskName(s string) string {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n <= 1 {
		return strings.Repeat("*", n)
	}
	first, _ := utf8.DecodeRuneInString(s)
	return string(first) + strings.Repeat("*", n-1)
}

// MaskAddress shows the first 6 runes (about province, city and district)
// and "****", whatever the length. A shorter address shows half its runes
// at most, so "朝阳区建国路8号" does not come out whole.
func MaskAddress(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	r := []rune(s)
	return string(r[:min(6, len(r)/2)]) + "****"
}

// MaskEmail shows the first rune of the local part and the domain:
// "zhangsan@example.com" → "z***@example.com". The star count does not
// reveal the length. A value without @ is "***".
func MaskEmail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return "***"
	}
	local, domain := s[:at], s[at:]
	if utf8.RuneCountInString(local) < 2 {
		return "***" + domain
	}
	first, _ := utf8.DecodeRuneInString(local)
	return string(first) + "***" + domain
}
