package validate

import (
	"fmt"
	"strings"
)

const (
	// plateProvinces are the 31 province-level abbreviations of mainland China.
	plateProvinces = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
	// plateSuffixes replace the last serial character of special plates:
	// driving-school (学), police (警), trailer (挂), Hong Kong and Macau
	// cross-border (港, 澳), consulate (领), embassy (使), test (试) and
	// oversize (超) vehicles.
	plateSuffixes = "学警挂港澳领使试超"
	// smallNEVClasses may open the serial of a small new-energy plate: D
	// (battery electric) and F (other new-energy) from GA 36-2018, and the
	// letters added when those ran out: A, B, C, E for battery electric and
	// G, H, J, K for the rest.
	smallNEVClasses = "DABCEFGHJK"
)

// Plate validates a Chinese vehicle plate and returns it upper-cased without
// separators ("京A·12345" and "京a 12345" become "京A12345").
//
// Accepted formats (GA 36-2018):
//   - regular: province + authority letter + 5 serial characters, e.g. 京A12345, 沪AB123C;
//   - special: province + authority letter + 4 serial characters + one of
//     学 警 挂 港 澳 领 使 试 超, e.g. 京A1234学; 港 and 澳 only on 粤Z plates;
//   - small new-energy: province + authority letter + D or F (or A–K, see
//     smallNEVClasses) + a serial character + 4 digits, e.g. 京AD12345, 粤BFA1234;
//   - large new-energy: province + authority letter + 5 digits + D or F, e.g. 京A12345D;
//   - embassy: 使 + 6 digits, e.g. 使014578.
//
// The authority letter and serial letters exclude I and O. Military, armed
// police (WJ), civil aviation and emergency (应急) plates are not accepted.
func Plate(s string) (string, error) {
	p := asciiUpper(strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\u00B7', '\u2022', '\u2027', '\u30FB', '-', '.':
			return -1 // middle dots and other separators people type
		}
		return r
	}, foldWidth(s)))
	if p == "" {
		return "", empty()
	}
	r := []rune(p)
	if r[0] == '使' {
		return embassyPlate(r)
	}
	if !strings.ContainsRune(plateProvinces, r[0]) {
		return "", problem(
			fmt.Sprintf("character 1 must be a province abbreviation such as 京 or 粤, got %s", show(r[0])),
			fmt.Sprintf("第1位应为省份简称（如京、粤），实际为%s", showZh(r[0])))
	}
	if len(r) != 7 && len(r) != 8 {
		return "", problem(
			fmt.Sprintf("has %d characters; a plate has 7, or 8 for a new-energy vehicle", len(r)),
			fmt.Sprintf("共%d位；车牌应为7位，新能源汽车为8位", len(r)))
	}
	if !isPlateLetter(r[1]) {
		return "", problem(
			fmt.Sprintf("character 2 must be the issuing authority's letter (A-Z except I and O), got %s", show(r[1])),
			fmt.Sprintf("第2位应为发牌机关代号（A-Z，不含I和O），实际为%s", showZh(r[1])))
	}
	var err error
	if len(r) == 7 {
		err = regularPlate(r)
	} else {
		err = newEnergyPlate(r)
	}
	if err != nil {
		return "", err
	}
	return string(r), nil
}

func isPlateLetter(r rune) bool { return r >= 'A' && r <= 'Z' && r != 'I' && r != 'O' }

func isPlateSerial(r rune) bool { return isDigit(r) || isPlateLetter(r) }

func serialProblem(pos int, r rune) error {
	return problem(
		fmt.Sprintf("character %d is %s; plate serials use digits and letters except I and O", pos, show(r)),
		fmt.Sprintf("第%d位为%s；号牌序号只能使用数字和字母（不含I和O）", pos, showZh(r)))
}

func regularPlate(r []rune) error {
	for i := 2; i < 6; i++ {
		if !isPlateSerial(r[i]) {
			return serialProblem(i+1, r[i])
		}
	}
	last := r[6]
	switch {
	case isPlateSerial(last):
		return nil
	case (last == '港' || last == '澳') && (r[0] != '粤' || r[1] != 'Z'):
		return problem(
			fmt.Sprintf("only 粤Z plates end with %s", show(last)),
			fmt.Sprintf("只有粤Z号牌以%s结尾", showZh(last)))
	case strings.ContainsRune(plateSuffixes, last):
		return nil
	case last < 0x80:
		return serialProblem(7, last)
	}
	return problem(
		fmt.Sprintf("character 7 is %s; a plate ends with a digit, a letter or one of %s", show(last), plateSuffixes),
		fmt.Sprintf("第7位为%s；车牌最后一位应为数字、字母或%s之一", showZh(last), plateSuffixes))
}

func newEnergyPlate(r []rune) error {
	digits := func(from, to int, kind, kindZh string) error {
		for i := from; i <= to; i++ {
			if !isDigit(r[i]) {
				return problem(
					fmt.Sprintf("character %d of a %s new-energy plate must be a digit, got %s", i+1, kind, show(r[i])),
					fmt.Sprintf("%s新能源号牌第%d位应为数字，实际为%s", kindZh, i+1, showZh(r[i])))
			}
		}
		return nil
	}
	switch c := r[2]; {
	case c < 0x80 && strings.ContainsRune(smallNEVClasses, c):
		if !isPlateSerial(r[3]) {
			return serialProblem(4, r[3])
		}
		return digits(4, 7, "small", "小型")
	case isDigit(c):
		if err := digits(2, 6, "large", "大型"); err != nil {
			return err
		}
		if r[7] != 'D' && r[7] != 'F' {
			return problem(
				fmt.Sprintf("character 8 of a large new-energy plate must be D or F, got %s", show(r[7])),
				fmt.Sprintf("大型新能源号牌第8位应为D或F，实际为%s", showZh(r[7])))
		}
		return nil
	default:
		return problem(
			fmt.Sprintf("character 3 of a new-energy plate must be D or F (or A, B, C, E, G, H, J, K) on a small vehicle, or a digit on a large one, got %s", show(c)),
			fmt.Sprintf("新能源号牌第3位：小型车应为D或F（或A、B、C、E、G、H、J、K），大型车应为数字，实际为%s", showZh(c)))
	}
}

// embassyPlate checks 使 + 3-digit mission code + 3-digit serial.
func embassyPlate(r []rune) (string, error) {
	ok := len(r) == 7
	for i := 1; ok && i < 7; i++ {
		ok = isDigit(r[i])
	}
	if !ok {
		return "", problem("an embassy plate is 使 followed by 6 digits", "使馆号牌应为“使”加6位数字")
	}
	return string(r), nil
}
