package importer

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/dealercare/dealercare/services/customer/archive"
)

// planner merges a batch's rows, in file order, into the archive's current
// state and decides what to write. It is the batch's domain logic and
// touches no database: the runner loads the existing records before and
// writes the plan after, in the same transaction.
type planner struct {
	dealer string
	now    time.Time

	customers map[string]*custState // by DMS id
	custOrder []string              // DMS ids in order of first appearance
	vehicles  map[string]*vehState  // by id
	vehOrder  []string              // ids of vehicles the batch touches, in order
	custSeen  map[string]bool       // DMS ids in custOrder
	vehSeen   map[string]bool       // vehicle ids in vehOrder
	byVIN     map[string]*vehState
	byDMS     map[string]*vehState

	rows []plannedRow
	errs []RowError
}

type custState struct {
	c        archive.Customer
	idIndex  []byte
	existing *ExistingCustomer // nil for a customer this import creates
}

type vehState struct {
	v        archive.Vehicle
	existing *archive.Vehicle // nil for a vehicle this import creates
}

// plannedRow remembers what an accepted row contributed to, for counting.
type plannedRow struct {
	customer string // DMS id, when the row created or updated the customer
	vehicle  string // vehicle id, when the row wrote its vehicle
}

func newPlanner(dealer string, now time.Time, customers []ExistingCustomer, vehicles []archive.Vehicle) *planner {
	p := &planner{
		dealer: dealer, now: now,
		customers: make(map[string]*custState, len(customers)),
		vehicles:  make(map[string]*vehState, len(vehicles)),
		byVIN:     make(map[string]*vehState, len(vehicles)),
		byDMS:     make(map[string]*vehState, len(vehicles)),
		custSeen:  map[string]bool{},
		vehSeen:   map[string]bool{},
	}
	for i := range customers {
		e := &customers[i]
		p.customers[e.DMSID] = &custState{c: e.Customer, idIndex: e.IDNumberIndex, existing: e}
	}
	for i := range vehicles {
		e := &vehicles[i]
		p.setVehicle(&vehState{v: *e, existing: e})
	}
	return p
}

// setVehicle records a vehicle's next state. States are replaced, never
// changed in place, so a rejected row leaves them as they were.
func (p *planner) setVehicle(s *vehState) {
	p.vehicles[s.v.ID] = s
	p.byVIN[s.v.VIN] = s
	if s.v.DMSID != "" {
		p.byDMS[s.v.DMSID] = s
	}
}

func (p *planner) reject(r *row, c column, reason string) {
	p.errs = append(p.errs, RowError{Row: r.num, Field: c.String(), Reason: reason})
}

// add plans one valid row, or rejects it when it conflicts with the
// archive; a rejected row changes nothing.
func (p *planner) add(r *row) {
	cur := p.customers[r.cust.DMSID]
	if cur != nil && cur.existing != nil && cur.existing.MergedInto != "" {
		p.reject(r, colDMSCustomerID, fmt.Sprintf("the archive with this DMS id was merged into customer %s; update the surviving archive instead", cur.existing.MergedInto))
		return
	}
	// A row creates its customer when missing; only the customer's last
	// row updates an existing one (see the package documentation).
	contributes := cur == nil || r.custLast
	next := cur
	if contributes {
		next = p.mergeCustomer(cur, r)
		if next == nil {
			return
		}
	}

	var veh *vehState
	if r.veh != nil && r.vehLast {
		if veh = p.mergeVehicle(r, next.c.ID); veh == nil {
			return
		}
		if !p.vehSeen[veh.v.ID] {
			p.vehSeen[veh.v.ID] = true
			p.vehOrder = append(p.vehOrder, veh.v.ID)
		}
		p.setVehicle(veh)
	}
	if !p.custSeen[r.cust.DMSID] {
		p.custSeen[r.cust.DMSID] = true
		p.custOrder = append(p.custOrder, r.cust.DMSID)
	}
	p.customers[r.cust.DMSID] = next
	pr := plannedRow{}
	if contributes {
		pr.customer = r.cust.DMSID
	}
	if veh != nil {
		pr.vehicle = veh.v.ID
	}
	p.rows = append(p.rows, pr)
}

