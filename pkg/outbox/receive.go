package outbox

import (
	"encoding/json"
	"fmt"
	"time"
)

// Envelope is the signal argument the relay sends: one event. A workflow
// receives it from the event's signal channel and decodes the payload with
// [Envelope.Decode].
type Envelope struct {
	// EventID is unique per event and the same on every redelivery.
	EventID  string `json:"event_id"`
	Kind     string `json:"kind"`
	DealerID string `json:"dealer_id"`
	// OccurredAt is when the event was recorded (UTC).
	OccurredAt time.Time       `json:"occurred_at"`
	Payload    json.RawMessage `json:"payload"`
}

// Decode unmarshals the payload into v.
func (e Envelope) Decode(v any) error {
	if err := json.Unmarshal(e.Payload, v); err != nil {
		return fmt.Errorf("outbox: decode %s event %s: %w", e.Kind, e.EventID, err)
	}
	return nil
}

// DefaultDedupSize is how many event ids a zero Dedup remembers.
const DefaultDedupSize = 1000

// Dedup remembers the ids of the events a workflow has processed, so a
// redelivered event (see [Relay]) is recognised and dropped. Keep it in the
// workflow's state and pass it on through ContinueAsNew; its fields are
// exported so it serializes with the workflow input. The zero value is
// ready to use.
//
// It is bounded: it forgets the oldest ids beyond Size. Redelivery happens
// when a relay dies between hand-off and commit, so the duplicate follows
// the original by seconds to minutes; Size must exceed the number of events
// a workflow can receive in that time, which the default does by far for
// an entity's workflow.
//
// Dedup is deterministic (no map iteration, no clock) and safe in workflow
// code; it is not safe for concurrent use, which workflow code never needs.
type Dedup struct {
	// IDs are the remembered ids, oldest first.
	IDs []string `json:"ids,omitempty"`
	// Size is the bound; zero means DefaultDedupSize.
	Size int `json:"size,omitempty"`

	index map[string]struct{} // of IDs, rebuilt after decoding
}

// Seen reports whether id was seen before, and remembers it if not. Call it
// once per received envelope and skip the event when it returns true.
func (d *Dedup) Seen(id string) bool {
	if len(d.index) != len(d.IDs) || d.index == nil {
		d.index = make(map[string]struct{}, len(d.IDs))
		for _, x := range d.IDs {
			d.index[x] = struct{}{}
		}
	}
	if _, ok := d.index[id]; ok {
		return true
	}
	size := d.Size
	if size <= 0 {
		size = DefaultDedupSize
	}
	if over := len(d.IDs) + 1 - size; over > 0 {
		for _, x := range d.IDs[:over] {
			delete(d.index, x)
		}
		// Copy down so the backing array does not grow with every id.
		d.IDs = d.IDs[:copy(d.IDs, d.IDs[over:])]
	}
	d.IDs = append(d.IDs, id)
	d.index[id] = struct{}{}
	return false
}

// Len is the number of remembered ids.
func (d *Dedup) Len() int { return len(d.IDs) }
