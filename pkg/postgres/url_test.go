package postgres

import (
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"testing"
)

func TestURLHelpers(t *testing.T) {
	const base = "postgres://postgres:pw@127.0.0.1:5432/postgres?sslmode=disable"

	got, err := WithUser(base, "app", "p@ss word")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(got)
	if pw, _ := u.User.Password(); u.User.Username() != "app" || pw != "p@ss word" || u.Query().Get("sslmode") != "disable" {
		t.Errorf("WithUser() = %s", got)
	}

	got, err = WithUser(base, "app", "")
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := url.Parse(got); u.User.String() != "app" {
		t.Errorf("WithUser() without password = %s", got)
	}

	got, err = WithDatabase(base, "dctest_1")
	if err != nil {
		t.Fatal(err)
	}
	if want := "postgres://postgres:pw@127.0.0.1:5432/dctest_1?sslmode=disable"; got != want {
		t.Errorf("WithDatabase() = %s, want %s", got, want)
	}

	got, err = WithRole(base+"&options=-c%20statement_timeout%3D5s", "my owner")
	if err != nil {
		t.Fatal(err)
	}
	cc, err := pgconn.ParseConfig(got)
	if err != nil {
		t.Fatal(err)
	}
	if want := `-c statement_timeout=5s -c role=my\ owner`; cc.RuntimeParams["options"] != want {
		t.Errorf("WithRole() = %s, pgx reads options %q, want %q", got, cc.RuntimeParams["options"], want)
	}

	for _, bad := range []string{"host=db user=x", "mysql://x@y/z", "postgres://x:secret@[::1/z"} {
		if _, err := WithDatabase(bad, "d"); err == nil {
			t.Errorf("WithDatabase(%q) = nil error", bad)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("WithDatabase(%q) error %q leaks the password", bad, err)
		}
	}
}
