package grpc

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
	"google.golang.org/grpc/metadata"
)

func TestFactTokenRoundTripAndMalformed(t *testing.T) {
	f := evaluation.KPIFact{ID: "task-1|x", Time: time.Date(2026, 12, 6, 1, 2, 3, 4, time.UTC)}
	at, id, err := parseFactToken(factToken(f))
	if err != nil || !at.Equal(f.Time) || id != f.ID {
		t.Errorf("round trip: %v %q %v", at, id, err)
	}
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, bad := range []string{"!!!", b64("\xff\xfe"), b64("1|x\x00"), b64("1|"), b64("x|id"), b64("99999999999999999999999|id"),
		b64("1|" + strings.Repeat("a", 201)), b64("1|a") + "." + b64("b")} {
		_, _, err := parseFactToken(bad)
		if e, ok := err.(*apperr.Error); !ok || e.Violations[0].Field != "page_token" {
			t.Errorf("%q: %v, want EINVALID on page_token", bad, err)
		}
	}
}

func TestFileLanguage(t *testing.T) {
	for _, tc := range []struct{ header, want string }{
		{"", apperr.LangZH},
		{"en-US,en;q=0.9", apperr.LangEN},
		{"zh-CN", apperr.LangZH},
		{"fr", apperr.LangEN}, // a language the API does not speak: its default, English
	} {
		ctx := context.Background()
		if tc.header != "" {
			ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("grpcgateway-accept-language", tc.header))
		}
		if got := fileLang(ctx); got != tc.want {
			t.Errorf("Accept-Language %q: %s, want %s", tc.header, got, tc.want)
		}
	}
}
