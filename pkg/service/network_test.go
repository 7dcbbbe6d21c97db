package service

import (
	"strings"
	"testing"

	"github.com/dealercare/dealercare/pkg/config"
)

func TestLoadNetworkConfig(t *testing.T) {
	l := config.FromMap(map[string]string{"SERVICE_TOKEN_FILE": "/run/secrets/token"})
	if got, want := LoadNetworkConfig(l), (NetworkConfig{CustomerTarget: "127.0.0.1:9101", ServiceTokenFile: "/run/secrets/token"}); got != want || l.Err() != nil {
		t.Errorf("defaults: %+v (%v), want %+v", got, l.Err(), want)
	}
	l = config.FromMap(map[string]string{"CUSTOMER_GRPC_TARGET": "customer:9101"})
	if got := LoadNetworkConfig(l); got.CustomerTarget != "customer:9101" {
		t.Errorf("CUSTOMER_GRPC_TARGET: %q", got.CustomerTarget)
	}
	if err := l.Err(); err == nil || !strings.Contains(err.Error(), "SERVICE_TOKEN_FILE") {
		t.Errorf("without a token file: %v, want an error naming SERVICE_TOKEN_FILE", err)
	}
}
