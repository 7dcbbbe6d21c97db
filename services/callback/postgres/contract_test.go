package postgres_test

import (
	"testing"

	"github.com/dealercare/dealercare/services/callback/callback"
	"github.com/dealercare/dealercare/services/callback/callback/callbacktest"
)

// The PostgreSQL store keeps the repository contract the Fake keeps.
func TestStoreContract(t *testing.T) {
	callbacktest.StoreContract(t, func(t *testing.T) callback.Store {
		s, _ := open(t)
		return s
	})
}
