package cli

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/tools/dev/stack"
)

// login checks a token against the gateway (one small list of dealers)
// and saves it: given with --token, or minted from the dev key that `make
// run` trusts with --dev.
func (m *Main) login(ctx context.Context, g globals, args []string) error {
	fs := flag.NewFlagSet("login", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	url := fs.String("url", g.url, "gateway URL, e.g. http://127.0.0.1:8080")
	token := fs.String("token", g.token, "a bearer token from the identity provider")
	dev := fs.Bool("dev", false, "mint a token from the dev key (make run's .run/keys)")
	keys := fs.String("keys", ".run/keys", "dev key directory")
	role := fs.String("role", string(auth.RoleHQAdmin), "dev token's role(s), comma-separated")
	dealer := fs.String("dealer", "", "dev token's dealer code (dealer roles)")
	region := fs.String("region", "", "dev token's region code (region_manager)")
	ttl := fs.Duration("ttl", 12*time.Hour, "dev token's validity")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" {
		*url = m.Env("DEALERCARE_URL")
	}
	if *url == "" {
		return exitError{code: 2, msg: "login: --url is required"}
	}
	switch {
	case *dev && *token != "":
		return exitError{code: 2, msg: "login: --token or --dev, not both"}
	case *dev:
		var roles []auth.Role
		for _, r := range strings.Split(*role, ",") {
			if r = strings.TrimSpace(r); r != "" {
				roles = append(roles, auth.Role(r))
			}
		}
		if len(roles) == 0 {
			return exitError{code: 2, msg: "login: --role is required"}
		}
		dir, err := filepath.Abs(*keys)
		if err != nil {
			return err
		}
		p := auth.Principal{Subject: "dev-" + string(roles[0]), Roles: roles, Dealer: *dealer, Region: *region}
		if *token, err = stack.MintDevToken(dir, p, *ttl); err != nil {
			return fmt.Errorf("login: %w", err)
		}
	case *token == "":
		*token = m.Env("DEALERCARE_TOKEN")
	}
	if *token == "" {
		return exitError{code: 2, msg: "login: --token or --dev is required"}
	}
	s := signIn{URL: strings.TrimRight(*url, "/"), Token: *token}
	a, err := newAPI(m, g, s)
	if err != nil {
		return err
	}
	var page map[string]any
	if err := a.call(ctx, "GET", "/v1/dealers?page_size=1", nil, &page); err != nil {
		return err
	}
	path, err := m.save(s)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, a.msg("signed in to %s (saved in %s)\n", "已登录 %s（保存在 %s）\n"), s.URL, path)
	return nil
}
