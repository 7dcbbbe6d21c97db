package validate

import "testing"

func TestMobileValid(t *testing.T) {
	runValid(t, Mobile, []validCase{
		{"13812345678", "+8613812345678"},
		{" 15012345678 ", "+8615012345678"},
		{"+86 138 1234 5678", "+8613812345678"},
		{"+86-138-1234-5678", "+8613812345678"},
		{"0086 13812345678", "+8613812345678"},
		{"8613812345678", "+8613812345678"},
		{"86 199 1234 5678", "+8619912345678"},
		{"＋８６　１３８１２３４５６７８", "+8613812345678"}, // full-width input
		{"+8613812345678", "+8613812345678"},
		{"+44 20 7946 0958", "+442079460958"},
		{"+1 (415) 555-2671", "+14155552671"},
		{"(+86) 138 1234 5678", "+8613812345678"},
		{"+852 9123 4567", "+85291234567"},
		{"004915112345678", "+4915112345678"},
		{"+123456789012345", "+123456789012345"}, // 15 digits, the E.164 maximum
	})
}

func TestMobileInvalid(t *testing.T) {
	runInvalid(t, Mobile, []invalidCase{
		{"", "must not be empty"},
		{"   ", "must not be empty"},
		{"1381234567a", "contains 'a'"},
		{"138.1234.5678", "contains '.'"},
		{"138+12345678", "contains '+'"},
		{"++8613812345678", "contains '+'"},
		{"138123456", "has 11 digits, got 9"},
		{"138123456789", "has 11 digits, got 12"},
		{"12812345678", "starts with 13 to 19, got 12"},
		{"02112345678", "starts with 13 to 19, got 02"},
		{"+86 12812345678", "starts with 13 to 19, got 12"},
		{"+86 1381234567", "has 11 digits, got 10"},
		{"0086 138123456789", "has 11 digits, got 12"},
		{"4915112345678", "write numbers outside mainland China with +"},
		{"+0123456789", "must not start with 0"},
		{"+1234567", "8 to 15 digits after +, got 7"},
		{"+1234567890123456", "8 to 15 digits after +, got 16"},
		{"+", "8 to 15 digits after +, got 0"},
	})
}