// mergeCustomer returns cur (nil: a new customer) with the row's filled
// cells applied, validated and checked; nil when rejected.
func (p *planner) mergeCustomer(cur *custState, r *row) *custState {
	var next custState
	if cur != nil {
		next = *cur
	} else {
		next.c = archive.Customer{ID: newID(), Dealer: p.dealer, DMSID: r.cust.DMSID, Source: "import"}
	}
	c, in := &next.c, &r.cust
	for _, f := range []struct {
		col      column
		dst, src *string
	}{
		{colName, &c.Name, &in.Name}, {colMobile, &c.Mobile, &in.Mobile}, {colGender, &c.Gender, &in.Gender},
		{colBirthday, &c.Birthday, &in.Birthday}, {colAddress, &c.Address, &in.Address}, {colEmail, &c.Email, &in.Email},
		{colTier, &c.Tier, &in.Tier}, {colKind, &c.Kind, &in.Kind}, {colContactName, &c.ContactName, &in.ContactName},
	} {
		if r.set.has(f.col) {
			*f.dst = *f.src
		}
	}
	// c.IDNumber holds a clear ID number only while it is to be written.
	if r.set.has(colIDNumber) && !bytes.Equal(next.idIndex, r.idIndex) {
		c.IDNumber, next.idIndex = in.IDNumber, r.idIndex
	}
	switch {
	case r.set.has(colTriggerTime):
		c.TriggerTime = in.TriggerTime
	case c.TriggerTime.IsZero() && !r.purchase.IsZero() && r.veh != nil:
		// The sale is the archive's triggering event.
		c.TriggerTime = r.purchase
	}
	if next.existing == nil {
		// The archive's defaults (kind, tier) for a new customer; every
		// value was validated already.
		if err := c.Normalize(p.now); err != nil {
			p.errs = append(p.errs, rowErrors(r.num, err)...)
			return nil
		}
	}
	c.Problems = c.Check()
	return &next
}

// mergeVehicle resolves the row's vehicle by DMS vehicle id, then VIN, and
// returns its next state owned by customerID; nil when rejected.
func (p *planner) mergeVehicle(r *row, customerID string) *vehState {
	in := r.veh
	var byDMS *vehState
	if in.DMSID != "" {
		byDMS = p.byDMS[in.DMSID]
	}
	byVIN := p.byVIN[in.VIN]
	switch {
	case byDMS != nil && byDMS.v.VIN != in.VIN:
		p.reject(r, colVIN, fmt.Sprintf("differs from the VIN %s archived for DMS vehicle id %s; an import does not change a vehicle's VIN", byDMS.v.VIN, in.DMSID))
		return nil
	case byDMS == nil && byVIN != nil && in.DMSID != "" && byVIN.v.DMSID != "" && byVIN.v.DMSID != in.DMSID:
		p.reject(r, colDMSVehicleID, fmt.Sprintf("the archive has this VIN under DMS vehicle id %s", byVIN.v.DMSID))
		return nil
	}
	next := &vehState{v: archive.Vehicle{ID: newID(), Dealer: p.dealer, VIN: in.VIN}}
	if t := byDMS; t != nil || byVIN != nil {
		if t == nil {
			t = byVIN
		}
		*next = *t
	}
	v := &next.v
	v.Customer = customerID
	if in.DMSID != "" {
		v.DMSID = in.DMSID
	}
	if r.set.has(colPlate) {
		v.Plate = in.Plate
	}
	if r.set.has(colBrand) {
		v.Brand = in.Brand
	}
	if r.set.has(colModel) {
		v.Model = in.Model
	}
	if r.set.has(colModelYear) {
		v.ModelYear = in.ModelYear
	}
	if r.set.has(colPurchaseDate) {
		v.PurchaseDate = in.PurchaseDate
	}
	return next
}

// customerWrites are the customers to insert or change, in file order.
func (p *planner) customerWrites() []CustomerWrite {
	var out []CustomerWrite
	for _, dms := range p.custOrder {
		s := p.customers[dms]
		if s.existing == nil || customerChanged(s) {
			out = append(out, CustomerWrite{Customer: s.c, IDNumberIndex: s.idIndex})
		}
	}
	return out
}

func customerChanged(s *custState) bool {
	a, b := &s.c, &s.existing.Customer
	return a.Kind != b.Kind || a.Name != b.Name || a.Gender != b.Gender || a.Birthday != b.Birthday ||
		a.Mobile != b.Mobile || a.Email != b.Email || a.Address != b.Address || a.Tier != b.Tier ||
		a.ContactName != b.ContactName || !a.TriggerTime.Equal(b.TriggerTime) ||
		!bytes.Equal(s.idIndex, s.existing.IDNumberIndex) || !slices.Equal(a.Problems, b.Problems)
}

// vehicleWrites are the vehicles to insert or change.
func (p *planner) vehicleWrites() []archive.Vehicle {
	var out []archive.Vehicle
	for _, id := range p.vehOrder {
		s := p.vehicles[id]
		if s.existing == nil || vehicleChanged(&s.v, s.existing) {
			out = append(out, s.v)
		}
	}
	return out
}

func vehicleChanged(a, b *archive.Vehicle) bool {
	return a.Customer != b.Customer || a.VIN != b.VIN || a.Plate != b.Plate || a.Brand != b.Brand ||
		a.Model != b.Model || a.ModelYear != b.ModelYear || a.PurchaseDate != b.PurchaseDate || a.DMSID != b.DMSID
}

// count attributes the writes' outcomes to the accepted rows: a row counts
// as the strongest outcome of what it contributed to.
func (p *planner) count(customers, vehicles map[string]Outcome) (inserted, updated, unchanged int) {
	for _, r := range p.rows {
		o := Unchanged
		if r.customer != "" {
			o = max(o, customers[r.customer])
		}
		if r.vehicle != "" {
			o = max(o, vehicles[r.vehicle])
		}
		switch o {
		case Inserted:
			inserted++
		case Updated:
			updated++
		default:
			unchanged++
		}
	}
	return inserted, updated, unchanged
}
