// Package images builds dealercare's container images without a container
// engine: each program is compiled into a static binary and put, with a
// small base layer the project builds too (CA certificates, a non-root
// user, /tmp), into an OCI image written as an OCI layout and a
// docker-loadable tarball. Nothing is pulled, and every input is fixed
// (file times, owners, order, the build's flags), so the same source gives
// the same digest.
package images

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// Fixed parts of every image.
const (
	// UID and GID of the user every program runs as (distroless's nonroot).
	UID = 65532
	GID = 65532
	// BinDir holds the program; the entrypoint is BinDir/<name>.
	BinDir = "/usr/local/bin"
	// CACertFile is where Go's crypto/x509 looks first on Linux.
	CACertFile = "/etc/ssl/certs/ca-certificates.crt"
)

// epoch is every file's time and the image's creation time.
var epoch = time.Unix(0, 0).UTC()

// Program is one image to build: Name=Package, where Package is the
// program's directory relative to the repository (services/x/cmd/x); its
// module is the part before /cmd/.
type Program struct {
	Name    string
	Package string
}

// ParsePrograms reads name=package arguments.
func ParsePrograms(args []string) ([]Program, error) {
	var ps []Program
	for _, a := range args {
		n, p, ok := strings.Cut(a, "=")
		if !ok || n == "" || p == "" || !strings.Contains(p, "/cmd/") {
			return nil, fmt.Errorf("program %q: want name=module/cmd/name", a)
		}
		ps = append(ps, Program{Name: n, Package: p})
	}
	return ps, nil
}

// Options of a build.
type Options struct {
	// Repo is the repository root (with go.work).
	Repo string
	// Out receives <name>/ (an OCI layout) and <name>.tar per image.
	Out string
	// Arch is the GOARCH of the images (default amd64).
	Arch string
	// Tag names the images in the tarballs (dealercare/<name>:<tag>).
	Tag string
	// Log receives one line per image (and per skipped program).
	Log io.Writer
}

// Result is one built image.
type Result struct {
	Name   string
	Digest v1.Hash
	// Layout is the OCI layout directory, Tarball the docker-loadable file.
	Layout, Tarball string
}

// Build compiles and packs every program whose package exists in the tree;
// a program not (yet) in the tree is reported and skipped, so the list may
// name services still being written.
func Build(ctx context.Context, o Options, programs []Program) ([]Result, error) {
	if o.Arch == "" {
		o.Arch = "amd64"
	}
	if o.Tag == "" {
		o.Tag = "dev"
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	base, err := BaseLayer()
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "dealercare-images-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	var results []Result
	for _, p := range programs {
		if _, err := os.Stat(filepath.Join(o.Repo, p.Package)); errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(o.Log, "images: %s skipped: %s is not in the tree\n", p.Name, p.Package)
			continue
		}
		bin := filepath.Join(work, p.Name)
		if err := compile(ctx, o.Repo, p, o.Arch, bin); err != nil {
			return nil, err
		}
		img, err := Image(base, p.Name, bin, o.Arch)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", p.Name, err)
		}
		r, err := write(img, o, p.Name)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", p.Name, err)
		}
		fmt.Fprintf(o.Log, "images: %s %s (%s)\n", p.Name, r.Digest, r.Layout)
		results = append(results, r)
	}
	return results, nil
}

// compile builds a static, reproducible binary: no cgo, no file paths or
// VCS stamps, no build id, and the time zone database embedded
// (timetzdata), so dealers' zones resolve in an image without
// /usr/share/zoneinfo and the data is the toolchain's, not the machine's.
func compile(ctx context.Context, repo string, p Program, arch, out string) error {
	mod, _, _ := strings.Cut(p.Package, "/cmd/")
	pkg := "./" + strings.TrimPrefix(strings.TrimPrefix(p.Package, mod), "/")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-tags", "timetzdata",
		"-ldflags", "-s -w -buildid=", "-o", out, pkg)
	cmd.Dir = filepath.Join(repo, mod)
	// GOWORK empty: the repository's go.work, whatever the caller set.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch, "GOWORK=", "GOFLAGS=-mod=readonly")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s: %w\n%s", p.Package, err, stderr.String())
	}
	return nil
}

