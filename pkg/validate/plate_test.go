package validate

import "testing"

func TestPlateValid(t *testing.T) {
	runValid(t, Plate, []validCase{
		{"京A12345", "京A12345"},
		{"京A·12345", "京A12345"},
		{"沪a 88888", "沪A88888"},
		{"粤B-A1234", "粤BA1234"},
		{"川A・8X8Z8", "川A8X8Z8"},
		{"京Ａ１２３４５", "京A12345"},
		{"京A1234学", "京A1234学"},
		{"京B1234警", "京B1234警"},
		{"冀A1234挂", "冀A1234挂"},
		{"粤Z·1234港", "粤Z1234港"},
		{"粤ZA123澳", "粤ZA123澳"},
		{"沪A1234领", "沪A1234领"},
		{"京A1234使", "京A1234使"},
		{"京A1234试", "京A1234试"},
		{"京A1234超", "京A1234超"},
		{"京AD12345", "京AD12345"},   // small NEV, battery electric
		{"粤B·F A1234", "粤BFA1234"}, // small NEV, plug-in hybrid, letter in 4
		{"沪AA12345", "沪AA12345"},   // small NEV, extended class letter
		{"苏EG12345", "苏EG12345"},
		{"京A12345D", "京A12345D"}, // large NEV
		{"鲁B12345F", "鲁B12345F"},
		{"使014·578", "使014578"},
	})
}

func TestPlateInvalid(t *testing.T) {
	runInvalid(t, Plate, []invalidCase{
		{"", "must not be empty"},
		{" · ", "must not be empty"},
		{"A12345", "character 1 must be a province abbreviation such as 京 or 粤, got 'A'"},
		{"港A12345", "got '港'"},
		{"京A1234", "has 6 characters"},
		{"京A1234567", "has 9 characters"},
		{"京I12345", "character 2 must be the issuing authority's letter (A-Z except I and O), got 'I'"},
		{"京112345", "character 2 must be the issuing authority's letter"},
		{"京AO2345", "character 3 is 'O'; plate serials use digits and letters except I and O"},
		{"京A1234O", "character 7 is 'O'"},
		{"京A12_45", "character 5 is '_'"},
		{"京A1234港", "only 粤Z plates end with '港'"},
		{"京A1234车", "character 7 is '车'; a plate ends with a digit, a letter or one of"},
		{"京A12学45", "character 5 is '学'"},
		{"京AL12345", "character 3 of a new-energy plate must be D or F"},
		{"京AD1234A", "character 8 of a small new-energy plate must be a digit, got 'A'"},
		{"京ADI1234", "character 4 is 'I'"},
		{"京A12345A", "character 8 of a large new-energy plate must be D or F, got 'A'"},
		{"京A1234D5", "character 7 of a large new-energy plate must be a digit, got 'D'"},
		{"使01457", "an embassy plate is 使 followed by 6 digits"},
		{"使01457A", "an embassy plate is 使 followed by 6 digits"},
	})
}
