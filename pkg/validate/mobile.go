package validate

import (
	"fmt"
	"strings"
)

// Mobile validates a mobile number and returns it in E.164 ("+8613812345678").
//
// A mainland China number is 11 digits starting with 13 to 19, written bare
// or after +86, 0086 or 86. Any other number must carry its country code
// after + (or the international prefix 00): 8 to 15 digits whose first digit
// is not 0. Spaces, dashes and parentheses between digits are ignored, as
// are full-width forms typed with a Chinese input method.
func Mobile(s string) (string, error) {
	s = strings.TrimSpace(foldWidth(s))
	if s == "" {
		return "", empty()
	}
	var b strings.Builder
	plus := false
	for _, r := range s {
		switch {
		case isDigit(r):
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')':
		case r == '+' && b.Len() == 0 && !plus: // "+86 …" or "(+86) …"
			plus = true
		default:
			return "", problem(
				fmt.Sprintf("contains %s; only digits, spaces, dashes and a leading + are allowed", show(r)),
				fmt.Sprintf("含有非法字符%s，只能包含数字、空格、短横线和开头的+", showZh(r)))
		}
	}
	d := b.String()
	var intl string
	switch {
	case plus:
		intl = d
	case strings.HasPrefix(d, "00"):
		intl = d[2:]
	case len(d) == 13 && strings.HasPrefix(d, "86"):
		return mainland(d[2:], true)
	default:
		return mainland(d, false)
	}
	if rest, ok := strings.CutPrefix(intl, "86"); ok {
		return mainland(rest, true)
	}
	if intl != "" && intl[0] == '0' {
		return "", problem("the country code after + must not start with 0", "+后的国家代码不能以0开头")
	}
	if len(intl) < 8 || len(intl) > 15 {
		return "", problem(
			fmt.Sprintf("an international number has 8 to 15 digits after +, got %d", len(intl)),
			fmt.Sprintf("国际号码+后应为8至15位数字，实际为%d位", len(intl)))
	}
	return "+" + intl, nil
}

// mainland checks the 11 national digits of a China mobile number. Without
// an explicit +86 the reason also says how to write a foreign number.
func mainland(d string, prefixed bool) (string, error) {
	hint, hintZh := "", ""
	if !prefixed {
		hint, hintZh = " (write numbers outside mainland China with + and the country code)", "（中国大陆以外的号码请写+和国家代码）"
	}
	if len(d) != 11 {
		return "", problem(
			fmt.Sprintf("a mainland China mobile number has 11 digits, got %d%s", len(d), hint),
			fmt.Sprintf("中国大陆手机号应为11位数字，实际为%d位%s", len(d), hintZh))
	}
	if d[0] != '1' || d[1] < '3' {
		return "", problem(
			fmt.Sprintf("a mainland China mobile number starts with 13 to 19, got %s%s", d[:2], hint),
			fmt.Sprintf("中国大陆手机号应以13至19开头，实际为%s%s", d[:2], hintZh))
	}
	return "+86" + d, nil
}
