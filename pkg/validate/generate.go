package validate

// CompleteVIN sets position 9 of a 17-character VIN (upper-case, no I, O
// or Q) to its check digit, for generators of demo and benchmark data.
func CompleteVIN(s string) string {
	if len(s) != 17 {
		return s
	}
	b := []byte(s)
	b[8] = vinCheckDigit(s)
	return string(b)
}
