package idempotency_test

import (
	"context"
	"net/http/httptest"
	"testing"

	pkgidem "github.com/dealercare/dealercare/pkg/idempotency"
	"github.com/dealercare/dealercare/services/gateway/idempotency"
)

func TestForwardKey(t *testing.T) {
	for _, c := range []struct {
		method, key string
		want        []string
	}{
		{"POST", "k-1", []string{"k-1"}},
		{"PATCH", "k-1", []string{"k-1"}},
		{"GET", "k-1", nil},          // reads are not keyed
		{"POST", "", nil},            // no key
		{"POST", "caf\xc3\xa9", nil}, // refused by the middleware already
	} {
		r := httptest.NewRequest(c.method, "/v1/dealers/D001/customers", nil)
		if c.key != "" {
			r.Header.Set(idempotency.HeaderKey, c.key)
		}
		got := idempotency.ForwardKey(context.Background(), r).Get(pkgidem.MetadataKey)
		if len(got) != len(c.want) || (len(got) == 1 && got[0] != c.want[0]) {
			t.Errorf("%s with key %q: forwarded %q, want %q", c.method, c.key, got, c.want)
		}
	}
}
