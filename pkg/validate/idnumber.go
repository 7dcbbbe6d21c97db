package validate

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// idWeights are the GB 11643-1999 weights (2^(17-i) mod 11) of the first
// 17 digits; idCheck maps the weighted sum modulo 11 to the check character.
var (
	idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	idCheck   = "10X98765432"
)

// idRegions are the first two digits of a resident ID: mainland provinces,
// 71 (Taiwan), 81–83 (residence permits of Hong Kong, Macau and Taiwan
// residents). Permanent residence cards of foreigners issued since 2023 start
// with 9 and follow the same layout and checksum.
var idRegions = map[string]bool{
	"11": true, "12": true, "13": true, "14": true, "15": true,
	"21": true, "22": true, "23": true,
	"31": true, "32": true, "33": true, "34": true, "35": true, "36": true, "37": true,
	"41": true, "42": true, "43": true, "44": true, "45": true, "46": true,
	"50": true, "51": true, "52": true, "53": true, "54": true,
	"61": true, "62": true, "63": true, "64": true, "65": true,
	"71": true, "81": true, "82": true, "83": true,
}

// idCheckChar computes character 18 from 17 ASCII digits.
func idCheckChar(d string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(d[i]-'0') * idWeights[i]
	}
	return idCheck[sum%11]
}

// IDNumber validates an 18-character Chinese resident identity card number
// (GB 11643) and returns it with an upper-case X.
//
// It checks the region (first two digits), the birth date in characters
// 7–14 (a real date from 1900 on) and the check character. The 15-digit
// cards withdrawn in 2013 are not accepted. A birth date in the future is
// not caught here: that needs a clock.
func IDNumber(s string) (string, error) {
	v := asciiUpper(strings.TrimSpace(foldWidth(s)))
	if v == "" {
		return "", empty()
	}
	if n := utf8.RuneCountInString(v); n != 18 {
		return "", problem(
			fmt.Sprintf("must have 18 characters, got %d", n),
			fmt.Sprintf("应为18位，实际为%d位", n))
	}
	for i, r := range v {
		pos := utf8.RuneCountInString(v[:i]) + 1
		switch {
		case pos < 18 && !isDigit(r):
			return "", problem(
				fmt.Sprintf("character %d must be a digit, got %s", pos, show(r)),
				fmt.Sprintf("第%d位应为数字，实际为%s", pos, showZh(r)))
		case pos == 18 && !isDigit(r) && r != 'X':
			return "", problem(
				fmt.Sprintf("character 18 must be a digit or X, got %s", show(r)),
				fmt.Sprintf("第18位应为数字或X，实际为%s", showZh(r)))
		}
	}
	if !idRegions[v[:2]] && v[0] != '9' {
		return "", problem(
			fmt.Sprintf("characters 1-2 must be a province code such as 11 or 44, got %s", v[:2]),
			fmt.Sprintf("第1-2位应为省级行政区代码（如11、44），实际为%s", v[:2]))
	}
	birth, err := time.Parse("20060102", v[6:14])
	if err != nil || birth.Year() < 1900 {
		return "", problem(
			"characters 7-14 must be a birth date YYYYMMDD from 1900 on",
			"第7-14位应为1900年以后的出生日期（YYYYMMDD）")
	}
	if want := idCheckChar(v); v[17] != want {
		return "", problem(
			fmt.Sprintf("character 18 must be the check character '%c', got '%c'", want, v[17]),
			fmt.Sprintf("第18位应为校验码“%c”，实际为“%c”", want, v[17]))
	}
	return v, nil
}
