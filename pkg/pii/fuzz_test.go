package pii

import (
	"regexp"
	"testing"
)

// boundedMatch reports whether s still holds a number Scrub should mask.
func boundedMatch(s string, re *regexp.Regexp) bool {
	found := false
	replaceBounded(s, re, func(m string, _ []int) string { found = true; return m })
	return found
}

func FuzzScrub(f *testing.F) {
	for _, s := range []string{"call 13812345678", "+86 138-1234-5678", "身份证110101199003071233", "138-13912345678",
		"tel:13812345678,13912345678;", "20240607123456789012", "11010519491231002x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Scrub(in)
		if boundedMatch(out, idPattern) || boundedMatch(out, mobilePattern) {
			t.Fatalf("Scrub(%q) = %q still holds a mobile or ID number", in, out)
		}
		if again := Scrub(out); again != out {
			t.Fatalf("Scrub(%q) = %q, but Scrub of that is %q", in, out, again)
		}
		if len(out) != len(in) {
			// Masks replace digits one for one, so the length never changes.
			t.Fatalf("Scrub(%q) = %q changed the length", in, out)
		}
	})
}
