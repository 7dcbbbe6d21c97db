package importer_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Test data: valid VINs (ISO 3779 check digit), mainland mobiles, plates
// and resident ID numbers (GB 11643 check character), deterministic per
// index.

var vinWeights = [17]int{8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2}

func vinValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'H':
		return int(c-'A') + 1
	case c >= 'J' && c <= 'N':
		return int(c-'J') + 1
	case c == 'P':
		return 7
	case c == 'R':
		return 9
	}
	return int(c-'S') + 2 // S-Z
}

// withCheckDigit sets character 9 of a 17-character VIN.
func withCheckDigit(v string) string {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += vinValue(v[i]) * vinWeights[i]
	}
	d := byte('0' + sum%11)
	if sum%11 == 10 {
		d = 'X'
	}
	return v[:8] + string(d) + v[9:]
}

const vinChars = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"

var wmis = []string{"LSV", "LFV", "LVS", "LGB", "LBV", "LHG", "LVH", "LSG"}

// testVIN is a valid VIN: a manufacturer, random descriptor, model year,
// plant and a serial, as real VINs are.
func testVIN(i int, r *rand.Rand) string {
	var b strings.Builder
	b.WriteString(wmis[i%len(wmis)])
	for range 5 {
		b.WriteByte(vinChars[r.IntN(len(vinChars))])
	}
	b.WriteByte('0')                      // check digit, set below
	b.WriteByte("ABCDEFGHJKLMNPRS"[i%16]) // model year
	b.WriteByte(vinChars[r.IntN(23)])     // plant
	fmt.Fprintf(&b, "%06d", i%1000000)
	return withCheckDigit(b.String())
}

func testMobile(r *rand.Rand) string {
	return fmt.Sprintf("1%d%09d", 3+r.IntN(7), r.IntN(1000000000))
}

const plateProvinces = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
const plateLetters = "ABCDEFGHJKLMNPQRSTUVWXYZ"

func testPlate(r *rand.Rand) string {
	p := []rune(plateProvinces)
	s := string(p[r.IntN(len(p))]) + string(plateLetters[r.IntN(len(plateLetters))])
	for range 5 {
		if r.IntN(3) == 0 {
			s += string(plateLetters[r.IntN(len(plateLetters))])
		} else {
			s += string(rune('0' + r.IntN(10)))
		}
	}
	return s
}

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

func testIDNumber(r *rand.Rand) string {
	d := fmt.Sprintf("44030%d%04d%02d%02d%03d", r.IntN(10), 1950+r.IntN(50), 1+r.IntN(12), 1+r.IntN(28), r.IntN(1000))
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(d[i]-'0') * idWeights[i]
	}
	return d + string("10X98765432"[sum%11])
}

var surnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
var given = []rune("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉梅建华志强国庆春梅海燕文博子涵浩然思远")

func testName(r *rand.Rand) string {
	n := string(surnames[r.IntN(len(surnames))]) + string(given[r.IntN(len(given))])
	if r.IntN(2) == 0 {
		n += string(given[r.IntN(len(given))])
	}
	return n
}

// testCSV writes n valid rows of a DMS export with Chinese headers: one
// customer and one vehicle per row, half of them with an ID number.
func testCSV(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 42))
	var b strings.Builder
	b.WriteString("客户编号,姓名,手机号,性别,出生日期,身份证号,地址,客户级别,客户类型,车辆编号,车架号,车牌号,品牌,车型,年款,购车日期\n")
	tiers := []string{"关键", "常规", "潜力", "临时"}
	brands := []string{"大众", "丰田", "本田", "别克", "日产", "奥迪"}
	for i := range n {
		gender := "男"
		if r.IntN(2) == 0 {
			gender = "女"
		}
		id := ""
		if i%2 == 0 {
			id = testIDNumber(r)
		}
		fmt.Fprintf(&b, "C%08d,%s,%s,%s,%04d-%02d-%02d,%s,广东省深圳市南山区科技园%d栋%d号,%s,个人,V%08d,%s,%s,%s,车型%d,%d,%04d-%02d-%02d\n",
			i, testName(r), testMobile(r), gender, 1950+r.IntN(50), 1+r.IntN(12), 1+r.IntN(28), id, r.IntN(100), r.IntN(1000),
			tiers[r.IntN(len(tiers))], i, testVIN(i, r), testPlate(r), brands[r.IntN(len(brands))], r.IntN(30),
			2015+r.IntN(10), 2015+r.IntN(10), 1+r.IntN(12), 1+r.IntN(28))
	}
	return b.String()
}
