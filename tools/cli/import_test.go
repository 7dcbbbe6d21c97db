package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/validate"
)

// importRows is the size of the DMS file TestImportFollowedToItsEnd
// imports: DEALERCARE_CLI_IMPORT_ROWS, default 100,000 (the size;
// 20,000 under the race detector).
func importRows(t *testing.T) int {
	v := os.Getenv("DEALERCARE_CLI_IMPORT_ROWS")
	if v == "" {
		return defaultImportRows
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1000 {
		t.Fatalf("DEALERCARE_CLI_IMPORT_ROWS=%q: want a number of at least 1000", v)
	}
	return n
}

// dmsFile writes a DMS export of n customers with a vehicle each; one row
// in every 10,000 (and the last) has a bad mobile, and one in every 25,000
// a VIN with a wrong check digit. It returns the rows expected to fail
// and the field each fails on.
func dmsFile(t *testing.T, n int) (string, map[int]string) {
	path := filepath.Join(t.TempDir(), "dms-export.csv")
	var b strings.Builder
	b.WriteString("客户编号,姓名,手机,dms_vehicle_id,vin,购车日期\n")
	bad := map[int]string{}
	for i := 1; i <= n; i++ {
		row := i + 1 // the header is row 1
		mobile := fmt.Sprintf("139%08d", i)
		vin := validate.CompleteVIN(fmt.Sprintf("LSVAB2BM0%sN%06d", string("ABCDEFGHJKLMNPRS"[i%16]), i))
		switch {
		case i%10000 == 0 || i == n:
			mobile, bad[row] = "12345", "mobile"
		case i%25000 == 1:
			vin, bad[row] = vin[:8]+wrongDigit(vin[8])+vin[9:], "vin"
		}
		fmt.Fprintf(&b, "C%07d,客户%d,%s,V%07d,%s,2024-03-%02d\n", i, i, mobile, i, vin, 1+i%28)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, bad
}

func wrongDigit(c byte) string {
	if c == '1' {
		return "2"
	}
	return "1"
}

// The CLI's import follows a large import (see importRows) to its
// end with a progress bar and prints its row errors; the same file again
// changes nothing.
func TestImportFollowedToItsEnd(t *testing.T) {
	n := importRows(t)
	s := startStack(t)
	s.network(t)
	cfg := filepath.Join(t.TempDir(), "config.json")
	agent := s.token(t, auth.Principal{Subject: "agent", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	if r := s.cli(t, cfg, "login", "--url", s.url, "--token", agent); r.code != 0 {
		t.Fatalf("login: %+v", r)
	}
	file, bad := dmsFile(t, n)

	began := time.Now()
	r := s.cli(t, cfg, "--lang", "en", "import", file, "--dealer", "SH001")
	took := time.Since(began)
	t.Logf("%d rows imported through the CLI in %s (%.0f rows/s)", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	// Exit 3: the import succeeded with rejected rows.
	if r.code != 3 {
		t.Fatalf("import: exit %d\nstdout:\n%s\nstderr:\n%.2000s", r.code, r.stdout, r.stderr)
	}

	// The bar: counts of processed rows out of the total, rising to it.
	counts := regexp.MustCompile(`\((\d+)/`+strconv.Itoa(n)+`, `).FindAllStringSubmatch(r.stderr, -1)
	seen := map[int]bool{}
	for _, m := range counts {
		v, _ := strconv.Atoi(m[1])
		seen[v] = true
	}
	between := 0
	for v := range seen {
		if v > 0 && v < n {
			between++
		}
	}
	if !seen[n] || between == 0 || !strings.Contains(r.stderr, "100%") {
		t.Errorf("the progress bar did not follow the import: %d intermediate counts, final %v\n%.3000s", between, seen[n], r.stderr)
	}
	t.Logf("the bar showed %d counts between 0 and %d", between, n)

	// The summary and every rejected row with its field.
	for _, want := range []string{
		`^state\s+IMPORT_STATE_SUCCEEDED$`, fmt.Sprintf(`^rows\s+%d$`, n),
		fmt.Sprintf(`^inserted\s+%d$`, n-len(bad)), fmt.Sprintf(`^rejected\s+%d$`, len(bad)),
		`^ROW\s+FIELD\s+REASON$`,
	} {
		if !regexp.MustCompile(`(?m)` + want).MatchString(r.stdout) {
			t.Errorf("stdout lacks %s:\n%.3000s", want, r.stdout)
		}
	}
	for row, field := range bad {
		if !regexp.MustCompile(`(?m)^` + strconv.Itoa(row) + `\s+` + field + `\s+\S`).MatchString(r.stdout) {
			t.Errorf("row %d (%s) is not among the printed errors:\n%.3000s", row, field, r.stdout)
		}
	}
	if got := len(regexp.MustCompile(`(?m)^\d+\s+(mobile|vin)\s`).FindAllString(r.stdout, -1)); got != len(bad) {
		t.Errorf("%d error rows printed, want %d", got, len(bad))
	}

	// Again, in Chinese and as JSON: nothing changes.
	r = s.cli(t, cfg, "--json", "--lang", "zh-CN", "import", file, "--dealer", "SH001")
	if r.code != 3 || !strings.Contains(r.stdout, fmt.Sprintf(`"unchangedRows": %d`, n-len(bad))) || !strings.Contains(r.stdout, `"field": "mobile"`) || !strings.Contains(r.stderr, "正在导入") {
		t.Errorf("re-import: exit %d\n%.2000s\n%.500s", r.code, r.stdout, r.stderr)
	}
	r = s.cli(t, cfg, "list", "imports", "--dealer", "SH001")
	if r.code != 0 || strings.Count(r.stdout, "IMPORT_STATE_SUCCEEDED") != 2 {
		t.Errorf("list imports: %+v", r)
	}
}
