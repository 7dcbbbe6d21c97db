package cli

import (
	"context"
	"net/http"

	"github.com/dealercare/dealercare/gen/go/client"
)

// newClient is the generated client (gen/go/client, from the OpenAPI
// document) as the signed-in caller: the typed calls (imports, KPIs) go
// through it; list and show, which serve any collection of the document,
// read its paths instead.
func (a *api) newClient() (*client.ClientWithResponses, error) {
	return client.NewClientWithResponses(a.base,
		client.WithHTTPClient(a.m.HTTP),
		client.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			a.authorize(req)
			return nil
		}))
}

// result is what every generated ...Result has.
type result interface{ StatusCode() int }

// check turns an answer that is not 2xx into the API's error (its
// message in the caller's language); body is the answer's raw body.
func check(res result, body []byte) error {
	if c := res.StatusCode(); c < 200 || c >= 300 {
		return apiError(c, body)
	}
	return nil
}
