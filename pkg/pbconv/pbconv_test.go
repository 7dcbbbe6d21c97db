package pbconv

import (
	"testing"
	"time"
)

func TestEnum(t *testing.T) {
	values := map[string]int32{"CUSTOMER_TIER_UNSPECIFIED": 0, "CUSTOMER_TIER_KEY": 1, "CUSTOMER_TIER_REGULAR": 2}
	for _, c := range []struct {
		full, name string
		value      int32
	}{{"CUSTOMER_TIER_KEY", "key", 1}, {"CUSTOMER_TIER_REGULAR", "regular", 2}, {"CUSTOMER_TIER_UNSPECIFIED", "", 0}} {
		if got := EnumName(c.full, "CUSTOMER_TIER_"); got != c.name {
			t.Errorf("EnumName(%s) = %q, want %q", c.full, got, c.name)
		}
		if got := EnumValue(c.name, "CUSTOMER_TIER_", values); got != c.value {
			t.Errorf("EnumValue(%q) = %d, want %d", c.name, got, c.value)
		}
	}
	if got := EnumValue("platinum", "CUSTOMER_TIER_", values); got != 0 {
		t.Errorf("unknown name = %d, want 0", got)
	}
}

func TestTime(t *testing.T) {
	if Timestamp(time.Time{}) != nil || !Time(nil).IsZero() {
		t.Error("zero time and nil timestamp do not map to each other")
	}
	at := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	if got := Time(Timestamp(at)); !got.Equal(at) {
		t.Errorf("round trip = %v, want %v", got, at)
	}
}
