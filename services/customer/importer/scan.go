package importer

import (
	"errors"
	"hash/fnv"
	"hash/maphash"
	"io"
	"strings"

	"github.com/dealercare/dealercare/pkg/validate"
)

// scan is what reading the whole file once found. Everything that can
// fail the import as a whole (encoding, header, CSV syntax) is found here,
// before any row is written.
type scan struct {
	src    *source
	header *header
	total  int // data rows, blank ones excluded
	// lastCustomer and lastVehicle map the keys (DMS customer id, VIN)
	// found on several rows to the last of those rows.
	seed                      maphash.Seed
	lastCustomer, lastVehicle map[uint64]int
	// tied holds the DMS customer ids (hashed) that share a vehicle key
	// (VIN or DMS vehicle id) with another DMS customer id in the file:
	// they are written in the serial lane (see lane).
	tied map[uint64]bool
}

func scanFile(content []byte, declared string) (*scan, error) {
	src, err := openSource(content, declared)
	if err != nil {
		return nil, err
	}
	rs := src.records()
	rec, err := rs.next()
	if errors.Is(err, io.EOF) {
		return nil, fileErrorf("the file is empty; the first row must be the header")
	}
	if err != nil {
		return nil, err
	}
	h, err := mapHeader(rec)
	if err != nil {
		return nil, &fileError{msg: err.Error()}
	}
	s := &scan{src: src, header: h, seed: maphash.MakeSeed()}
	customers, vehicles := newLastSeen(), newLastSeen()
	owners := newOwners()
	for {
		rec, err := rs.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if blank(rec) {
			continue
		}
		s.total++
		id := h.value(rec, colDMSCustomerID)
		cust := maphash.String(s.seed, id)
		if id != "" {
			customers.see(cust, rs.row)
		}
		if vin := h.value(rec, colVIN); vin != "" {
			key := maphash.String(s.seed, vinKey(vin))
			vehicles.see(key, rs.row)
			owners.see(key, cust)
		}
		if id := h.value(rec, colDMSVehicleID); id != "" {
			// Told apart from VINs by the prefix; a hash collision at worst
			// ties two customers, which only costs parallelism.
			owners.see(maphash.String(s.seed, "dms\x00"+id), cust)
		}
	}
	s.lastCustomer, s.lastVehicle, s.tied = customers.repeated(), vehicles.repeated(), owners.tied
	return s, nil
}

// owners finds customers sharing a vehicle key: the first customer seen
// with each key, and the customers tied by a key seen with two.
type owners struct {
	first map[uint64]uint64
	tied  map[uint64]bool
}

func newOwners() *owners { return &owners{first: map[uint64]uint64{}, tied: map[uint64]bool{}} }

func (o *owners) see(key, customer uint64) {
	first, ok := o.first[key]
	switch {
	case !ok:
		o.first[key] = customer
	case first != customer:
		o.tied[first], o.tied[customer] = true, true
	}
}

// lane is the lane a row of DMS customer id dmsID is written in when the
// import has lanes lanes (see Runner): lane 0, the serial lane written
// after all others, when there is only one lane or the customer is tied to
// another by a vehicle; otherwise one of lanes 1..lanes-1 by a hash of the
// id that does not change between runs, so a resumed import puts every row
// back in its lane. All rows of a customer are in one lane, and no key the
// archive is upserted by (DMS customer id, VIN, DMS vehicle id) is written
// by two lanes: lanes never wait for each other's rows.
func (s *scan) lane(dmsID string, lanes int) int {
	if lanes <= 1 || (len(s.tied) > 0 && s.tied[maphash.String(s.seed, dmsID)]) {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(dmsID))
	return 1 + int(h.Sum64()%uint64(lanes-1))
}

// vinKey is the VIN as the archive stores it, or the raw value for an
// invalid one (its row is rejected anyway).
func vinKey(vin string) string {
	if v, err := validate.VIN(vin); err == nil {
		return v
	}
	return strings.ToUpper(vin)
}

// lastSeen remembers, per key hash, the last row and whether it repeats.
// A 64-bit hash collision would at worst treat two keys as one repeated
// key: the earlier row would then not update an existing customer.
type lastSeen struct {
	last    map[uint64]int
	repeats map[uint64]bool
}

func newLastSeen() *lastSeen {
	return &lastSeen{last: map[uint64]int{}, repeats: map[uint64]bool{}}
}

func (l *lastSeen) see(key uint64, row int) {
	if _, ok := l.last[key]; ok {
		l.repeats[key] = true
	}
	l.last[key] = row
}

// repeated keeps only the keys seen on several rows, usually few.
func (l *lastSeen) repeated() map[uint64]int {
	out := make(map[uint64]int, len(l.repeats))
	for k := range l.repeats {
		out[k] = l.last[k]
	}
	return out
}

// isLastCustomer reports whether row is the last row of its customer.
func (s *scan) isLastCustomer(dmsID string, row int) bool {
	last, repeated := s.lastCustomer[maphash.String(s.seed, dmsID)]
	return !repeated || last == row
}

// isLastVehicle reports whether row is the last row of its VIN.
func (s *scan) isLastVehicle(vin string, row int) bool {
	last, repeated := s.lastVehicle[maphash.String(s.seed, vin)]
	return !repeated || last == row
}

// parse validates one record with p and marks whether the row is the last
// of its customer and of its VIN.
func (s *scan) parse(p *parser, num int, rec []string) (*row, []RowError) {
	r, errs := p.parse(num, rec)
	if r != nil {
		r.custLast = s.isLastCustomer(r.cust.DMSID, r.num)
		r.vehLast = r.veh != nil && s.isLastVehicle(r.veh.VIN, r.num)
	}
	return r, errs
}
