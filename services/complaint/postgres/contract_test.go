package postgres_test

import (
	"testing"

	"github.com/dealercare/dealercare/services/complaint/complaint"
	"github.com/dealercare/dealercare/services/complaint/complaint/complainttest"
)

// The PostgreSQL store keeps the repository contract (before it did, an
// update of category, description, customer or vin was answered and lost).
func TestStoreContract(t *testing.T) {
	complainttest.StoreContract(t, func(t *testing.T) complaint.Store { return open(t) })
}
