package pii

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestScrub(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"call 13812345678 now", "call 138****5678 now"},
		{"13812345678", "138****5678"},
		{"138 1234 5678", "138 **** 5678"}, // exactly the 11 digits a match needs
		{"1381234567", "1381234567"},       // 10 digits
		{"+8613812345678", "+86138****5678"},
		{"+86 138-1234-5678", "+86 138-****-5678"},
		{"0086 138 1234 5678", "0086 138 **** 5678"},
		{"tel:13812345678,13912345678;", "tel:138****5678,139****5678;"},
		{"手机13812345678，身份证110101199003071233。", "手机138****5678，身份证110***********1233。"},
		{"id=11010519491231002x", "id=110***********002x"},
		{"12812345678", "12812345678"},                               // not a mobile prefix
		{"138123456789", "138123456789"},                             // 12 digits: not a mobile
		{"order 20240607123456789012", "order 20240607123456789012"}, // 20-digit number
		{"ts=1718000000000", "ts=1718000000000"},
		{"110101199013071233", "110101199013071233"}, // month 13: not an ID, and 18 digits: not a mobile
		{"138-13912345678", "138-139****5678"},       // a mobile after a digit group
		{"", ""},
		{"no numbers here", "no numbers here"},
	} {
		if got := Scrub(c.in); got != c.want {
			t.Errorf("Scrub(%q) = %q, want %q", c.in, got, c.want)
		}
		if again := Scrub(Scrub(c.in)); again != Scrub(c.in) {
			t.Errorf("Scrub is not idempotent on %q: %q", c.in, again)
		}
	}
}

type order struct {
	Number  string
	Contact string `json:"contact"`
	note    string
}

type stringer struct{}

func (stringer) String() string { return "customer 13812345678" }

// textOnly prints clean with fmt and JSON but marshals the clear number as
// text, which the text handler uses.
type textOnly struct{}

func (textOnly) MarshalJSON() ([]byte, error) { return []byte(`"masked"`), nil }

func (textOnly) String() string               { return "masked" }
func (textOnly) MarshalText() ([]byte, error) { return []byte("13812345678"), nil }

// clearPatterns finds any clear mainland mobile or ID number.
var clearPatterns = regexp.MustCompile(`(^|[^0-9])(1[3-9][0-9]{9}|1[3-9][0-9][ -][0-9]{4}[ -][0-9]{4}|[1-9][0-9]{16}[0-9Xx])($|[^0-9])`)

func TestRedactingHandlerNeverEmitsClearValues(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			var h slog.Handler = slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
			if format == "text" {
				h = slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
			}
			log := slog.New(RedactingHandler(h))
			ctx := context.Background()

			log.Info("callback to 13812345678 failed", "mobile", "13812345678", "phone", "+86 139 1234 5678",
				"id_number", clearID, "idCard", "11010519491231002X", "address", "北京市朝阳区建国路88号院3号楼",
				"order_no", "20240607123456789012")
			log.Warn("free text", "note", "客户手机13812345678，身份证110101199003071233", "dup", "tel 138-1234-5678")
			log.Error("import failed", "err", fmt.Errorf("row 7: mobile 13812345678 already exists: %w", errors.New("conflict")),
				"raw", []byte("110101199003071233,13812345678"), "who", stringer{}, "text", textOnly{})
			log.Info("typed", "mobile", Mobile(clearMobile), "id", IDNumber(clearID), "MOBILE", 13812345678,
				"count", uint64(13912345678))
			log.Info("structs", "order", order{"A1", "13812345678", "110101199003071233"}, "ptr", &order{Contact: "13912345678"},
				"list", []string{"13812345678"}, "map", map[string]any{"mobile": "13812345678"})
			log.With("mobile", "13812345678", "ctx", "13912345678").WithGroup("customer").
				Info("grouped", "mobile", "13812345678", slog.Group("contact", "phone", "13912345678", "id_number", clearID),
					"at", time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC))
			log.DebugContext(ctx, "debug", slog.Any("v", slog.GroupValue(slog.String("x", "13812345678"))))

			out := buf.String()
			if m := clearPatterns.FindAllString(out, -1); m != nil {
				t.Errorf("clear personal data %q in:\n%s", m, out)
			}
			if l := leaks(out); l != nil {
				t.Errorf("clear personal data %v in:\n%s", l, out)
			}
			for _, want := range []string{"+86 138****5678", "110***********1233", "北京市朝阳区****", "20240607123456789012", "138****5678", "A1"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestRedactingHandlerKeepsOtherAttrs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(RedactingHandler(slog.NewJSONHandler(&buf, nil)))
	log.Info("ok", "dealer", "D001", "n", 42, "order", order{Number: "A1"}, "err", errors.New("boom"))
	want := `"msg":"ok","dealer":"D001","n":42,"order":{"Number":"A1","contact":""},"err":"boom"}`
	if !strings.Contains(buf.String(), want) {
		t.Errorf("got %s, want it to contain %s", buf.String(), want)
	}
	if RedactingHandler(RedactingHandler(slog.NewJSONHandler(&buf, nil))).(*redactingHandler).next == nil {
		t.Error("double wrapping lost the handler")
	}
}
