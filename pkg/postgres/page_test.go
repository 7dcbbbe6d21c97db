package postgres

import (
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
)

func TestPageToken(t *testing.T) {
	at := time.Date(2026, 11, 22, 3, 4, 5, 678, time.UTC)
	id := "0f8fad5b-d9cb-469f-a165-70867728950e"
	gotT, gotID, err := DecodePageToken(EncodePageToken(at, id))
	if err != nil || !gotT.Equal(at) || gotID != id {
		t.Fatalf("round trip: %v %s %v", gotT, gotID, err)
	}
	if tt, id, err := DecodePageToken(""); err != nil || !tt.IsZero() || id != "" {
		t.Errorf("empty token: %v %q %v", tt, id, err)
	}
	for _, bad := range []string{"%%%", "MTIz", EncodePageToken(at, "not-a-uuid")} {
		if _, _, err := DecodePageToken(bad); apperr.Code(err) != apperr.EINVALID {
			t.Errorf("DecodePageToken(%q) = %v, want EINVALID", bad, err)
		}
	}
}
