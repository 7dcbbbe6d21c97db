package importer

// SetHooks lets the integration tests (package importer_test) stop a
// runner between batches or crash it inside one; see Runner's fields.
func SetHooks(r *Runner, beforeCommit func(batch int) error, afterCommit func(batch int)) {
	r.beforeCommit, r.afterCommit = beforeCommit, afterCommit
}

// HashLane is the lane of a customer tied to no other (see scan.lane).
func HashLane(dmsID string, lanes int) int { return (&scan{}).lane(dmsID, lanes) }
