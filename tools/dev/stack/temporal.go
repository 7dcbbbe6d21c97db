package stack

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/dealercare/dealercare/pkg/temporal/devserver"
)

// temporalStartTimeout bounds the wait for a dev server to serve the
// "default" namespace; it is normally ready in about a second.
const temporalStartTimeout = 60 * time.Second

// TemporalSpec configures a Temporal dev server (`temporal server
// start-dev`).
type TemporalSpec struct {
	// Binary is the Temporal CLI, <repo>/bin/temporal.
	Binary string
	// Addr is host:port of the frontend gRPC service.
	Addr string
	// DBFile keeps state across restarts; empty keeps it in memory.
	DBFile  string
	LogPath string
	PidFile string
}

// args is the command line, with the dynamic config every dealercare dev
// server runs with (pkg/temporal/devserver).
func (s TemporalSpec) args() ([]string, error) { return devserver.Args(s.Addr, s.DBFile) }

// StartTemporal starts a dev server and waits until its "default" namespace
// answers. On failure the server is stopped and the error carries the tail
// of its log.
func StartTemporal(ctx context.Context, spec TemporalSpec) (*Process, error) {
	if _, err := os.Stat(spec.Binary); err != nil {
		return nil, fmt.Errorf("temporal CLI: %w (`make run` and `make test` build it)", err)
	}
	args, err := spec.args()
	if err != nil {
		return nil, err
	}
	p, err := StartProcess(ProcessSpec{
		Name: "temporal", Path: spec.Binary, Args: args,
		Env: os.Environ(), LogPath: spec.LogPath, PidFile: spec.PidFile,
	})
	if err != nil {
		return nil, err
	}
	if err := waitTemporal(ctx, spec.Addr, p.Done()); err != nil {
		p.Stop(StopGrace)
		return nil, fmt.Errorf("%w\n%s:\n%s", err, spec.LogPath, indent(LogExcerpt(spec.LogPath, 20), "  "))
	}
	return p, nil
}

// waitTemporal waits for the frontend's health check and then for the
// "default" namespace (devserver.ReadyCheck).
func waitTemporal(ctx context.Context, addr string, exited <-chan struct{}) error {
	check, closeConn, err := devserver.ReadyCheck(addr)
	if err != nil {
		return err
	}
	defer closeConn()
	return WaitReady(ctx, "temporal on "+addr, temporalStartTimeout, exited, check)
}
