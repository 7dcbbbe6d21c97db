package cli

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
)

// dmsImport is the part of an Import the command follows.
type dmsImport struct {
	ID            string `json:"id"`
	State         string `json:"state"`
	TotalRows     int64  `json:"totalRows"`
	ProcessedRows int64  `json:"processedRows"`
	InsertedRows  int64  `json:"insertedRows"`
	UpdatedRows   int64  `json:"updatedRows"`
	UnchangedRows int64  `json:"unchangedRows"`
	FailedRows    int64  `json:"failedRows"`
	Failure       string `json:"failure"`
	Encoding      string `json:"encoding"`
}

type importError struct {
	Row    int64  `json:"row"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// importFile uploads a DMS export, follows the import to its end with a
// progress bar on stderr and prints its summary and row errors. It exits 1
// when the import failed as a whole, 3 when rows were rejected.
func (a *api) importFile(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(a.m.Stderr)
	dealer := fs.String("dealer", "", "dealer code (required)")
	encoding := fs.String("encoding", "", "utf-8 or gbk (default: detected)")
	var file string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		file, args = fs.Arg(0), fs.Args()[1:]
	}
	if file == "" || *dealer == "" {
		return exitError{code: 2, msg: "usage: dealercare import FILE --dealer CODE [--encoding gbk]"}
	}
	content, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	base := "/v1/dealers/" + url.PathEscape(*dealer) + "/imports"
	var imp dmsImport
	if err := a.call(ctx, "POST", base, map[string]any{"fileName": filepath.Base(file), "content": content, "encoding": *encoding}, &imp); err != nil {
		return err
	}
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(a.m.Stderr),
		progressbar.OptionSetDescription(a.msg("importing "+filepath.Base(file), "正在导入 "+filepath.Base(file))),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString(a.msg("rows", "行")),
		progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(a.m.Stderr) }),
	)
	tick := time.NewTicker(a.m.PollInterval)
	defer tick.Stop()
	for imp.State == "IMPORT_STATE_RUNNING" {
		if imp.TotalRows > 0 && bar.GetMax64() != imp.TotalRows {
			bar.ChangeMax64(imp.TotalRows)
		}
		_ = bar.Set64(imp.ProcessedRows)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if err := a.call(ctx, "GET", base+"/"+url.PathEscape(imp.ID), nil, &imp); err != nil {
			return err
		}
	}
	if imp.TotalRows > 0 {
		bar.ChangeMax64(imp.TotalRows)
	}
	_ = bar.Set64(imp.ProcessedRows)
	_ = bar.Finish()

	var rowErrors []importError
	for token := ""; ; {
		var page struct {
			Errors        []importError `json:"errors"`
			NextPageToken string        `json:"nextPageToken"`
		}
		q := "?page_size=1000"
		if token != "" {
			q += "&page_token=" + url.QueryEscape(token)
		}
		if err := a.call(ctx, "GET", base+"/"+url.PathEscape(imp.ID)+"/errors"+q, nil, &page); err != nil {
			return err
		}
		rowErrors = append(rowErrors, page.Errors...)
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	if a.g.json {
		if err := a.printJSON(map[string]any{"import": imp, "errors": rowErrors}); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(a.m.Stdout, 0, 2, 2, ' ', 0)
		for _, kv := range []struct {
			k string
			v any
		}{
			{a.msg("import", "导入"), imp.ID}, {a.msg("state", "状态"), imp.State}, {a.msg("rows", "行数"), imp.TotalRows},
			{a.msg("inserted", "新增"), imp.InsertedRows}, {a.msg("updated", "更新"), imp.UpdatedRows},
			{a.msg("unchanged", "未变"), imp.UnchangedRows}, {a.msg("rejected", "拒绝"), imp.FailedRows},
		} {
			fmt.Fprintf(tw, "%s\t%v\n", kv.k, kv.v)
		}
		if imp.Failure != "" {
			fmt.Fprintf(tw, "%s\t%s\n", a.msg("failure", "失败原因"), imp.Failure)
		}
		_ = tw.Flush()
		if len(rowErrors) > 0 {
			fmt.Fprintln(a.m.Stdout)
			tw := tabwriter.NewWriter(a.m.Stdout, 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, a.msg("ROW\tFIELD\tREASON", "行\t字段\t原因"))
			for _, e := range rowErrors {
				fmt.Fprintf(tw, "%d\t%s\t%s\n", e.Row, e.Field, e.Reason)
			}
			_ = tw.Flush()
		}
	}
	switch {
	case imp.State == "IMPORT_STATE_FAILED":
		return exitError{code: 1, msg: a.msg("the import failed: ", "导入失败：") + imp.Failure}
	case imp.FailedRows > 0:
		return exitError{code: 3}
	}
	return nil
}

// msg picks the caller's language.
func (a *api) msg(en, zh string) string {
	if a.g.lang == "zh-CN" {
		return zh
	}
	return en
}
