// Package export writes the evaluation's tables (a scope's KPIs over
// periods, a ranking) as files a manager opens in a spreadsheet: CSV and
// XLSX, headers and KPI names in the caller's language. It lays the
// domain's answers out in rows; what a caller may see was decided before
// (evaluation.Service), so a file shows exactly what the JSON answer does.
//
// XLSX is written with excelize (github.com/xuri/excelize/v2), the kept
// Go library for Office Open XML; its stream writer keeps a network-wide
// ranking in constant memory per row.
package export

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/xuri/excelize/v2"
)

// Format of a file.
type Format string

// Formats.
const (
	CSV  Format = "csv"
	XLSX Format = "xlsx"
)

// ContentType is the media type of a format.
func (f Format) ContentType() string {
	if f == XLSX {
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/csv; charset=utf-8"
}

// Sheet is one table: a header row and rows of cells. A cell is a string,
// an int, a float64, or nil for an empty cell.
type Sheet struct {
	// Name of the XLSX sheet (at most 31 characters).
	Name   string
	Header []string
	Rows   [][]any
}

// Write renders s in format f.
func Write(f Format, s Sheet) ([]byte, error) {
	switch f {
	case CSV:
		return writeCSV(s)
	case XLSX:
		return writeXLSX(s)
	}
	return nil, apperr.Invalid("format", fmt.Sprintf("unknown format %q", f)).ZhReason(fmt.Sprintf("未知格式“%s”", f))
}

// bom makes spreadsheet programs read the CSV as UTF-8 (Chinese headers).
const bom = "\uFEFF"

func writeCSV(s Sheet) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(bom)
	w := csv.NewWriter(&buf)
	if err := w.Write(s.Header); err != nil {
		return nil, err
	}
	rec := make([]string, len(s.Header))
	for _, row := range s.Rows {
		rec = rec[:0]
		for _, c := range row {
			rec = append(rec, cellText(c))
		}
		if err := w.Write(rec); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

func cellText(c any) string {
	switch v := c.(type) {
	case nil:
		return ""
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(c)
}

func writeXLSX(s Sheet) (out []byte, err error) {
	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	name := s.Name
	if name == "" {
		name = "Sheet1"
	}
	if err := f.SetSheetName("Sheet1", name); err != nil {
		return nil, fmt.Errorf("name sheet %q: %w", name, err)
	}
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return nil, err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, err
	}
	header := make([]any, len(s.Header))
	for i, h := range s.Header {
		header[i] = excelize.Cell{StyleID: bold, Value: h}
	}
	if err := sw.SetRow("A1", header, excelize.RowOpts{}); err != nil {
		return nil, err
	}
	for i, row := range s.Rows {
		cell, err := excelize.CoordinatesToCellName(1, i+2)
		if err != nil {
			return nil, err
		}
		if err := sw.SetRow(cell, row); err != nil {
			return nil, fmt.Errorf("row %d: %w", i+2, err)
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// day formats a civil date.
func day(d time.Time) string { return d.Format(time.DateOnly) }
