package pii

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const (
	clearMobile = "+8613812345678"
	clearID     = "110101199003071233"
)

// leaks reports the clear values found in out, in any common encoding.
func leaks(out string) []string {
	var found []string
	for _, v := range []string{"13812345678", "138 1234 5678", "138-1234-5678", clearID, "19900307",
		hex.EncodeToString([]byte("13812345678")), hex.EncodeToString([]byte(clearID))} {
		if strings.Contains(out, v) {
			found = append(found, v)
		}
	}
	return found
}

func TestMobileAndIDNumberFormatting(t *testing.T) {
	m, n := Mobile(clearMobile), IDNumber(clearID)
	for _, c := range []struct{ format, want string }{
		{"%v", "+86 138****5678"},
		{"%s", "+86 138****5678"},
		{"%+v", "+86 138****5678"},
		{"%q", `"+86 138****5678"`},
		{"%#v", `pii.Mobile("+86 138****5678")`},
		{"%17s|", "  +86 138****5678|"},
		{"%-16v|", "+86 138****5678 |"},
		{"%x", hex.EncodeToString([]byte("+86 138****5678"))},
		{"%d", "%!d(string=+86 138****5678)"},
	} {
		if got := fmt.Sprintf(c.format, m); got != c.want {
			t.Errorf("Sprintf(%q, Mobile) = %q, want %q", c.format, got, c.want)
		}
	}
	if got := fmt.Sprintf("%v %q %#v", n, n, n); got != `110***********1233 "110***********1233" pii.IDNumber("110***********1233")` {
		t.Errorf("IDNumber formatted as %s", got)
	}
	type customer struct {
		Name   string
		Mobile Mobile
		ID     IDNumber `json:"id_number"`
	}
	c := customer{"张三", m, n}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs := []string{
		fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%v", []Mobile{m}),
		fmt.Sprintf("%v", map[string]IDNumber{"id": n}), fmt.Sprintf("%v", &c), string(js),
		fmt.Errorf("customer with mobile %v exists: %w", m, errors.New("conflict")).Error(),
		m.String(), n.String(),
	}
	// Plain slog handlers, without RedactingHandler: the types mask themselves.
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(h).Info("customer saved", "mobile", m, "id_number", n, "customer", c,
			slog.Group("contact", "mobile", m), slog.Any("ptr", &c))
	}
	outputs = append(outputs, buf.String())
	for _, out := range outputs {
		if l := leaks(out); l != nil || !strings.Contains(out, "****") {
			t.Errorf("output shows %v: %s", l, out)
		}
	}
}
