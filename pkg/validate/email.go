package validate

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Email validates a bare address ("name@example.com", no display name) and
// returns it trimmed with the domain lower-cased; the local part keeps its
// case, which the receiving server may treat as significant.
//
// The local part is an RFC 5322 dot-atom (no quoted strings); the domain has
// at least two labels of letters (any script), digits and inner hyphens, and
// a top-level label that is not all digits (no IP literals).
func Email(s string) (string, error) {
	v := strings.TrimSpace(foldWidth(s))
	if v == "" {
		return "", empty()
	}
	if n := utf8.RuneCountInString(v); n > 254 {
		return "", problem(
			fmt.Sprintf("is %d characters long; an email address has at most 254", n),
			fmt.Sprintf("长度为%d个字符；电子邮箱地址最多254个字符", n))
	}
	at := strings.LastIndexByte(v, '@')
	if at < 0 {
		return "", problem("must contain @, as in name@example.com", "应包含@，例如 name@example.com")
	}
	local, domain := v[:at], strings.ToLower(v[at+1:])
	switch {
	case local == "":
		return "", problem("has nothing before @", "@前面不能为空")
	case len(local) > 64:
		return "", problem("has more than 64 characters before @", "@前面的部分不能超过64个字符")
	case local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, ".."):
		return "", problem("must not start or end with a dot before @, or contain two dots in a row",
			"@前面的部分不能以点开头或结尾，也不能有连续的点")
	}
	for _, r := range local {
		if !isAtext(r) {
			return "", problem(
				fmt.Sprintf("contains %s before @, which is not allowed", show(r)),
				fmt.Sprintf("@前面含有不允许的字符%s", showZh(r)))
		}
	}
	if domain == "" {
		return "", problem("has no domain after @", "@后面缺少域名")
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return "", problem("the domain after @ needs a dot, as in example.com", "@后面的域名应包含点，例如 example.com")
	}
	for _, l := range labels {
		if l == "" || utf8.RuneCountInString(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", problem("the domain after @ has an empty, too long or badly hyphenated part",
				"@后面的域名有空的、过长的或以短横线开头/结尾的部分")
		}
		for _, r := range l {
			if !(r == '-' || isDigit(r) || unicode.IsLetter(r) || unicode.Is(unicode.Mn, r)) {
				return "", problem(
					fmt.Sprintf("the domain after @ contains %s, which is not allowed", show(r)),
					fmt.Sprintf("@后面的域名含有不允许的字符%s", showZh(r)))
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", problem("the domain after @ must end with a name such as .com, not a number",
			"@后面的域名应以名称（如.com）结尾，而不是数字")
	}
	return local + "@" + domain, nil
}

// isAtext reports an RFC 5322 atext character, or a dot, or a non-ASCII
// letter (RFC 6531 internationalized addresses).
func isAtext(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', isDigit(r), r == '.':
		return true
	case r < utf8.RuneSelf:
		return strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}
