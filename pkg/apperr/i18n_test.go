package apperr

import "testing"

func TestParseAcceptLanguage(t *testing.T) {
	for header, want := range map[string]string{
		"":                           LangEN,
		"zh-CN":                      LangZH,
		"zh-CN,zh;q=0.9,en;q=0.8":    LangZH,
		"en-US,en;q=0.9,zh-CN;q=0.8": LangEN,
		"fr-FR, zh;q=0.5":            LangZH,
		"zh-Hans-CN":                 LangZH,
		"de":                         LangEN,
		"en;q=0.2, zh-cn;q=0.7":      LangZH,
		"zh-TW":                      LangEN, // traditional Chinese is not offered
	} {
		if got := ParseAcceptLanguage(header); got != want {
			t.Errorf("ParseAcceptLanguage(%q) = %s, want %s", header, got, want)
		}
	}
}

func TestLocalized(t *testing.T) {
	e := Invalid("dealer.name", "is required").ZhReason("为必填项")
	if got := e.Localized(LangZH); got != "dealer.name: 为必填项" {
		t.Errorf("zh = %q", got)
	}
	if got := e.Localized(LangEN); got != "dealer.name: is required" {
		t.Errorf("en = %q", got)
	}
	if got := e.Violations[0].LocalizedReason(LangZH); got != "为必填项" {
		t.Errorf("zh reason = %q", got)
	}
	nf := NotFound("dealer", "经销商", "SH001")
	if nf.Localized(LangZH) != "经销商“SH001”不存在" || nf.Localized(LangEN) != `dealer "SH001" not found` {
		t.Errorf("not found = %q / %q", nf.Localized(LangZH), nf.Localized(LangEN))
	}
	if got := Errorf(ECONFLICT, "x").Localized(LangZH); got != "x" {
		t.Errorf("fallback = %q", got)
	}
}
