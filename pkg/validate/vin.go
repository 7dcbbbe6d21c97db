package validate

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// vinWeights are the ISO 3779 / 49 CFR 565 position weights; position 9,
// the check digit itself, weighs 0.
var vinWeights = [17]int{8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2}

// vinValue transliterates a VIN character for the check digit; ok is false
// for a character a VIN cannot contain.
func vinValue(c byte) (int, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'A' && c <= 'H':
		return int(c-'A') + 1, true
	case c >= 'J' && c <= 'N':
		return int(c-'J') + 1, true
	case c == 'P':
		return 7, true
	case c == 'R':
		return 9, true
	case c >= 'S' && c <= 'Z':
		return int(c-'S') + 2, true
	}
	return 0, false // I, O, Q and anything else
}

// vinCheckDigit computes position 9 of a 17-character VIN made only of valid
// characters: the weighted sum modulo 11, with 10 written as 'X'.
func vinCheckDigit(v string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		n, _ := vinValue(v[i])
		sum += n * vinWeights[i]
	}
	if r := sum % 11; r != 10 {
		return byte('0' + r)
	}
	return 'X'
}

// VIN validates a vehicle identification number and returns it upper-cased.
//
// A VIN has 17 characters, digits and letters except I, O and Q, and
// character 9 is the check digit of ISO 3779 (North American scheme). China's
// GB 16735 requires the same check digit, so it is checked for every VIN;
// vehicles built for markets that do not use it (some European imports) are
// rejected and need correcting at the source.
func VIN(s string) (string, error) {
	v := asciiUpper(strings.TrimSpace(foldWidth(s)))
	if v == "" {
		return "", empty()
	}
	if n := utf8.RuneCountInString(v); n != 17 {
		return "", problem(
			fmt.Sprintf("must have 17 characters, got %d", n),
			fmt.Sprintf("应为17位字符，实际为%d位", n))
	}
	for i, r := range v { // 17 runes: if all are ASCII, i is also the position
		pos := utf8.RuneCountInString(v[:i]) + 1
		switch {
		case r == 'I' || r == 'O' || r == 'Q':
			return "", problem(
				fmt.Sprintf("character %d is %s; a VIN never contains I, O or Q", pos, show(r)),
				fmt.Sprintf("第%d位为%s；VIN不使用字母I、O、Q", pos, showZh(r)))
		case r >= utf8.RuneSelf:
			return "", problem(
				fmt.Sprintf("character %d is %s; a VIN contains only digits and letters A-Z", pos, show(r)),
				fmt.Sprintf("第%d位为%s；VIN只能包含数字和字母A-Z", pos, showZh(r)))
		default:
			if _, ok := vinValue(byte(r)); !ok {
				return "", problem(
					fmt.Sprintf("character %d is %s; a VIN contains only digits and letters A-Z", pos, show(r)),
					fmt.Sprintf("第%d位为%s；VIN只能包含数字和字母A-Z", pos, showZh(r)))
			}
		}
	}
	if want := vinCheckDigit(v); v[8] != want {
		return "", problem(
			fmt.Sprintf("character 9 must be the check digit '%c', got '%c'", want, v[8]),
			fmt.Sprintf("第9位应为校验位“%c”，实际为“%c”", want, v[8]))
	}
	return v, nil
}
