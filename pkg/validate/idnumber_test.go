package validate

import "testing"

// 11010519491231002X and 440524188001010014 are the examples of GB 11643;
// the others were built for these tests with hand-computed check characters.
func TestIDNumberValid(t *testing.T) {
	runValid(t, IDNumber, []validCase{
		{"11010519491231002X", "11010519491231002X"},
		{"11010519491231002x", "11010519491231002X"},
		{" 110101199003071233 ", "110101199003071233"},
		{"310115198511203459", "310115198511203459"},
		{"440304200002291236", "440304200002291236"}, // 29 February of a leap year
		{"510107201212314564", "510107201212314564"},
		{"810000199001010019", "810000199001010019"}, // Hong Kong resident's permit
		{"91156219850615003X", "91156219850615003X"}, // foreigner's permanent residence card
		{"１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"},
		{"11010119900307123３", "110101199003071233"}, // a full-width digit from an input method
	})
}

func TestIDNumberInvalid(t *testing.T) {
	runInvalid(t, IDNumber, []invalidCase{
		{"", "must not be empty"},
		{"110101199003071234", "character 18 must be the check character '3', got '4'"},
		{"110105194912310021", "character 18 must be the check character 'X', got '1'"},
		{"11010119900307123", "must have 18 characters, got 17"},
		{"110101900307123", "must have 18 characters, got 15"}, // legacy 15-digit card
		{"11010119900307A233", "character 15 must be a digit, got 'A'"},
		{"11010519491231002Y", "character 18 must be a digit or X, got 'Y'"},
		{"X10105194912310021", "character 1 must be a digit, got 'X'"},
		{"100101199003071233", "characters 1-2 must be a province code such as 11 or 44, got 10"},
		{"110101199013071233", "characters 7-14 must be a birth date"},
		{"110101199002301233", "characters 7-14 must be a birth date"},
		{"440524188001010014", "from 1900 on"},
		{"11010119900307123é", "character 18 must be a digit or X, got 'é'"},
	})
}
