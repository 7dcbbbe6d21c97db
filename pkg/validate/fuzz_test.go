package validate

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkFuzzResult asserts the invariants every validator keeps: a rejection
// is a *Problem with both reasons, and an accepted value re-validates to
// itself.
func checkFuzzResult(t *testing.T, fn func(string) (string, error), in, out string, err error) bool {
	t.Helper()
	if err != nil {
		var p *Problem
		if !errors.As(err, &p) || p.Reason == "" || p.ReasonZh == "" {
			t.Fatalf("%q: error %#v is not a *Problem with both reasons", in, err)
		}
		if out != "" {
			t.Fatalf("%q: returned %q with an error", in, out)
		}
		return false
	}
	if !utf8.ValidString(out) {
		t.Fatalf("%q: normalized %q is not valid UTF-8", in, out)
	}
	again, err := fn(out)
	if err != nil || again != out {
		t.Fatalf("%q: normalized %q re-validates to %q, %v", in, out, again, err)
	}
	return true
}

func FuzzMobile(f *testing.F) {
	for _, s := range []string{"13812345678", "+86 138-1234-5678", "0086 13812345678", "8613812345678",
		"+1 (415) 555-2671", "004915112345678", "12812345678", "+0123", "１３８１２３４５６７８", "+", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Mobile(in)
		if !checkFuzzResult(t, Mobile, in, out, err) {
			return
		}
		digits := strings.TrimPrefix(out, "+")
		if len(digits) != len(out)-1 || len(digits) < 8 || len(digits) > 15 || digits[0] == '0' ||
			strings.Trim(digits, "0123456789") != "" {
			t.Fatalf("%q: %q is not E.164", in, out)
		}
		if strings.HasPrefix(digits, "86") && (len(digits) != 13 || digits[2] != '1' || digits[3] < '3') {
			t.Fatalf("%q: %q is not a mainland mobile", in, out)
		}
	})
}

// vinCheck recomputes the check digit independently of vinCheckDigit.
func vinCheck(v string) byte {
	const chars = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
	values := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9}
	weights := []int{8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2}
	sum := 0
	for i := range 17 {
		sum += values[strings.IndexByte(chars, v[i])] * weights[i]
	}
	return "0123456789X"[sum%11]
}

func FuzzVIN(f *testing.F) {
	for _, s := range []string{"1M8GDM9AXKP042788", "LSVAU218XN2183294", "lsvau2180n2183294", "1M8GDI9AXKP042788",
		"ＬＳＶＡＵ２１８ＸＮ２１８３２９４", "1M8GDM9AXKP04278é", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := VIN(in)
		if !checkFuzzResult(t, VIN, in, out, err) {
			return
		}
		if len(out) != 17 || strings.Trim(out, "0123456789ABCDEFGHJKLMNPRSTUVWXYZ") != "" {
			t.Fatalf("%q: %q is not 17 VIN characters", in, out)
		}
		if vinCheck(out) != out[8] {
			t.Fatalf("%q: %q has a wrong check digit", in, out)
		}
	})
}

func FuzzPlate(f *testing.F) {
	for _, s := range []string{"京A12345", "京A·12345", "粤Z1234港", "京A1234港", "京AD12345", "京A12345D", "使014578",
		"沪a 88888", "京Ａ１２３４５", "京AL12345", "A12345", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Plate(in)
		if !checkFuzzResult(t, Plate, in, out, err) {
			return
		}
		r := []rune(out)
		if len(r) != 7 && len(r) != 8 {
			t.Fatalf("%q: %q has %d characters", in, out, len(r))
		}
		if !strings.ContainsRune(plateProvinces+"使", r[0]) || strings.ContainsAny(out, " ·-.") || out != asciiUpper(out) {
			t.Fatalf("%q: %q is not a normalized plate", in, out)
		}
	})
}

// idCheckIndependent recomputes character 18 as sum(d_i * 2^(17-i)) mod 11.
func idCheckIndependent(v string) byte {
	sum, w := 0, 1
	for i := 16; i >= 0; i-- {
		w = w * 2 % 11
		sum += int(v[i]-'0') * w
	}
	return "10X98765432"[sum%11]
}

func FuzzIDNumber(f *testing.F) {
	for _, s := range []string{"11010519491231002X", "11010519491231002x", "110101199003071234", "440524188001010014",
		"91156219850615003X", "110101199002301233", "１１０１０５１９４９１２３１００２Ｘ", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := IDNumber(in)
		if !checkFuzzResult(t, IDNumber, in, out, err) {
			return
		}
		if len(out) != 18 || strings.Trim(out[:17], "0123456789") != "" || idCheckIndependent(out) != out[17] {
			t.Fatalf("%q: %q is not an 18-character ID number with a valid check character", in, out)
		}
	})
}

func FuzzEmail(f *testing.F) {
	for _, s := range []string{"zhang.san@example.com", "Zhang.San@Example.COM", "user@例子.中国", "a..b@x.com", "a@1.2.3.4", "@", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Email(in)
		if !checkFuzzResult(t, Email, in, out, err) {
			return
		}
		if strings.Count(out, "@") != 1 || strings.TrimSpace(out) != out {
			t.Fatalf("%q: %q is not a bare address", in, out)
		}
	})
}
