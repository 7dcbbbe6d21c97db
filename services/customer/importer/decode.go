package importer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// fileError is a problem with the file as a whole: the import fails with
// its message and nothing is written.
type fileError struct{ msg string }

func (e *fileError) Error() string { return e.msg }

func fileErrorf(format string, args ...any) error {
	return &fileError{msg: fmt.Sprintf(format, args...)}
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// source is a file ready to be read as UTF-8 CSV records, as many times as
// needed (once to scan it, once to import it).
type source struct {
	content  []byte // without a byte-order mark
	encoding string
	comma    rune
}

// NormalizeEncoding maps accepted spellings of an encoding to EncodingUTF8
// or EncodingGBK; "" stays "" (detect). ok is false for anything else.
func NormalizeEncoding(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", true
	case "utf-8", "utf8":
		return EncodingUTF8, true
	case "gbk", "cp936", "gb2312":
		return EncodingGBK, true
	}
	return "", false
}

// openSource decides the encoding: a UTF-8 byte-order mark means UTF-8
// whatever was declared; otherwise the declared one, checked; otherwise
// UTF-8 if the bytes are valid UTF-8, else GBK (GBK text is seldom valid
// UTF-8, and pure ASCII reads the same either way). Two mistakes that
// would otherwise import garbage are refused: a UTF-8 file with a few
// broken bytes (it would decode as GBK mojibake) and a UTF-8 file declared
// GBK. GBK text is checked while it is scanned (see records), since its
// decoder substitutes U+FFFD for invalid bytes rather than failing.
func openSource(content []byte, declared string) (*source, error) {
	s := &source{encoding: declared}
	switch {
	case bytes.HasPrefix(content, utf8BOM):
		content, s.encoding = content[len(utf8BOM):], EncodingUTF8
	case bytes.HasPrefix(content, []byte{0xFF, 0xFE}), bytes.HasPrefix(content, []byte{0xFE, 0xFF}):
		return nil, fileErrorf("the file is UTF-16 (Excel's \"Unicode text\"); save it as CSV in UTF-8 or GBK")
	}
	s.content = content
	valid := utf8.Valid(content)
	switch {
	case s.encoding == "" && valid:
		s.encoding = EncodingUTF8
	case s.encoding == "":
		if multi, invalid, first := utf8Stats(content); invalid*100 < multi {
			return nil, fileErrorf("the file is UTF-8 with invalid bytes (line %d); fix that line or save the file again as UTF-8", lineOf(content, first))
		}
		s.encoding = EncodingGBK
	case s.encoding == EncodingUTF8 && !valid:
		_, _, first := utf8Stats(content)
		return nil, fileErrorf("the file is not valid UTF-8 (line %d); save it as UTF-8, or upload it with encoding gbk or empty to detect", lineOf(content, first))
	case s.encoding == EncodingGBK && valid:
		if multi, _, _ := utf8Stats(content); multi > 0 {
			return nil, fileErrorf("the file was declared GBK but is UTF-8; upload it with encoding utf-8 or empty to detect")
		}
	}
	s.comma = detectComma(s.firstLine())
	return s, nil
}

// utf8Stats counts valid multi-byte sequences and invalid bytes, and finds
// the first invalid one.
func utf8Stats(b []byte) (multi, invalid, first int) {
	first = len(b)
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			if invalid == 0 {
				first = i
			}
			invalid++
		} else {
			multi++
		}
		i += n
	}
	return multi, invalid, first
}

func lineOf(b []byte, offset int) int { return 1 + bytes.Count(b[:offset], []byte{'\n'}) }

// open returns the file decoded to UTF-8.
func (s *source) open() io.Reader {
	r := io.Reader(bytes.NewReader(s.content))
	if s.encoding == EncodingGBK {
		r = transform.NewReader(r, simplifiedchinese.GBK.NewDecoder())
	}
	return r
}

// firstLine is the decoded header line, at most 64 KiB of it.
func (s *source) firstLine() string {
	b, _ := io.ReadAll(io.LimitReader(s.open(), 64<<10))
	line, _, _ := strings.Cut(string(b), "\n")
	return line
}

// detectComma picks the delimiter from the header: a comma unless the
// header has none and has tabs or semicolons (tab-separated "CSV" exports
// are common).
func detectComma(headerLine string) rune {
	if strings.Contains(headerLine, ",") {
		return ','
	}
	if strings.Count(headerLine, "\t") >= strings.Count(headerLine, ";") && strings.Contains(headerLine, "\t") {
		return '\t'
	}
	if strings.Contains(headerLine, ";") {
		return ';'
	}
	return ','
}

// records reads the file's records. Quotes follow RFC 4180 strictly: a
// stray quote fails the import with its line rather than silently merging
// the rows that follow into one field.
type records struct {
	r   *csv.Reader
	gbk bool
	row int // row number of the last record read; the header is row 1
}

func (s *source) records() *records {
	r := csv.NewReader(s.open())
	r.Comma = s.comma
	r.FieldsPerRecord = -1 // short rows read as empty cells, extra cells are ignored
	r.ReuseRecord = true
	return &records{r: r, gbk: s.encoding == EncodingGBK}
}

// next returns the next record (valid until the next call) or io.EOF.
func (rs *records) next() ([]string, error) {
	rec, err := rs.r.Read()
	if err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fileErrorf("the file is not valid CSV at line %d: %v; a field containing quotes must be quoted and its quotes doubled (\"\")", pe.Line, pe.Err)
		}
		return nil, fmt.Errorf("read file: %w", err)
	}
	rs.row++
	if rs.gbk {
		for _, f := range rec {
			if strings.ContainsRune(f, utf8.RuneError) {
				return nil, fileErrorf("row %d is neither valid GBK nor UTF-8 text; save the file as UTF-8 or GBK", rs.row)
			}
		}
	}
	return rec, nil
}

// blank reports whether every cell of a record is empty: such rows
// (trailing ",,," lines of spreadsheet exports) are skipped, not counted.
func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}
