package telemetrytest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/dealercare/dealercare/pkg/telemetry"
)

// Personal data in clear, found independently of pkg/pii's masking (which
// these scans check): a mainland mobile (13812345678, 138 1234 5678,
// 138-1234-5678), an 18-character resident ID number, an email address.
// A number counts only when no digit touches it, like pii.Scrub.
var (
	clearMobile = regexp.MustCompile(`1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4}`)
	clearID     = regexp.MustCompile(`[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]`)
	clearEmail  = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)
)

// systemAddresses are email addresses that name no person: the campaign
// service's sender (SMTP_FROM's default).
var systemAddresses = map[string]bool{"service@dealercare.example": true}

// FindClear returns the personal data in clear in s, each as
// "mobile 13812345678", "resident ID ...", "email ...".
func FindClear(s string) []string {
	var found []string
	bounded := func(kind string, re *regexp.Regexp) {
		for _, loc := range re.FindAllStringIndex(s, -1) {
			if (loc[0] > 0 && isDigit(s[loc[0]-1])) || (loc[1] < len(s) && isDigit(s[loc[1]])) {
				continue
			}
			found = append(found, kind+" "+s[loc[0]:loc[1]])
		}
	}
	bounded("resident ID", clearID)
	bounded("mobile", clearMobile)
	for _, m := range clearEmail.FindAllString(s, -1) {
		if !systemAddresses[strings.ToLower(m)] {
			found = append(found, "email "+m)
		}
	}
	return found
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// LogScan is a log destination that finds personal data in clear in every
// line written to it, and passes the lines on.
type LogScan struct {
	next    io.Writer
	mu      sync.Mutex
	partial []byte
	leaks   []string
	lines   int
}

// NewLogScan returns a LogScan writing on to next (nil: nowhere).
func NewLogScan(next io.Writer) *LogScan {
	if next == nil {
		next = io.Discard
	}
	return &LogScan{next: next}
}

func (s *LogScan) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.scan(string(s.partial[:i]), "")
		s.partial = s.partial[i+1:]
	}
	s.mu.Unlock()
	return s.next.Write(p)
}

func (s *LogScan) scan(line, where string) {
	s.lines++
	for _, f := range FindClear(line) {
		if len(line) > 400 {
			line = line[:400] + "…"
		}
		s.leaks = append(s.leaks, fmt.Sprintf("%s%s in: %s", where, f, line))
	}
}

// ScanFile scans a process's log file (as the process-based tests write
// them).
func (s *LogScan) ScanFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	s.mu.Lock()
	defer s.mu.Unlock()
	for sc.Scan() {
		s.scan(sc.Text(), path+": ")
	}
	return sc.Err()
}

// Leaks returns what was found, and how many lines were scanned.
func (s *LogScan) Leaks() ([]string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.partial) > 0 {
		s.scan(string(s.partial), "")
		s.partial = nil
	}
	return append([]string(nil), s.leaks...), s.lines
}

// CaptureLogs makes every log of this test binary go through a LogScan on
// to w: slog's default logger becomes the one every dealercare process
// uses (telemetry.NewLogger: JSON, personal data masked), at debug level
// so the most is scanned, and the standard log package writes to it too.
// Components run in process log through slog.Default unless given a
// logger. For a TestMain: run the tests, then fail on Leaks.
func CaptureLogs(w io.Writer, level slog.Level) *LogScan {
	s := NewLogScan(w)
	slog.SetDefault(telemetry.NewLogger(s, "test", level))
	log.SetOutput(s)
	return s
}

// ExitCode is code, or 1 when s found personal data (each leak printed to
// w).
func (s *LogScan) ExitCode(code int, w io.Writer) int {
	leaks, lines := s.Leaks()
	for _, l := range leaks {
		fmt.Fprintln(w, "personal data in clear in a log:", l)
	}
	if len(leaks) > 0 {
		fmt.Fprintf(w, "FAIL: %d log lines of %d hold personal data in clear\n", len(leaks), lines)
		if code == 0 {
			code = 1
		}
	} else {
		fmt.Fprintf(w, "log scan: %d lines, no mobile, resident ID or email in clear\n", lines)
	}
	return code
}
