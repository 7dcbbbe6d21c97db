package importer

// SetHooks lets the integration tests (package importer_test) stop a
// runner between batches or crash it inside one; see Runner's fields.
func SetHooks(r *Runner, beforeCommit func(batch int) error, afterCommit func(batch int)) {
	r.beforeCommit, r.afterCommit = beforeCommit, afterCommit
}
