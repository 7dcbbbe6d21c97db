package migorder

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/dealercare/dealercare/tools/dev/stack"
)

func TestViolations(t *testing.T) {
	files := []Added{
		{File: "m/0001_a.sql", Version: 1, Commit: "c0", Step: 0},
		{File: "m/0070_b.sql", Version: 70, Commit: "c1", Step: 1},
		{File: "m/0071_c.sql", Version: 71, Commit: "c2", Step: 2},
		{File: "m/0060_late.sql", Version: 60, Commit: "c2", Step: 2}, // same landing as 0071: fine against it, not against 0070
		{File: "m/0072_d.sql", Version: 72, Commit: "c3", Step: 3},
	}
	got := Violations(files)
	if len(got) != 1 || !strings.Contains(got[0], "m/0060_late.sql") || !strings.Contains(got[0], "number it above 0070") {
		t.Fatalf("violations = %q, want one naming m/0060_late.sql and 0070", got)
	}
	if v := Violations(files[:3]); len(v) != 0 {
		t.Fatalf("in-order files gave %q", v)
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := stack.FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	if err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Run(); err != nil {
		t.Skipf("%s is not a git checkout", root)
	}
	return root
}

// TestMigrationsLandedInOrder: every migration now in the tree is numbered
// above every one that landed before it, in every service.
func TestMigrationsLandedInOrder(t *testing.T) {
	root := repoRoot(t)
	dirs, err := Dirs(root, "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 6 {
		t.Fatalf("found migrations directories %q, want every service's", dirs)
	}
	for _, d := range dirs {
		files, ok, err := History(root, "HEAD", d)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Skip("shallow clone: the landing order of migrations is unknown")
		}
		if len(files) == 0 {
			t.Errorf("%s: no migration files found in history", d)
		}
		for _, v := range Violations(files) {
			if !grandfathered(v) {
				t.Error(v)
			}
		}
	}
}

// mergedTogether are files added out of order by merges minutes apart in one
// session's merge run (session 9 at 23:19-23:26 on 2026-12-06, session 10 at
// 07:45 on 2026-12-07): no stop landed between them, so no database ever held
// the higher number without the lower one.
var mergedTogether = []string{
	"services/campaign/postgres/migrations/0004_recall_vins.sql",
	"services/campaign/postgres/migrations/0005_maintenance_plans.sql",
	"services/campaign/postgres/migrations/0006_dealer_messaging_policies.sql",
	"services/evaluation/postgres/migrations/0010_ranking_settings.sql",
	"services/evaluation/postgres/migrations/0052_survey_answers.sql",
}

func grandfathered(violation string) bool {
	for _, f := range mergedTogether {
		if strings.HasPrefix(violation, f+" ") {
			return true
		}
	}
	return false
}

// TestCatchesSession11Renumbering: the tree of 48b3721 added campaign's
// 0060_greeting_policy.sql and customer's 0062_customers_birthday_index.sql
// after their 0070 files had shipped, which broke the upgrade of released
// databases; the check must name both.
func TestCatchesSession11Renumbering(t *testing.T) {
	root := repoRoot(t)
	const rev = "48b3721"
	if err := exec.Command("git", "-C", root, "cat-file", "-e", rev+"^{commit}").Run(); err != nil {
		t.Skipf("commit %s is not in this clone", rev)
	}
	want := map[string]string{
		"services/campaign/postgres/migrations": "0060_greeting_policy.sql",
		"services/customer/postgres/migrations": "0062_customers_birthday_index.sql",
	}
	for dir, file := range want {
		files, ok, err := History(root, rev, dir)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Skip("shallow clone")
		}
		var named []string
		for _, v := range Violations(files) {
			if !grandfathered(v) {
				named = append(named, v)
			}
		}
		if len(named) != 1 || !strings.Contains(named[0], file) {
			t.Errorf("%s at %s: violations %q, want one naming %s", dir, rev, named, file)
		}
	}
}
