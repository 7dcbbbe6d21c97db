// Package grpcclient connects dealercare processes to each other's gRPC
// services the same way everywhere: plaintext (in-cluster traffic; a mesh
// adds mTLS), OpenTelemetry trace propagation, and calls spread round
// robin over every replica the target names, so a replica that drains on
// SIGTERM (grpcserver's graceful stop) is skipped while the others serve.
//
// A target is one address ("customer:9101"), a comma-separated list of
// replicas ("10.0.0.5:9101,10.0.0.6:9101"), or any gRPC target URI: in
// Kubernetes "dns:///customer-headless:9101" resolves to every pod.
package grpcclient

import (
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// roundRobin spreads calls over the READY replicas; with one address it
// behaves as gRPC's default.
const roundRobin = `{"loadBalancingConfig":[{"round_robin":{}}]}`

// reconnect is how fast a connection to a restarted replica comes back:
// gRPC's default backoff grows to two minutes, so after a rolling restart
// the replica restarted first could still be shunned when the next one
// stops, leaving none.
var reconnect = grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
	MinConnectTimeout: 5 * time.Second,
}

// replicasScheme names the resolver of a comma-separated target.
const replicasScheme = "dealercare-replicas"

// Dial returns a lazy connection to target (see the package
// documentation); opts are added to the defaults.
func Dial(target string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	all := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
		grpc.WithDefaultServiceConfig(roundRobin),
		grpc.WithConnectParams(reconnect),
	}
	if strings.Contains(target, ",") {
		var addrs []resolver.Address
		for a := range strings.SplitSeq(target, ",") {
			if a = strings.TrimSpace(a); a != "" {
				addrs = append(addrs, resolver.Address{Addr: a})
			}
		}
		r := manual.NewBuilderWithScheme(replicasScheme)
		r.InitialState(resolver.State{Addresses: addrs})
		all = append(all, grpc.WithResolvers(r))
		target = replicasScheme + ":///" + target
	}
	conn, err := grpc.NewClient(target, append(all, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", target, err)
	}
	return conn, nil
}
