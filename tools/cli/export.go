package cli

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/xuri/excelize/v2"
)

// report is a table a command prints or exports: headers in the caller's
// language and rows of strings, numbers (float64, int64) or nil for an
// empty cell.
type report struct {
	sheet   string
	headers []string
	rows    [][]any
}

// exportFormat is how --out is written: by --format, else by the file's
// extension (.csv, .xlsx).
func exportFormat(out, format string) (string, error) {
	if format == "" {
		format = strings.TrimPrefix(strings.ToLower(filepath.Ext(out)), ".")
	}
	switch format {
	case "csv", "xlsx":
		return format, nil
	}
	return "", exitError{code: 2, msg: fmt.Sprintf("--out %s: name a .csv or .xlsx file (or give --format csv|xlsx)", out)}
}

// write saves r to path as CSV or XLSX.
func (r report) write(path, format string) error {
	switch format {
	case "csv":
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := r.writeCSV(f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	case "xlsx":
		return r.writeXLSX(path)
	}
	return fmt.Errorf("unknown format %q", format)
}

// writeCSV writes UTF-8 with a byte-order mark, so that Excel, which the
// people opening these reports use, reads the Chinese headers right.
func (r report) writeCSV(w io.Writer) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(r.headers); err != nil {
		return err
	}
	for _, row := range r.rows {
		rec := make([]string, len(row))
		for i, v := range row {
			rec[i] = text(v)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeXLSX writes one sheet with a bold, frozen header row; numbers stay
// numbers, so the sheet sums and charts without conversion.
func (r report) writeXLSX(path string) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", r.sheet); err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(r.sheet)
	if err != nil {
		return err
	}
	head := make([]any, len(r.headers))
	for i, h := range r.headers {
		head[i] = excelize.Cell{StyleID: bold, Value: h}
		if err := sw.SetColWidth(i+1, i+1, float64(max(10, min(40, 2*len([]rune(h)))))); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	if err := sw.SetRow("A1", head); err != nil {
		return err
	}
	for i, row := range r.rows {
		cell, err := excelize.CoordinatesToCellName(1, i+2)
		if err != nil {
			return err
		}
		if err := sw.SetRow(cell, row); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.SaveAs(path)
}

// print writes r as an aligned table.
func (r report) print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(r.headers, "\t"))
	for _, row := range r.rows {
		for i, v := range row {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, text(v))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// text is a cell as CSV and tables show it.
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case float64:
		// Rates to four places; scores and counts keep theirs.
		return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}
