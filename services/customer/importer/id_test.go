package importer

import (
	"testing"

	"github.com/dealercare/dealercare/pkg/validate"
)

func TestNewIDIsTimeOrderedUUIDv7(t *testing.T) {
	prev := newID()
	for range 1000 {
		id := newID()
		if !validate.IsUUID(id) || id[14] != '7' || id[19] < '8' || id[19] > 'b' {
			t.Fatalf("newID() = %s, not a UUIDv7", id)
		}
		if id[:13] < prev[:13] {
			t.Fatalf("%s sorts before the earlier %s", id, prev)
		}
		prev = id
	}
}
