package demo

import (
	"context"
	"fmt"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
)

// CallbackAgents are the demo's callback agents at every dealer. The first
// is the subject `make token ROLE=agent DEALER=<code>` mints, so a
// developer's agent token finds its own queue.
var CallbackAgents = []struct{ Subject, Name string }{
	{"dev-agent", "王晓（客服专员）"},
	{"dev-agent-2", "李娜（客服专员）"},
}

// LoadCallbackAgents puts the demo agents into every dealer's callback
// rotation; an agent already there stays (the call reactivates it).
func LoadCallbackAgents(ctx context.Context, client callbackv1.CallbackServiceClient, n DealerNetwork) (int, error) {
	added := 0
	for _, d := range n.Dealers {
		for _, a := range CallbackAgents {
			if _, err := client.CreateCallbackAgent(ctx, &callbackv1.CreateCallbackAgentRequest{
				Dealer: d.Code, Agent: &callbackv1.CallbackAgent{Subject: a.Subject, DisplayName: a.Name},
			}); err != nil {
				return added, fmt.Errorf("callback agent %s at %s: %w", a.Subject, d.Code, err)
			}
			added++
		}
	}
	return added, nil
}
