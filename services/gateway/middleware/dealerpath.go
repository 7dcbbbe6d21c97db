package middleware

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/dealerlist"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DealerPathGuard answers 404 at the edge when a user addresses a dealer
// outside their view by path (/v1/dealers/{other}/...): for dealer staff
// another dealer, for a region manager a dealer of another region, for HQ a
// dealer that does not exist (whose lists would otherwise answer empty, as
// if a mistyped code were a dealer without complaints). The services check
// again (and PostgreSQL row-level security below them); answering here
// keeps the answer uniform, whatever a service would have validated
// first, and saves the call.
func DealerPathGuard(client customerv1.DealerNetworkServiceClient) func(http.Handler) http.Handler {
	network := &visibleDealers{client: client, cache: map[string]dealersEntry{}}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := auth.PrincipalFromContext(r.Context())
			rest, scoped := strings.CutPrefix(r.URL.Path, "/v1/dealers/")
			if !ok || !scoped || p.IsService() {
				next.ServeHTTP(w, r)
				return
			}
			code, _, _ := strings.Cut(rest, "/")
			code, _, _ = strings.Cut(code, ":")
			visible := code == "" || (p.IsDealer() && code == p.Dealer) || acrossDealers(r)
			if !visible && (p.IsRegion() || p.IsHQ()) {
				var err error
				visible, err = network.sees(r.Context(), p, r.Header.Get("Authorization"), code)
				if err != nil {
					WriteStatus(w, http.StatusServiceUnavailable, codes.Unavailable, "dealer network unavailable, retry later")
					return
				}
			}
			if !visible {
				msg := fmt.Sprintf("dealer %q not found", code)
				if apperr.ParseAcceptLanguage(r.Header.Get("Accept-Language")) == apperr.LangZH {
					msg = fmt.Sprintf("经销商“%s”不存在", code)
				}
				WriteStatus(w, http.StatusNotFound, codes.NotFound, msg)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// acrossDealers reports whether r reads a collection across every dealer
// the caller sees (/v1/dealers/-/complaints): the service scopes it.
func acrossDealers(r *http.Request) bool {
	switch r.URL.Path {
	case "/v1/dealers/" + tenancy.AnyDealer + "/complaints", "/v1/dealers/" + tenancy.AnyDealer + "/notifications":
		return r.Method == http.MethodGet
	}
	return false
}

// visibleDealers caches, per region, the dealers the customer service says
// a region manager sees, for a short while: a dealer moved between regions
// is seen within dealerCacheTTL, and a code missing from a list older than
// dealerRecheck is asked again. HQ sees every dealer, so for HQ it caches
// the network's codes the same way, and asks the customer service for a
// code missing from them (one dealer: a dealer just created is found at
// once, and a mistyped code costs one lookup).
type visibleDealers struct {
	client customerv1.DealerNetworkServiceClient
	mu     sync.Mutex
	cache  map[string]dealersEntry
}

type dealersEntry struct {
	codes []string
	at    time.Time
}

const (
	dealerCacheTTL = 30 * time.Second
	dealerRecheck  = 2 * time.Second
)

// sees reports whether p (a region manager or HQ) sees dealer code.
func (vd *visibleDealers) sees(ctx context.Context, p *auth.Principal, authorization, code string) (bool, error) {
	key := "region:" + p.Region
	if p.IsHQ() {
		key = "hq"
	}
	vd.mu.Lock()
	e, ok := vd.cache[key]
	vd.mu.Unlock()
	age := time.Since(e.at)
	fresh := ok && age < dealerCacheTTL
	switch {
	case fresh && slices.Contains(e.codes, code):
		return true, nil
	case fresh && p.IsHQ():
		return vd.exists(ctx, authorization, code)
	case fresh && age < dealerRecheck:
		return false, nil
	}
	// Asked with the caller's own token: the customer service applies its
	// visibility rule to exactly this principal.
	raw, _ := auth.BearerToken(authorization)
	list, err := dealerlist.Codes(auth.WithToken(ctx, raw), vd.client)
	if err != nil {
		return false, err
	}
	vd.mu.Lock()
	vd.cache[key] = dealersEntry{codes: list, at: time.Now()}
	vd.mu.Unlock()
	return slices.Contains(list, code), nil
}

// exists asks the customer service whether dealer code exists, with the
// caller's (HQ's) token.
func (vd *visibleDealers) exists(ctx context.Context, authorization, code string) (bool, error) {
	raw, _ := auth.BearerToken(authorization)
	_, err := vd.client.GetDealer(auth.WithToken(ctx, raw), &customerv1.GetDealerRequest{Dealer: code})
	switch status.Code(err) {
	case codes.OK:
		return true, nil
	case codes.NotFound, codes.InvalidArgument:
		return false, nil
	}
	return false, err
}
