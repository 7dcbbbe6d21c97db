package importer

import (
	"errors"
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
		if id := h.value(rec, colDMSCustomerID); id != "" {
			customers.see(maphash.String(s.seed, id), rs.row)
		}
		if vin := h.value(rec, colVIN); vin != "" {
			vehicles.see(maphash.String(s.seed, vinKey(vin)), rs.row)
		}
	}
	s.lastCustomer, s.lastVehicle = customers.repeated(), vehicles.repeated()
	return s, nil
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