// Image is a program's image: the base layer, then the binary at
// BinDir/<name>, run as UID:GID with the binary as entrypoint (so `migrate`
// is the Job's only argument).
func Image(base v1.Layer, name, binary, arch string) (v1.Image, error) {
	data, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	app, err := layer([]entry{
		dir("usr/", 0o755), dir("usr/local/", 0o755), dir("usr/local/bin/", 0o755),
		file(strings.TrimPrefix(BinDir, "/")+"/"+name, 0o555, data),
	})
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "dealercare base: CA certificates, nonroot user, /tmp", Comment: "tools/k8s/images"}},
		mutate.Addendum{Layer: app, MediaType: types.OCILayer, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "go build -trimpath -tags timetzdata (CGO_ENABLED=0) " + name, Comment: "tools/k8s/images"}},
	)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: epoch}
	cf.OS, cf.Architecture = "linux", arch
	cf.Config.User = fmt.Sprintf("%d:%d", UID, GID)
	cf.Config.Entrypoint = []string{BinDir + "/" + name}
	cf.Config.Cmd = nil
	cf.Config.WorkingDir = "/"
	cf.Config.Env = []string{"PATH=" + BinDir, "SSL_CERT_FILE=" + CACertFile}
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":       "dealercare " + name,
		"org.opencontainers.image.description": "dealercare " + name + ": entrypoint " + BinDir + "/" + name + " (serve by default; migrate; --help lists its environment)",
	}
	return mutate.ConfigFile(img, cf)
}

// BaseLayer holds what every program needs besides itself: CA certificates
// (the NSS roots from golang.org/x/crypto/x509roots/fallback, pinned in
// go.mod, so the layer is the same on every machine, unlike the machine's
// /etc/ssl/certs), /etc/passwd and /etc/group naming the nonroot user, its
// home, and a world-writable /tmp (the chart mounts an emptyDir there, since
// the root filesystem is read-only). No shell, no package manager.
func BaseLayer() (v1.Layer, error) {
	var pems bytes.Buffer
	n := 0
	for r := range bundle.Roots() {
		// A PEM file cannot carry a distrust-after date; leave those out
		// rather than trust them without it.
		if r.Constraint != nil {
			continue
		}
		if err := pem.Encode(&pems, &pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate}); err != nil {
			return nil, err
		}
		n++
	}
	if n < 100 {
		return nil, fmt.Errorf("base layer: only %d CA certificates in the fallback bundle", n)
	}
	return layer([]entry{
		dir("etc/", 0o755),
		file("etc/group", 0o644, fmt.Appendf(nil, "root:x:0:\nnonroot:x:%d:\n", GID)),
		file("etc/nsswitch.conf", 0o644, []byte("hosts: files dns\n")),
		file("etc/passwd", 0o644, fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", UID, GID)),
		dir("etc/ssl/", 0o755), dir("etc/ssl/certs/", 0o755),
		file(strings.TrimPrefix(CACertFile, "/"), 0o644, pems.Bytes()),
		dir("home/", 0o755), owned(dir("home/nonroot/", 0o700), UID, GID),
		dir("tmp/", 0o1777),
	})
}

type entry struct {
	hdr  tar.Header
	data []byte
}

func dir(name string, mode int64) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode}}
}

func file(name string, mode int64, data []byte) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))}, data: data}
}

func owned(e entry, uid, gid int) entry {
	e.hdr.Uid, e.hdr.Gid = uid, gid
	return e
}

// layer writes entries sorted by name with fixed times and owners (root
// unless owned), in USTAR format (no PAX access or change times).
func layer(entries []entry) (v1.Layer, error) {
	sort.Slice(entries, func(i, j int) bool { return entries[i].hdr.Name < entries[j].hdr.Name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		h.ModTime = epoch
		h.Format = tar.FormatUSTAR
		if h.Uid == 0 {
			h.Uname, h.Gname = "root", "root"
		}
		if err := tw.WriteHeader(&h); err != nil {
			return nil, fmt.Errorf("layer %s: %w", h.Name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithMediaType(types.OCILayer))
}

// write replaces Out/<name>/ with a fresh OCI layout of img (tagged in its
// index as the image name) and Out/<name>.tar with a docker-loadable
// tarball naming dealercare/<name>:<tag>.
func write(img v1.Image, o Options, prog string) (Result, error) {
	digest, err := img.Digest()
	if err != nil {
		return Result{}, err
	}
	r := Result{Name: prog, Digest: digest, Layout: filepath.Join(o.Out, prog), Tarball: filepath.Join(o.Out, prog+".tar")}
	if err := os.RemoveAll(r.Layout); err != nil {
		return Result{}, err
	}
	p, err := layout.Write(r.Layout, empty.Index)
	if err != nil {
		return Result{}, err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": prog + ":" + o.Tag})); err != nil {
		return Result{}, err
	}
	ref, err := name.NewTag("dealercare/" + prog + ":" + o.Tag)
	if err != nil {
		return Result{}, err
	}
	if err := tarball.WriteToFile(r.Tarball, ref, img); err != nil {
		return Result{}, err
	}
	return r, nil
}
