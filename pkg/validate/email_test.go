package validate

import (
	"strings"
	"testing"
)

func TestEmailValid(t *testing.T) {
	runValid(t, Email, []validCase{
		{"zhang.san@example.com", "zhang.san@example.com"},
		{"Zhang.San@Example.COM", "Zhang.San@example.com"},
		{"  a+tag@mail.example.cn ", "a+tag@mail.example.cn"},
		{"o'brien@example.ie", "o'brien@example.ie"},
		{"user@例子.中国", "user@例子.中国"},
		{"ｚｓ＠ｅｘａｍｐｌｅ．ｃｏｍ", "zs@example.com"},
		{"x@sub-domain.example.com", "x@sub-domain.example.com"},
	})
}

func TestEmailInvalid(t *testing.T) {
	runInvalid(t, Email, []invalidCase{
		{"", "must not be empty"},
		{"zhangsan", "must contain @"},
		{"@example.com", "nothing before @"},
		{"a@", "no domain after @"},
		{"a@localhost", "needs a dot"},
		{"a..b@example.com", "two dots in a row"},
		{".a@example.com", "must not start or end with a dot"},
		{"a@example..com", "empty, too long or badly hyphenated"},
		{"a@-example.com", "badly hyphenated"},
		{"a b@example.com", "contains ' ' before @"},
		{`"a"@example.com`, `contains '"' before @`},
		{"张三 <a@example.com>", "contains ' ' before @"},
		{"a@1.2.3.4", "must end with a name"},
		{"a@exa_mple.com", "contains '_'"},
		{strings.Repeat("a", 65) + "@example.com", "more than 64 characters before @"},
		{"a@" + strings.Repeat("b", 250) + ".com", "at most 254"},
	})
}
