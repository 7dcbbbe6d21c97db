package importer

import (
	"errors"
	"io"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func gbk(t *testing.T, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readAll returns the records of a source, or the first error.
func readAll(s *source) ([][]string, error) {
	rs := s.records()
	var out [][]string
	for {
		rec, err := rs.next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, append([]string(nil), rec...))
	}
}

func TestOpenSource(t *testing.T) {
	const text = "客户编号,姓名\nC1,张三\n"
	tests := []struct {
		name     string
		content  []byte
		declared string
		wantEnc  string
		wantErr  string
	}{
		{"UTF-8 detected", []byte(text), "", EncodingUTF8, ""},
		{"UTF-8 with BOM", append([]byte("\uFEFF"), text...), "", EncodingUTF8, ""},
		{"BOM beats a gbk declaration", append([]byte("\uFEFF"), text...), EncodingGBK, EncodingUTF8, ""},
		{"GBK detected", gbk(t, text), "", EncodingGBK, ""},
		{"GBK declared", gbk(t, text), EncodingGBK, EncodingGBK, ""},
		{"ASCII declared GBK", []byte("dms_customer_id\nC1\n"), EncodingGBK, EncodingGBK, ""},
		{"declared UTF-8, is GBK", gbk(t, "dms_customer_id,name\nC1,x\nC2,张三\n"), EncodingUTF8, "", "not valid UTF-8 (line 3)"},
		{"UTF-16", []byte{0xFF, 0xFE, 'a', 0}, "", "", "UTF-16"},
		{"UTF-8 declared GBK", []byte(text), EncodingGBK, "", "declared GBK but is UTF-8"},
		{"UTF-8 with a broken byte", append([]byte(strings.Repeat(text, 50)), "C9,\xe5\x8c\n"...), "", "", "UTF-8 with invalid bytes (line 101)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := openSource(tt.content, tt.declared)
			if tt.wantErr != "" {
				var fe *fileError
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("openSource() error = %v, want a file error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.encoding != tt.wantEnc {
				t.Errorf("encoding = %s, want %s", s.encoding, tt.wantEnc)
			}
			recs, err := readAll(s)
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.Count(string(tt.content), "\n"); len(recs) != want {
				t.Errorf("%d records, want %d", len(recs), want)
			}
			if len(recs) == 2 && recs[0][0] == "dms_customer_id" {
				return // the ASCII file
			}
			if len(recs) != 2 || recs[0][0] != "客户编号" || recs[1][1] != "张三" {
				t.Errorf("records = %q", recs)
			}
		})
	}
}

func TestRecordsRejectInvalidGBK(t *testing.T) {
	content := append(gbk(t, "客户编号,姓名\nC1,张三\nC2,"), 0x81, 0x20, '\n') // 0x81 0x20 is no GBK character
	s, err := openSource(content, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readAll(s); err == nil || !strings.Contains(err.Error(), "row 3 is neither valid GBK nor UTF-8") {
		t.Errorf("error = %v, want row 3 named", err)
	}
}

func TestDetectComma(t *testing.T) {
	for header, want := range map[string]rune{
		"客户编号,姓名":      ',',
		"客户编号\t姓名\t手机": '\t',
		"客户编号;姓名":      ';',
		"客户编号":         ',',
	} {
		if got := detectComma(header); got != want {
			t.Errorf("detectComma(%q) = %q, want %q", header, got, want)
		}
	}
}
