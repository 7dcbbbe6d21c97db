// Command devtoken prints a JWT signed with the dev key that `make run`
// configures the services to trust, creating the key if needed:
//
//	devtoken -role agent -dealer SH001
//	devtoken -role region_manager -region EAST
//	devtoken -role service_manager,dealer_manager -dealer BJ001 -ttl 1h
//
// It prints the token and nothing else, so $(devtoken ...) works in shells.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/tools/dev/stack"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "devtoken: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("devtoken", flag.ContinueOnError)
	roles := fs.String("role", string(auth.RoleHQAdmin), "role, or several separated by commas")
	dealer := fs.String("dealer", "", "dealer code, required by dealer roles (e.g. SH001)")
	region := fs.String("region", "", "region code, required by region_manager (e.g. EAST)")
	ttl := fs.Duration("ttl", 12*time.Hour, "validity")
	keys := fs.String("keys", "", "dev key directory (default <repo>/.run/keys)")
	sub := fs.String("sub", "", "subject (default dev-<first role>)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	p, err := principal(*roles, *sub, *dealer, *region)
	if err != nil {
		return err
	}
	dir, err := keysDir(*keys)
	if err != nil {
		return err
	}
	token, err := stack.MintDevToken(dir, p, *ttl)
	if err != nil {
		return err
	}
	fmt.Println(token)
	return nil
}

// principal builds the token's subject from the flags; MintDevToken
// validates it (known roles, dealer and region where required).
func principal(roleList, sub, dealer, region string) (auth.Principal, error) {
	var roles []auth.Role
	for r := range strings.SplitSeq(roleList, ",") {
		if r = strings.TrimSpace(r); r != "" {
			roles = append(roles, auth.Role(r))
		}
	}
	if len(roles) == 0 {
		return auth.Principal{}, fmt.Errorf("-role: at least one role is required")
	}
	if sub == "" {
		sub = "dev-" + string(roles[0])
	}
	return auth.Principal{Subject: sub, Roles: roles, Dealer: dealer, Region: region}, nil
}

func keysDir(flagValue string) (string, error) {
	if flagValue != "" {
		return filepath.Abs(flagValue)
	}
	root, err := stack.LocateRepoRoot()
	if err != nil {
		return "", err
	}
	return stack.Paths{Root: root}.Keys(), nil
}
