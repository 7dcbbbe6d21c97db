package callbacktest_test

import (
	"testing"

	"github.com/dealercare/dealercare/services/callback/callback"
	"github.com/dealercare/dealercare/services/callback/callback/callbacktest"
)

func TestFakeKeepsTheStoreContract(t *testing.T) {
	callbacktest.StoreContract(t, func(*testing.T) callback.Store { return callbacktest.NewFake() })
}
