// Command imagebuild builds dealercare's OCI images offline (make images):
//
//	imagebuild -repo . -out bin/images customer=services/customer/cmd/customer ...
//
// Each name=package becomes bin/images/<name>/ (OCI layout) and
// bin/images/<name>.tar (docker load); a package not in the tree is
// skipped with a notice. The digests are printed and written to
// <out>/digests.txt.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/dealercare/dealercare/tools/k8s/images"
)

func main() {
	repo := flag.String("repo", ".", "repository root")
	out := flag.String("out", "bin/images", "output directory")
	arch := flag.String("arch", "amd64", "GOARCH of the images")
	tag := flag.String("tag", "dev", "tag the tarballs name")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, images.Options{Repo: *repo, Out: *out, Arch: *arch, Tag: *tag, Log: os.Stdout}, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o images.Options, args []string) error {
	programs, err := images.ParsePrograms(args)
	if err != nil {
		return err
	}
	if len(programs) == 0 {
		return fmt.Errorf("no programs given; usage: imagebuild [-repo DIR] [-out DIR] name=module/cmd/name ...")
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	results, err := images.Build(ctx, o, programs)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, r := range results {
		fmt.Fprintf(&b, "%s %s\n", r.Name, r.Digest)
	}
	return os.WriteFile(filepath.Join(o.Out, "digests.txt"), []byte(b.String()), 0o644)
}
