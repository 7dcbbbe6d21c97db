package images_test

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/tools/k8s/images"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/jackc/pgx/v5"
)

// programs are every image make images builds today (the Makefile's
// IMAGES list, passed by make chart-test); without it, the three services
// with a schema and the worker.
func programs(t *testing.T) []images.Program {
	list := strings.Fields(os.Getenv("DEALERCARE_IMAGES"))
	if len(list) == 0 {
		list = []string{"customer=services/customer/cmd/customer", "gateway=services/gateway/cmd/gateway", "worker=workflows/cmd/worker"}
	}
	ps, err := images.ParsePrograms(list)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func repo(t *testing.T) string {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestImages builds every image twice, expects the same digests, and runs
// each image's entrypoint, taken out of its layer, with --help and (for a
// program with a schema) migrate against the test database, twice.
func TestImages(t *testing.T) {
	ctx := context.Background()
	ps := programs(t)
	var log strings.Builder
	first, err := images.Build(ctx, images.Options{Repo: repo(t), Out: t.TempDir(), Log: &log}, ps)
	if err != nil {
		t.Fatal(err)
	}
	second, err := images.Build(ctx, images.Options{Repo: repo(t), Out: t.TempDir()}, ps)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(log.String())
	if len(first) == 0 || len(first) != len(second) {
		t.Fatalf("built %d then %d images", len(first), len(second))
	}
	for i := range first {
		if first[i].Digest != second[i].Digest {
			t.Errorf("%s: digest %s, then %s from the same source", first[i].Name, first[i].Digest, second[i].Digest)
		}
	}

	db := testDatabase(t)
	migrated := 0
	for _, r := range first {
		t.Run(r.Name, func(t *testing.T) {
			bin := extract(t, r)
			out, err := exec.Command(bin, "--help").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "usage: "+r.Name) || !strings.Contains(string(out), "environment (serve):") {
				t.Fatalf("%s --help: %v\n%s", r.Name, err, out)
			}
			if !strings.Contains(string(out), "environment (migrate):") {
				return // no schema (the worker)
			}
			if db == nil {
				return
			}
			for range 2 { // the second run finds every migration applied
				cmd := exec.Command(bin, "migrate")
				cmd.Env = []string{"MIGRATE_DATABASE_URL=" + db.ownerURL, "DATABASE_APP_ROLE=" + appRole}
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s migrate: %v\n%s", r.Name, err, out)
				}
			}
			migrated++
		})
	}
	if db != nil {
		var schemas int
		if err := db.conn.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspowner = $1::regrole", ownerRole).Scan(&schemas); err != nil {
			t.Fatal(err)
		}
		if schemas != migrated || migrated == 0 {
			t.Errorf("%d schemas owned by %s after %d programs migrated", schemas, ownerRole, migrated)
		}
	}
}

// extract checks the image's configuration (non-root, entrypoint the
// program, no shell in any layer) and writes its entrypoint binary out of
// the layer that holds it.
func extract(t *testing.T, r images.Result) string {
	t.Helper()
	p, err := layout.FromPath(r.Layout)
	if err != nil {
		t.Fatal(err)
	}
	img, err := p.Image(r.Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	entry := images.BinDir + "/" + r.Name
	if cf.Config.User != fmt.Sprintf("%d:%d", images.UID, images.GID) || len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != entry || cf.OS != "linux" {
		t.Fatalf("config: user %q, entrypoint %q, os %s", cf.Config.User, cf.Config.Entrypoint, cf.OS)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), r.Name)
	found := false
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			name := "/" + strings.TrimPrefix(h.Name, "./")
			if strings.HasSuffix(name, "/sh") || strings.HasSuffix(name, "/bash") || strings.HasSuffix(name, "/busybox") {
				t.Errorf("image has a shell: %s", name)
			}
			if !h.ModTime.Equal(time.Unix(0, 0)) {
				t.Errorf("%s has time %s", name, h.ModTime)
			}
			if name == entry {
				f, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.Copy(f, tr); err != nil {
					t.Fatal(err)
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
				found = true
			}
		}
		rc.Close()
	}
	if !found {
		t.Fatalf("no %s in the image's layers", entry)
	}
	return bin
}

const (
	ownerRole = "dealercare_image_owner"
	appRole   = "dealercare_image_app"
)

type database struct {
	conn     *pgx.Conn
	ownerURL string
}

// testDatabase creates a database with an owner role the migrations run
// as and an app role they grant to, like a production cluster's; nil
// (skipping the migrate runs) without DEALERCARE_TEST_DATABASE_URL unless
// DEALERCARE_REQUIRE_INTEGRATION=1.
func testDatabase(t *testing.T) *database {
	adminURL := os.Getenv("DEALERCARE_TEST_DATABASE_URL")
	if adminURL == "" {
		if os.Getenv("DEALERCARE_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("DEALERCARE_TEST_DATABASE_URL is not set but DEALERCARE_REQUIRE_INTEGRATION=1")
		}
		t.Log("DEALERCARE_TEST_DATABASE_URL not set: images' migrate not run")
		return nil
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	name := fmt.Sprintf("dctest_images_%d", time.Now().UnixNano())
	for _, q := range []string{
		"SELECT pg_advisory_lock(hashtext('dealercare/pgtest/roles'))",
		`DO $$ BEGIN
		   IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '` + ownerRole + `') THEN CREATE ROLE ` + ownerRole + ` NOLOGIN; END IF;
		   IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '` + appRole + `') THEN CREATE ROLE ` + appRole + ` LOGIN; END IF;
		 END $$`,
		"SELECT pg_advisory_unlock(hashtext('dealercare/pgtest/roles'))",
		"CREATE DATABASE " + name + " TEMPLATE template0",
		"GRANT CREATE, CONNECT ON DATABASE " + name + " TO " + ownerRole,
		"GRANT CONNECT ON DATABASE " + name + " TO " + appRole,
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), adminURL)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	q := u.Query()
	q.Set("options", "-c role="+ownerRole)
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return &database{conn: conn, ownerURL: u.String()}
}
