package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/dealercare/dealercare/gen/go/client"
	"github.com/schollz/progressbar/v3"
)

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
	c, err := a.newClient()
	if err != nil {
		return err
	}
	name := filepath.Base(file)
	body := client.CreateImportJSONRequestBody{Content: content, FileName: &name}
	if *encoding != "" {
		body.Encoding = encoding
	}
	created, err := c.CreateImportWithResponse(ctx, *dealer, nil, body)
	if err != nil {
		return err
	}
	if err := check(created, created.Body); err != nil {
		return err
	}
	imp := *created.JSON200
	id := deref(imp.Id)
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
	for deref(imp.State) == client.IMPORTSTATERUNNING {
		if total := int64(deref(imp.TotalRows)); total > 0 && bar.GetMax64() != total {
			bar.ChangeMax64(total)
		}
		_ = bar.Set64(int64(deref(imp.ProcessedRows)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		got, err := c.GetImportWithResponse(ctx, *dealer, id)
		if err != nil {
			return err
		}
		if err := check(got, got.Body); err != nil {
			return err
		}
		imp = *got.JSON200
	}
	if total := int64(deref(imp.TotalRows)); total > 0 {
		bar.ChangeMax64(total)
	}
	_ = bar.Set64(int64(deref(imp.ProcessedRows)))
	_ = bar.Finish()

	var rowErrors []client.ImportError
	size := int32(1000)
	for token := ""; ; {
		params := &client.ListImportErrorsParams{PageSize: &size}
		if token != "" {
			params.PageToken = &token
		}
		page, err := c.ListImportErrorsWithResponse(ctx, *dealer, id, params)
		if err != nil {
			return err
		}
		if err := check(page, page.Body); err != nil {
			return err
		}
		rowErrors = append(rowErrors, deref(page.JSON200.Errors)...)
		if token = deref(page.JSON200.NextPageToken); token == "" {
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
			{a.msg("import", "导入"), id}, {a.msg("state", "状态"), deref(imp.State)}, {a.msg("rows", "行数"), deref(imp.TotalRows)},
			{a.msg("inserted", "新增"), deref(imp.InsertedRows)}, {a.msg("updated", "更新"), deref(imp.UpdatedRows)},
			{a.msg("unchanged", "未变"), deref(imp.UnchangedRows)}, {a.msg("rejected", "拒绝"), deref(imp.FailedRows)},
		} {
			fmt.Fprintf(tw, "%s\t%v\n", kv.k, kv.v)
		}
		if f := deref(imp.Failure); f != "" {
			fmt.Fprintf(tw, "%s\t%s\n", a.msg("failure", "失败原因"), f)
		}
		_ = tw.Flush()
		if len(rowErrors) > 0 {
			fmt.Fprintln(a.m.Stdout)
			tw := tabwriter.NewWriter(a.m.Stdout, 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, a.msg("ROW\tFIELD\tREASON", "行\t字段\t原因"))
			for _, e := range rowErrors {
				fmt.Fprintf(tw, "%d\t%s\t%s\n", deref(e.Row), deref(e.Field), deref(e.Reason))
			}
			_ = tw.Flush()
		}
	}
	switch {
	case deref(imp.State) == client.IMPORTSTATEFAILED:
		return exitError{code: 1, msg: a.msg("the import failed: ", "导入失败：") + deref(imp.Failure)}
	case deref(imp.FailedRows) > 0:
		return exitError{code: 3}
	}
	return nil
}

// deref is *p, or the zero value for nil (the generated client's optional
// fields).
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// msg picks the caller's language.
func (a *api) msg(en, zh string) string {
	if a.g.lang == "zh-CN" {
		return zh
	}
	return en
}
