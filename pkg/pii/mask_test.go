package pii

import "testing"

func TestMasks(t *testing.T) {
	for _, c := range []struct {
		name string
		mask func(string) string
		in   string
		want string
	}{
		{"mobile", MaskMobile, "+8613812345678", "+86 138****5678"},
		{"mobile", MaskMobile, "138 1234 5678", "+86 138****5678"},
		{"mobile", MaskMobile, "+442079460958", "+44 20****0958"}, // 10 national digits: 4 stay hidden
		{"mobile", MaskMobile, "+14155552671", "+1 41****2671"},
		{"mobile", MaskMobile, "+85291234567", "+852 ****4567"},
		{"mobile", MaskMobile, "+97150123456", "+971 ****3456"},
		{"mobile", MaskMobile, "", ""},
		{"mobile", MaskMobile, "  ", ""},
		{"mobile", MaskMobile, "12812345678", "*******5678"}, // invalid: last 4 at most
		{"mobile", MaskMobile, "12345", "****5"},
		{"mobile", MaskMobile, "123", "***"},
		{"mobile", MaskMobile, "电话一二三四五六七", "*****四五六七"},

		{"id", MaskIDNumber, "110101199003071234", "110***********1234"},
		{"id", MaskIDNumber, "11010519491231002X", "110***********002X"},
		{"id", MaskIDNumber, "", ""},
		{"id", MaskIDNumber, "1234567", "****567"},
		{"id", MaskIDNumber, "12345678", "****5678"},
		{"id", MaskIDNumber, "123456789", "1****6789"},
		{"id", MaskIDNumber, "12", "**"},

		{"name", MaskName, "张三丰", "张**"},
		{"name", MaskName, "张三", "张*"},
		{"name", MaskName, "欧阳娜娜", "欧***"},
		{"name", MaskName, "张", "*"},
		{"name", MaskName, "", ""},
		{"name", MaskName, " 李四 ", "李*"},
		{"name", MaskName, "José Müller", "J**********"},
		{"name", MaskName, "👩‍🔧x", "👩***"},

		{"address", MaskAddress, "北京市朝阳区建国路88号院3号楼", "北京市朝阳区****"},
		{"address", MaskAddress, "北京市朝阳区建国路88号", "北京市朝阳区****"},
		{"address", MaskAddress, "北京市朝阳区建国路8号", "北京市朝阳****"}, // 11 runes: half
		{"address", MaskAddress, "朝阳区建国路8号", "朝阳区建****"},
		{"address", MaskAddress, "88 Jianguo Road", "88 Jia****"},
		{"address", MaskAddress, "北京", "北****"},
		{"address", MaskAddress, "京", "****"},
		{"address", MaskAddress, "", ""},

		{"email", MaskEmail, "zhangsan@example.com", "z***@example.com"},
		{"email", MaskEmail, "a@example.com", "***@example.com"},
		{"email", MaskEmail, "张三@例子.中国", "张***@例子.中国"},
		{"email", MaskEmail, "a@b@example.com", "a***@example.com"},
		{"email", MaskEmail, "@example.com", "***@example.com"},
		{"email", MaskEmail, "not an address", "***"},
		{"email", MaskEmail, "", ""},
	} {
		if got := c.mask(c.in); got != c.want {
			t.Errorf("Mask %s(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

func TestKeepHidesAtLeastFour(t *testing.T) {
	for n := 0; n <= 20; n++ {
		s := ""
		for i := 0; i < n; i++ {
			s += "9"
		}
		got := keep(s, 3, 4)
		stars := 0
		for _, r := range got {
			if r == '*' {
				stars++
			}
		}
		if len(got) != n || stars < min(4, n) {
			t.Errorf("keep(%d digits) = %q", n, got)
		}
	}
}
