// Package pbconv converts between the API's protobuf spellings and the
// domain's: enum values without their prefix in lower case, and optional
// timestamps.
package pbconv

import (
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
)

// EnumName maps a proto enum value name to the stored lower-case name:
// CUSTOMER_TIER_KEY with prefix CUSTOMER_TIER_ → key; the zero value
// (…_UNSPECIFIED) maps to "".
func EnumName(full, prefix string) string {
	n := strings.TrimPrefix(full, prefix)
	if n == "UNSPECIFIED" {
		return ""
	}
	return strings.ToLower(n)
}

// EnumValue maps a stored name back to the enum's number (values is the
// generated <Enum>_value map); "" and unknown names map to 0.
func EnumValue(name, prefix string, values map[string]int32) int32 {
	if name == "" {
		return 0
	}
	return values[prefix+strings.ToUpper(name)]
}

// Timestamp is t, or nil for the zero time (an unset field).
func Timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// Time is ts, or the zero time for nil.
func Time(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}
