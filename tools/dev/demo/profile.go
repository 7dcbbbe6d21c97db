package demo

import "hash/fnv"

// Profile is how well a demo dealer works, so the year of demo data gives
// each dealer its own KPIs and the ranking has a top and a bottom: the
// share of its repair orders booked by appointment (appointment_rate) and
// the share of its visits followed by a repair comeback within 30 days
// (what first_time_fix_rate counts against it), and the share of due
// callbacks its agents answer and complete (callback_rate_3dc and 7dc;
// the rest they miss).
type Profile struct {
	Appointment float64
	Comebacks   float64
	AnswerRate  float64
}

// profiles name the dealers the demo tells a story about; the others get
// a profile spread from their code.
var profiles = map[string]Profile{
	"SH001":  {Appointment: 0.62, Comebacks: 0.02, AnswerRate: 0.98}, // the network's model dealer
	"GZ001":  {Appointment: 0.55, Comebacks: 0.04, AnswerRate: 0.92},
	"TJ001":  {Appointment: 0.12, Comebacks: 0.30, AnswerRate: 0.30}, // its agents miss calls, it fixes things twice
	"KSG001": {Appointment: 0.08, Comebacks: 0.22, AnswerRate: 0.45},
}

// ProfileOf returns dealer's profile.
func ProfileOf(dealer string) Profile {
	if p, ok := profiles[dealer]; ok {
		return p
	}
	h := fnv.New32a()
	h.Write([]byte(dealer))
	x := float64(h.Sum32()%1000) / 1000 // 0 = weakest, 1 = strongest
	return Profile{Appointment: 0.2 + 0.35*x, Comebacks: 0.16 - 0.12*x, AnswerRate: 0.55 + 0.4*x}
}
