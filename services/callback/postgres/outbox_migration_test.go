package postgres_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/services/callback/postgres"
)

// The outbox migration is pkg/outbox's table, pasted as plain SQL: it must
// stay exactly outbox.TableSQL(""), after its leading comment.
func TestOutboxMigrationMatchesThePackage(t *testing.T) {
	fsys, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := fs.ReadFile(fsys, "0002_outbox.sql")
	if err != nil {
		t.Fatal(err)
	}
	var body []string
	for _, line := range strings.SplitAfter(string(raw), "\n") {
		if len(body) == 0 && strings.HasPrefix(line, "--") {
			continue
		}
		body = append(body, line)
	}
	if got := strings.Join(body, ""); got != outbox.TableSQL("") {
		t.Errorf("0002_outbox.sql differs from outbox.TableSQL(\"\"); regenerate it:\n%s", got)
	}
}
