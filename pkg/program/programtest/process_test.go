package programtest_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/dealercare/dealercare/pkg/program/programtest"
)

// helperEnv makes the test binary act as a program that logs the value
// and exits.
const helperEnv = "PROGRAMTEST_HELPER_LOG"

func TestMain(m *testing.M) {
	if line := os.Getenv(helperEnv); line != "" {
		fmt.Println(line)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// recorder is a test whose errors and cleanups are kept, so a test can
// check what Start makes of a program's log.
type recorder struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Failed() bool        { return len(r.errs) > 0 }
func (r *recorder) Cleanup(f func())    { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Logf(string, ...any) {}

func (r *recorder) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// runLogging runs the helper program logging line, restarted once (the
// log appends), and returns the errors its test got.
func runLogging(t *testing.T, line string) []string {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{TB: t}
	dir := t.TempDir()
	for range 2 {
		p := programtest.Start(r, bin, dir, []string{helperEnv + "=" + line})
		if err := p.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	r.end()
	return r.errs
}

// A program that logs a clear mobile number fails its test, once per
// line however often it was restarted; a masked one passes.
func TestStartScansLogsForPersonalData(t *testing.T) {
	errs := runLogging(t, `{"level":"INFO","msg":"calling","to":"13912345678"}`)
	if len(errs) != 2 || !strings.Contains(errs[0], "mobile 13912345678") {
		t.Errorf("a logged mobile gave errors %q; want one per line written", errs)
	}
	if errs := runLogging(t, `{"level":"INFO","msg":"calling","to":"139****5678"}`); len(errs) != 0 {
		t.Errorf("a masked mobile gave errors %q", errs)
	}
	if errs := runLogging(t, `{"msg":"sent","to":"li.na@example.com","id":"11010119900307123X"}`); len(errs) != 4 {
		t.Errorf("an email and an ID number on two runs gave %q; want 4 errors", errs)
	}
}
