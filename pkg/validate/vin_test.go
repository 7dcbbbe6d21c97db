package validate

import "testing"

// The Chinese VINs below were built for these tests; their check digits were
// computed by hand with the ISO 3779 table, independently of vinCheckDigit.
func TestVINValid(t *testing.T) {
	runValid(t, VIN, []validCase{
		{"1M8GDM9AXKP042788", "1M8GDM9AXKP042788"}, // remainder 10: check digit X
		{"1m8gdm9axkp042788", "1M8GDM9AXKP042788"},
		{"1HGCM82633A004352", "1HGCM82633A004352"},
		{"JHMCM56557C404453", "JHMCM56557C404453"},
		{" LSVAU218XN2183294 ", "LSVAU218XN2183294"}, // SAIC Volkswagen (GB 16735)
		{"LFV2A21K7G4051234", "LFV2A21K7G4051234"},   // FAW-Volkswagen
		{"LVSHCAMB7CE012345", "LVSHCAMB7CE012345"},   // Changan Ford
		{"LSGJA52U8CH123456", "LSGJA52U8CH123456"},   // SAIC-GM
		{"LGBH52E08MY123456", "LGBH52E08MY123456"},   // Dongfeng Nissan
		{"ＬＳＶＡＵ２１８ＸＮ２１８３２９４", "LSVAU218XN2183294"},
	})
}

func TestVINInvalid(t *testing.T) {
	runInvalid(t, VIN, []invalidCase{
		{"", "must not be empty"},
		{"LSVAU2180N2183294", "character 9 must be the check digit 'X', got '0'"},
		{"1M8GDM9A3KP042788", "character 9 must be the check digit 'X', got '3'"},
		{"1HGCM82683A004352", "character 9 must be the check digit '3', got '8'"},
		{"1M8GDM9AXKP04278", "must have 17 characters, got 16"},
		{"1M8GDM9AXKP0427881", "must have 17 characters, got 18"},
		{"1M8GDI9AXKP042788", "character 6 is 'I'; a VIN never contains I, O or Q"},
		{"1M8GDM9AXKP04278O", "character 17 is 'O'"},
		{"QM8GDM9AXKP042788", "character 1 is 'Q'"},
		{"1M8GDM9AXKP04278#", "character 17 is '#'; a VIN contains only digits and letters A-Z"},
		{"1M8GDM9AXKP0427 8", "character 16 is ' '"},
		{"1M8GDM9AXKP04278é", "character 17 is 'é'"},
		{"1M8GDM9AXKP04278\x00", "character 17 is U+0000"},
	})
}

func TestVINCheckDigitAgainstEveryPosition(t *testing.T) {
	// Changing any weighted character of a valid VIN to one with another
	// value must be caught (no weight is a multiple of 11); position 9 is the
	// check digit itself.
	const vin = "LSVAU218XN2183294"
	for i := 0; i < 17; i++ {
		if i == 8 {
			continue
		}
		b := []byte(vin)
		if n, _ := vinValue(b[i]); n == 5 { // 5, E, N and V are all worth 5
			b[i] = '6'
		} else {
			b[i] = '5'
		}
		if _, err := VIN(string(b)); err == nil {
			t.Errorf("%s (position %d changed) accepted", b, i+1)
		}
	}
}

func TestCompleteVIN(t *testing.T) {
	for _, s := range []string{"LSVAU2180N2183294", "1M8GDM90XKP042788", "LFV2A21K0A3000001"} {
		v := CompleteVIN(s)
		if _, err := VIN(v); err != nil {
			t.Errorf("CompleteVIN(%s) = %s: %v", s, v, err)
		}
	}
}
