package complainttest_test

import (
	"testing"

	"github.com/dealercare/dealercare/services/complaint/complaint"
	"github.com/dealercare/dealercare/services/complaint/complaint/complainttest"
)

func TestFakeKeepsTheStoreContract(t *testing.T) {
	complainttest.StoreContract(t, func(*testing.T) complaint.Store { return complainttest.NewFake() })
}
