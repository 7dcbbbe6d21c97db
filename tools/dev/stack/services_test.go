package stack

import (
	"net"
	"net/url"
	"testing"
)

func TestServicesTable(t *testing.T) {
	names := map[string]bool{}
	addrs := map[string]string{temporalAddr: "temporal", "127.0.0.1:55432": "postgres"}
	envs := map[string]bool{}
	for _, s := range services {
		if names[s.name] {
			t.Errorf("service %s listed twice", s.name)
		}
		names[s.name] = true
		if other, dup := addrs[s.addr]; dup {
			t.Errorf("%s and %s share %s", s.name, other, s.addr)
		}
		addrs[s.addr] = s.name
		if envs[s.addrEnv] {
			t.Errorf("%s reuses listen variable %s", s.name, s.addrEnv)
		}
		envs[s.addrEnv] = true
		host, _, err := net.SplitHostPort(s.addr)
		if err != nil || !net.ParseIP(host).IsLoopback() {
			t.Errorf("%s listens on %q; want a loopback host:port", s.name, s.addr)
		}
	}
	for _, name := range []string{gatewayService, demoService} {
		if _, err := serviceNamed(name); err != nil {
			t.Error(err)
		}
	}
	if _, err := serviceNamed("nope"); err == nil {
		t.Error(`serviceNamed("nope") succeeded`)
	}
}

func TestServiceEnv(t *testing.T) {
	st := stackSettings{
		keysDir:          "/repo/.run/keys",
		appDatabaseURL:   "postgres://dealercare_app:pw@127.0.0.1:55432/dealercare",
		serviceTokenFile: "/repo/.run/keys/worker.token",
	}
	base := []string{"PATH=/bin", "DATABASE_URL=postgres://postgres@admin", "MIGRATE_DATABASE_URL=x", "AUTH_ISSUER=prod"}
	tests := []struct {
		service string
		want    map[string]string // "" means absent
	}{
		{"customer", map[string]string{
			"CUSTOMER_GRPC_ADDR":   "127.0.0.1:9101",
			"DATABASE_URL":         st.appDatabaseURL,
			"SERVICE_TOKEN_FILE":   "",
			"MIGRATE_DATABASE_URL": "",
		}},
		{"worker", map[string]string{
			"WORKER_HEALTH_ADDR":   "127.0.0.1:9190",
			"TEMPORAL_ADDRESS":     "127.0.0.1:7233",
			"CUSTOMER_GRPC_TARGET": "127.0.0.1:9101",
			"SERVICE_TOKEN_FILE":   st.serviceTokenFile,
			"DATABASE_URL":         "",
		}},
		{"gateway", map[string]string{
			"GATEWAY_HTTP_ADDR":    "127.0.0.1:8080",
			"CUSTOMER_GRPC_TARGET": "127.0.0.1:9101",
			"AUTH_JWKS_URL":        "/repo/.run/keys/dev-jwks.json",
			"AUTH_ISSUER":          "dealercare-dev",
			"AUTH_AUDIENCE":        "dealercare",
			"DATABASE_URL":         st.appDatabaseURL, // idempotency records
			"PATH":                 "/bin",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			s, err := serviceNamed(tt.service)
			if err != nil {
				t.Fatal(err)
			}
			env := serviceEnv(base, s, st)
			for k, want := range tt.want {
				got, ok := LookupEnv(env, k)
				switch {
				case want == "" && ok:
					t.Errorf("%s=%s is set; want it absent", k, got)
				case want != "" && got != want:
					t.Errorf("%s=%q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestDatabaseURLs(t *testing.T) {
	urls, err := devDatabase.urls("postgres://postgres@127.0.0.1:55432/dealercare?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	if want := "postgres://dealercare_app:dealercare_app@127.0.0.1:55432/dealercare?sslmode=disable"; urls.App != want {
		t.Errorf("app URL %s, want %s", urls.App, want)
	}
	u, err := url.Parse(urls.Migrate)
	if err != nil {
		t.Fatal(err)
	}
	if u.User.String() != "postgres" || u.Path != "/dealercare" || u.Query().Get("options") != "-c role=dealercare_owner" {
		t.Errorf("migrate URL %s: want the admin's credentials on dealercare with role dealercare_owner", urls.Migrate)
	}
}
