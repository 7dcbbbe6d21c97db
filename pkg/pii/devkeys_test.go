package pii

import (
	"strings"
	"testing"

	"github.com/dealercare/dealercare/pkg/config"
)

func TestRandomKeysRoundTripThroughEnv(t *testing.T) {
	k := NewRandomKeys()
	m := map[string]string{}
	for _, kv := range k.Env() {
		name, v, _ := strings.Cut(kv, "=")
		m[name] = v
	}
	l := config.FromMap(m)
	got := LoadKeys(l)
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	c1, err := k.Cipher()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := got.Cipher()
	if err != nil {
		t.Fatal(err)
	}
	ct, err := c1.Encrypt("110101199003071234")
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := c2.Decrypt(ct); err != nil || pt != "110101199003071234" {
		t.Fatalf("decrypt with keys read back from env: %q %v", pt, err)
	}
}
