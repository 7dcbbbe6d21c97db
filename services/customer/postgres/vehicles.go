package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/idempotency"
	"github.com/dealercare/dealercare/pkg/outbox"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/validate"
	"github.com/dealercare/dealercare/services/customer/archive"
	"github.com/jackc/pgx/v5"
)

const vehicleColumns = `id::text, dealer_id, customer_id::text, vin, plate, brand, model, model_year,
	coalesce(to_char(purchase_date, 'YYYY-MM-DD'), ''), selling_dealer, mileage_km, dms_id, create_time,
	last_visit_time, last_visit_dealer, coalesce(to_char(next_service_due_date, 'YYYY-MM-DD'), ''), next_service_due_km, churn_risk_since`

func scanVehicle(row pgx.Row) (*archive.Vehicle, error) {
	var v archive.Vehicle
	var last, churn *time.Time
	err := row.Scan(&v.ID, &v.Dealer, &v.Customer, &v.VIN, &v.Plate, &v.Brand, &v.Model, &v.ModelYear, &v.PurchaseDate,
		&v.SellingDealer, &v.MileageKM, &v.DMSID, &v.CreateTime, &last, &v.Service.LastVisitDealer, &v.Service.NextDueDate,
		&v.Service.NextDueMileageKM, &churn)
	if last != nil {
		v.Service.LastVisitTime = *last
	}
	if churn != nil {
		v.Service.ChurnRiskSince = churn.UTC()
	}
	return &v, err
}

func notFound(kind, kindZh, id string) error { return apperr.NotFound(kind, kindZh, id) }

// CreateVehicle adds a vehicle; ECONFLICT when the dealer already archives
// the VIN.
func (s *ArchiveStore) CreateVehicle(ctx context.Context, v *archive.Vehicle) (*archive.Vehicle, error) {
	var out *archive.Vehicle
	err := pg.InTx(ctx, s.pool, pg.Dealers(v.Dealer), func(tx pgx.Tx) error {
		if _, err := s.getCustomer(ctx, tx, v.Dealer, v.Customer, true); err != nil {
			return err
		}
		id, repeated, err := idempotency.Once(ctx, tx, v.Dealer, func() (string, error) {
			var err error
			out, err = scanVehicle(tx.QueryRow(ctx, `INSERT INTO vehicles (dealer_id, id, customer_id, vin, plate, brand, model,
				model_year, purchase_date, selling_dealer, dms_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
				RETURNING `+vehicleColumns, v.Dealer, outbox.NewID(), v.Customer, v.VIN, v.Plate, v.Brand, v.Model, v.ModelYear,
				nullDate(v.PurchaseDate), v.SellingDealer, v.DMSID))
			if err != nil {
				return "", err
			}
			return out.ID, nil
		})
		if err == nil && repeated {
			out, err = scanVehicle(tx.QueryRow(ctx, `SELECT `+vehicleColumns+` FROM vehicles WHERE dealer_id = $1 AND id = $2`, v.Dealer, id))
		}
		return err
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, err
		}
		if isUnique(err) {
			return nil, apperr.Errorf(apperr.ECONFLICT, "vehicle %s is already in the archive", v.VIN).Zh("车辆 " + v.VIN + " 已在档案中")
		}
		return nil, fmt.Errorf("create vehicle: %w", err)
	}
	return out, nil
}

// GetVehicle returns ENOTFOUND unless the vehicle belongs to the customer.
func (s *ArchiveStore) GetVehicle(ctx context.Context, dealer, customer, id string) (*archive.Vehicle, error) {
	if !validate.IsUUID(id) || !validate.IsUUID(customer) {
		return nil, notFound("vehicle", "车辆", id)
	}
	var v *archive.Vehicle
	err := pg.InReadOnlyTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) (err error) {
		v, err = scanVehicle(tx.QueryRow(ctx, `SELECT `+vehicleColumns+` FROM vehicles WHERE dealer_id = $1 AND customer_id = $2 AND id = $3`, dealer, customer, id))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("vehicle", "车辆", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get vehicle %s: %w", id, err)
	}
	return v, nil
}

// ListVehicles lists a customer's vehicles by VIN.
func (s *ArchiveStore) ListVehicles(ctx context.Context, dealer, customer string) ([]archive.Vehicle, error) {
	var out []archive.Vehicle
	err := pg.InReadOnlyTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+vehicleColumns+` FROM vehicles WHERE dealer_id = $1 AND customer_id = $2 ORDER BY vin`, dealer, customer)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scanVehicle(rows)
			if err != nil {
				return err
			}
			out = append(out, *v)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list vehicles: %w", err)
	}
	return out, nil
}

// UpdateVehicle applies fn to the customer's vehicle and saves it;
// ECONFLICT when the new DMS id is another vehicle's.
func (s *ArchiveStore) UpdateVehicle(ctx context.Context, dealer, customer, id string, fn func(*archive.Vehicle) error) (*archive.Vehicle, error) {
	if !validate.IsUUID(id) || !validate.IsUUID(customer) {
		return nil, notFound("vehicle", "车辆", id)
	}
	var (
		out *archive.Vehicle
		dms string
	)
	err := pg.InTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) error {
		v, err := scanVehicle(tx.QueryRow(ctx, `SELECT `+vehicleColumns+` FROM vehicles
			WHERE dealer_id = $1 AND customer_id = $2 AND id = $3 FOR UPDATE`, dealer, customer, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("vehicle", "车辆", id)
		}
		if err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
		dms = v.DMSID
		out, err = scanVehicle(tx.QueryRow(ctx, `UPDATE vehicles SET plate = $4, brand = $5, model = $6, model_year = $7,
			purchase_date = $8, selling_dealer = $9, dms_id = $10
			WHERE dealer_id = $1 AND customer_id = $2 AND id = $3 RETURNING `+vehicleColumns,
			dealer, customer, id, v.Plate, v.Brand, v.Model, v.ModelYear, nullDate(v.PurchaseDate), v.SellingDealer, v.DMSID))
		return err
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, err
		}
		if isUnique(err) {
			return nil, apperr.Errorf(apperr.ECONFLICT, "DMS id %s is already another vehicle's", dms).Zh("DMS 编号已属于另一辆车")
		}
		return nil, fmt.Errorf("update vehicle %s: %w", id, err)
	}
	return out, nil
}

// recordRepairOrderReading records (or, on closing, replaces) a repair
// order's reading and raises the vehicle's latest reading to it; a zero
// reading means none was taken.
func recordRepairOrderReading(ctx context.Context, tx pgx.Tx, ro *archive.RepairOrder) error {
	if ro.MileageKM <= 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE vehicles SET mileage_km = $3 WHERE dealer_id = $1 AND id = $2 AND mileage_km < $3`,
		ro.Dealer, ro.Vehicle, ro.MileageKM); err != nil {
		return err
	}
	at := ro.OpenTime
	if !ro.CloseTime.IsZero() {
		at = ro.CloseTime
	}
	return recordReading(ctx, tx, ro.Dealer, archive.MileageReading{
		Vehicle: ro.Vehicle, ReadTime: at, MileageKM: ro.MileageKM,
		Source: archive.MileageRepairOrder, ReadDealer: ro.Dealer, Ref: ro.ID,
	})
}

// recordReading upserts one reading of the dealer's own archive.
func recordReading(ctx context.Context, tx pgx.Tx, dealer string, r archive.MileageReading) error {
	_, err := tx.Exec(ctx, `INSERT INTO mileage_readings (dealer_id, id, vehicle_id, read_time, mileage_km, source, read_dealer, ref)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (dealer_id, vehicle_id, source, read_dealer, ref)
		DO UPDATE SET read_time = excluded.read_time, mileage_km = excluded.mileage_km`,
		dealer, outbox.NewID(), r.Vehicle, r.ReadTime, r.MileageKM, r.Source, r.ReadDealer, r.Ref)
	return err
}

// ListMileage lists the readings of the customer's vehicle newest first,
// each flagged when it is lower than any earlier one; ENOTFOUND unless the
// vehicle is the customer's.
func (s *ArchiveStore) ListMileage(ctx context.Context, dealer, customer, vehicle string, p archive.Page) ([]archive.MileageReading, string, error) {
	at, aid, err := pg.DecodePageToken(p.After)
	if err != nil {
		return nil, "", err
	}
	if !validate.IsUUID(vehicle) || !validate.IsUUID(customer) {
		return nil, "", notFound("vehicle", "车辆", vehicle)
	}
	t, after := pg.PagePosition(at, aid)
	var out []archive.MileageReading
	err = pg.InReadOnlyTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) error {
		var owned bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM vehicles WHERE dealer_id = $1 AND customer_id = $2 AND id = $3)`,
			dealer, customer, vehicle).Scan(&owned); err != nil {
			return err
		}
		if !owned {
			return notFound("vehicle", "车辆", vehicle)
		}
		rows, err := tx.Query(ctx, `SELECT m.id::text, m.vehicle_id::text, m.read_time, m.mileage_km, m.source, m.read_dealer,
				m.ref::text, coalesce(ro.number, ''), coalesce(m.lower, false)
			FROM (SELECT *, mileage_km < max(mileage_km) OVER (ORDER BY read_time, id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS lower
				FROM mileage_readings WHERE dealer_id = $1 AND vehicle_id = $5) m
			LEFT JOIN repair_orders ro ON m.source = 'repair_order' AND m.read_dealer = m.dealer_id
				AND ro.dealer_id = m.dealer_id AND ro.id = m.ref
			WHERE true`+keyset("m.read_time", "m.id")+` ORDER BY m.read_time DESC, m.id DESC LIMIT $4`,
			dealer, t, after, p.Size, vehicle)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (archive.MileageReading, error) {
			var m archive.MileageReading
			err := r.Scan(&m.ID, &m.Vehicle, &m.ReadTime, &m.MileageKM, &m.Source, &m.ReadDealer, &m.Ref,
				&m.RepairOrderNumber, &m.LowerThanEarlier)
			return m, err
		})
		return err
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, "", err
		}
		return nil, "", fmt.Errorf("list mileage readings: %w", err)
	}
	next := ""
	if len(out) == p.Size {
		next = pg.EncodePageToken(out[len(out)-1].ReadTime, out[len(out)-1].ID)
	}
	return out, next, nil
}

const roColumns = `id::text, dealer_id, number, vehicle_id::text, vin, customer_id::text, type, state, open_time, close_time,
	mileage_km, amount_fen, advisor, by_appointment, campaign_code`

func scanRO(row pgx.Row) (*archive.RepairOrder, error) {
	var ro archive.RepairOrder
	var closed *time.Time
	err := row.Scan(&ro.ID, &ro.Dealer, &ro.Number, &ro.Vehicle, &ro.VIN, &ro.Customer, &ro.Type, &ro.State, &ro.OpenTime,
		&closed, &ro.MileageKM, &ro.AmountFen, &ro.Advisor, &ro.ByAppointment, &ro.CampaignCode)
	if closed != nil {
		ro.CloseTime = *closed
	}
	return &ro, err
}

// CreateRepairOrder opens an order for a vehicle of this dealer's archive,
// found by id or VIN, and records the odometer reading.
func (s *ArchiveStore) CreateRepairOrder(ctx context.Context, ro *archive.RepairOrder) (*archive.RepairOrder, error) {
	var out *archive.RepairOrder
	err := pg.InTx(ctx, s.pool, pg.Dealers(ro.Dealer), func(tx pgx.Tx) error {
		var vehicleID, vin, customerID string
		// One indexed lookup each: by the primary key, or by the VIN.
		var err error
		switch {
		case ro.Vehicle != "" && !validate.IsUUID(ro.Vehicle):
			err = pgx.ErrNoRows
		case ro.Vehicle != "":
			err = tx.QueryRow(ctx, `SELECT id::text, vin, customer_id::text FROM vehicles WHERE dealer_id = $1 AND id = $2 FOR UPDATE`,
				ro.Dealer, ro.Vehicle).Scan(&vehicleID, &vin, &customerID)
		default:
			err = tx.QueryRow(ctx, `SELECT id::text, vin, customer_id::text FROM vehicles WHERE dealer_id = $1 AND vin = $2 FOR UPDATE`,
				ro.Dealer, ro.VIN).Scan(&vehicleID, &vin, &customerID)
		}
		if errors.Is(err, pgx.ErrNoRows) {
			if ro.Vehicle != "" {
				// Another dealer's vehicle id answers like a missing one.
				return notFound("vehicle", "车辆", ro.Vehicle)
			}
			return apperr.Invalid("repair_order.vin", "no vehicle with this VIN in this dealer's archive; archive it first").ZhReason("本店档案中没有该 VIN 的车辆，请先建档")
		}
		if err != nil {
			return err
		}
		if ro.VIN != "" && ro.VIN != vin {
			return apperr.Invalid("repair_order.vin", "does not match the vehicle").ZhReason("与车辆不符")
		}
		id, repeated, err := idempotency.Once(ctx, tx, ro.Dealer, func() (string, error) {
			var err error
			out, err = scanRO(tx.QueryRow(ctx, `INSERT INTO repair_orders (dealer_id, id, number, vehicle_id, vin, customer_id, type, state,
				open_time, mileage_km, amount_fen, advisor, by_appointment, campaign_code)
				VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9, $10, $11, $12, $13) RETURNING `+roColumns,
				ro.Dealer, outbox.NewID(), ro.Number, vehicleID, vin, customerID, ro.Type, ro.OpenTime, ro.MileageKM, ro.AmountFen,
				ro.Advisor, ro.ByAppointment, ro.CampaignCode))
			if err != nil {
				return "", err
			}
			return out.ID, recordRepairOrderReading(ctx, tx, out)
		})
		if err == nil && repeated {
			out, err = getRO(ctx, tx, ro.Dealer, id, false)
		}
		return err
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, err
		}
		if isUnique(err) {
			return nil, apperr.Errorf(apperr.ECONFLICT, "repair order %s already exists", ro.Number).Zh("维修工单 " + ro.Number + " 已存在")
		}
		return nil, fmt.Errorf("create repair order: %w", err)
	}
	return out, nil
}

func getRO(ctx context.Context, tx pgx.Tx, dealer, id string, forUpdate bool) (*archive.RepairOrder, error) {
	if !validate.IsUUID(id) {
		return nil, notFound("repair order", "维修工单", id)
	}
	q := `SELECT ` + roColumns + ` FROM repair_orders WHERE dealer_id = $1 AND id = $2`
	if forUpdate {
		q += ` FOR UPDATE`
	}
	ro, err := scanRO(tx.QueryRow(ctx, q, dealer, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("repair order", "维修工单", id)
	}
	return ro, err
}

// GetRepairOrder returns ENOTFOUND for a missing id.
func (s *ArchiveStore) GetRepairOrder(ctx context.Context, dealer, id string) (*archive.RepairOrder, error) {
	var ro *archive.RepairOrder
	err := pg.InReadOnlyTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) (err error) {
		ro, err = getRO(ctx, tx, dealer, id, false)
		return err
	})
	return ro, err
}

// ListRepairOrders lists orders newest first, optionally of one vehicle.
func (s *ArchiveStore) ListRepairOrders(ctx context.Context, dealer, vehicle string, p archive.Page) ([]archive.RepairOrder, string, error) {
	at, aid, err := pg.DecodePageToken(p.After)
	if err != nil {
		return nil, "", err
	}
	if vehicle != "" && !validate.IsUUID(vehicle) {
		return nil, "", nil
	}
	t, after := pg.PagePosition(at, aid)
	// A vehicle's orders come from its own index; the dealer's, newest
	// first, from the recent index.
	where, args := `dealer_id = $1`, []any{dealer, t, after, p.Size}
	if vehicle != "" {
		where, args = `dealer_id = $1 AND vehicle_id = $5`, append(args, vehicle)
	}
	var out []archive.RepairOrder
	err = pg.InReadOnlyTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+roColumns+` FROM repair_orders
			WHERE `+where+keyset("open_time", "id")+`
			ORDER BY open_time DESC, repair_orders.id DESC LIMIT $4`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			ro, err := scanRO(rows)
			if err != nil {
				return err
			}
			out = append(out, *ro)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", fmt.Errorf("list repair orders: %w", err)
	}
	next := ""
	if len(out) == p.Size {
		next = pg.EncodePageToken(out[len(out)-1].OpenTime, out[len(out)-1].ID)
	}
	return out, next, nil
}

// CloseRepairOrder closes the order and records RepairOrderClosed in the
// outbox in the same transaction, so the event exists if and only if the
// close committed.
func (s *ArchiveStore) CloseRepairOrder(ctx context.Context, dealer, id string, fn func(*archive.RepairOrder) error) (*archive.RepairOrder, error) {
	var out *archive.RepairOrder
	err := pg.InTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) error {
		ro, err := getRO(ctx, tx, dealer, id, true)
		if err != nil {
			return err
		}
		// A retry of a keyed close whose answer was lost gets the order as
		// it is, not "already closed" (pkg/idempotency).
		if _, repeated, err := idempotency.Lookup(ctx, tx, dealer); err != nil || repeated {
			out = ro
			return err
		}
		if err := idempotency.Remember(ctx, tx, dealer, id); err != nil {
			return err
		}
		if err := fn(ro); err != nil {
			return err
		}
		out, err = scanRO(tx.QueryRow(ctx, `UPDATE repair_orders SET state = $3, close_time = $4, mileage_km = $5, amount_fen = $6
			WHERE dealer_id = $1 AND id = $2 RETURNING `+roColumns, dealer, id, ro.State, ro.CloseTime, ro.MileageKM, ro.AmountFen))
		if err != nil {
			return err
		}
		if err := recordRepairOrderReading(ctx, tx, out); err != nil {
			return err
		}
		closed := events.RepairOrderClosed{
			Dealer: dealer, RepairOrderID: out.ID, Number: out.Number, VIN: out.VIN, VehicleID: out.Vehicle,
			CustomerID: out.Customer, Type: out.Type, OpenTime: out.OpenTime, CloseTime: out.CloseTime,
			MileageKM: out.MileageKM, ByAppointment: out.ByAppointment, CampaignCode: out.CampaignCode,
		}
		// A visit recorded long after it closed is history: its events
		// yield to the dealer's live ones in the relay.
		backfill := events.IsBackfill(out.CloseTime, time.Now())
		if err := outbox.Add(ctx, tx, outbox.Event{
			DealerID: dealer, Kind: events.KindRepairOrderClosed,
			WorkflowID: events.VehicleWorkflowID(out.VIN), WorkflowType: events.VehicleWorkflowType,
			TaskQueue: events.VehicleTaskQueue, SignalName: events.VehicleSignal,
			StartInput: events.VehicleStart{VIN: out.VIN}, Payload: closed, Backfill: backfill,
		}); err != nil {
			return err
		}
		// The same fact starts the visit's 3DC callback.
		callback := events.CallbackSourceEvent(events.KindRepairOrderClosed, events.CallbackStart{
			Kind: events.Callback3DC, Dealer: dealer, SourceType: events.SourceRepairOrder, SourceID: out.ID,
		}, closed)
		callback.Backfill = backfill
		if err := outbox.Add(ctx, tx, callback); err != nil {
			return err
		}
		// And reaches the webhook subscribers (DMS, BI) of the dealer and
		// HQ: ids and facts, no personal data.
		hook, err := events.WebhookEvent(dealer, events.WebhookRepairOrderClosed, "dealers/"+dealer+"/repairOrders/"+out.ID,
			time.Time{}, closed)
		if err != nil {
			return err
		}
		hook.Backfill = backfill
		return outbox.Add(ctx, tx, hook)
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("close repair order %s: %w", id, err)
	}
	return out, nil
}

const saleColumns = `id::text, dealer_id, vehicle_id::text, customer_id::text, salesperson, delivered_time, create_time`

func scanSale(row pgx.Row) (*archive.Sale, error) {
	var s archive.Sale
	err := row.Scan(&s.ID, &s.Dealer, &s.Vehicle, &s.Customer, &s.Salesperson, &s.DeliveredTime, &s.CreateTime)
	return &s, err
}

// CreateSale records the delivery and VehicleDelivered in one transaction.
func (s *ArchiveStore) CreateSale(ctx context.Context, sale *archive.Sale) (*archive.Sale, error) {
	var out *archive.Sale
	err := pg.InTx(ctx, s.pool, pg.Dealers(sale.Dealer), func(tx pgx.Tx) error {
		if !validate.IsUUID(sale.Vehicle) {
			return notFound("vehicle", "车辆", sale.Vehicle)
		}
		var vin, customerID string
		var mileage int
		err := tx.QueryRow(ctx, `SELECT vin, customer_id::text, mileage_km FROM vehicles WHERE dealer_id = $1 AND id = $2 FOR UPDATE`,
			sale.Dealer, sale.Vehicle).Scan(&vin, &customerID, &mileage)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("vehicle", "车辆", sale.Vehicle)
		}
		if err != nil {
			return err
		}
		// A keyed retry whose first answer was lost gets that sale back
		// instead of the 409 of a second delivery.
		if id, repeated, err := idempotency.Lookup(ctx, tx, sale.Dealer); err != nil || repeated {
			if err == nil {
				out, err = scanSale(tx.QueryRow(ctx, `SELECT `+saleColumns+` FROM sales WHERE dealer_id = $1 AND id = $2`, sale.Dealer, id))
			}
			return err
		}
		out, err = scanSale(tx.QueryRow(ctx, `INSERT INTO sales (dealer_id, id, vehicle_id, customer_id, salesperson, delivered_time)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+saleColumns, sale.Dealer, outbox.NewID(), sale.Vehicle, customerID,
			sale.Salesperson, sale.DeliveredTime))
		if err != nil {
			return err
		}
		if err := idempotency.Remember(ctx, tx, sale.Dealer, out.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE vehicles SET selling_dealer = $3, purchase_date = coalesce(purchase_date, ($4::timestamptz)::date)
			WHERE dealer_id = $1 AND id = $2`, sale.Dealer, sale.Vehicle, sale.Dealer, sale.DeliveredTime); err != nil {
			return err
		}
		if err := recordReading(ctx, tx, sale.Dealer, archive.MileageReading{
			Vehicle: sale.Vehicle, ReadTime: out.DeliveredTime, MileageKM: mileage,
			Source: archive.MileageDelivery, ReadDealer: sale.Dealer, Ref: out.ID,
		}); err != nil {
			return err
		}
		delivered := events.VehicleDelivered{
			Dealer: sale.Dealer, SaleID: out.ID, VIN: vin, VehicleID: sale.Vehicle, CustomerID: customerID,
			Salesperson: out.Salesperson, DeliveredTime: out.DeliveredTime, MileageKM: mileage,
		}
		backfill := events.IsBackfill(out.DeliveredTime, time.Now()) // see CloseRepairOrder
		if err := outbox.Add(ctx, tx, outbox.Event{
			DealerID: sale.Dealer, Kind: events.KindVehicleDelivered,
			WorkflowID: events.VehicleWorkflowID(vin), WorkflowType: events.VehicleWorkflowType,
			TaskQueue: events.VehicleTaskQueue, SignalName: events.VehicleSignal,
			StartInput: events.VehicleStart{VIN: vin}, Payload: delivered, Backfill: backfill,
		}); err != nil {
			return err
		}
		// The delivery starts the 7DC callback and, once per customer, the
		// new customer's welcome call.
		for _, start := range []events.CallbackStart{
			{Kind: events.Callback7DC, Dealer: sale.Dealer, SourceType: events.SourceSale, SourceID: out.ID},
			{Kind: events.CallbackNewCustomer, Dealer: sale.Dealer, SourceType: events.SourceCustomer, SourceID: customerID},
		} {
			callback := events.CallbackSourceEvent(events.KindVehicleDelivered, start, delivered)
			callback.Backfill = backfill
			if err := outbox.Add(ctx, tx, callback); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, err
		}
		if isUnique(err) {
			return nil, apperr.Errorf(apperr.ECONFLICT, "this vehicle's delivery is already recorded").Zh("该车辆的交车记录已存在")
		}
		return nil, fmt.Errorf("create sale: %w", err)
	}
	return out, nil
}

// GetSale returns ENOTFOUND for a missing id.
func (s *ArchiveStore) GetSale(ctx context.Context, dealer, id string) (*archive.Sale, error) {
	if !validate.IsUUID(id) {
		return nil, notFound("sale", "交车记录", id)
	}
	var out *archive.Sale
	err := pg.InReadOnlyTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) (err error) {
		out, err = scanSale(tx.QueryRow(ctx, `SELECT `+saleColumns+` FROM sales WHERE dealer_id = $1 AND id = $2`, dealer, id))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("sale", "交车记录", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get sale %s: %w", id, err)
	}
	return out, nil
}

// ListSales lists deliveries newest first.
func (s *ArchiveStore) ListSales(ctx context.Context, dealer string, p archive.Page) ([]archive.Sale, string, error) {
	at, aid, err := pg.DecodePageToken(p.After)
	if err != nil {
		return nil, "", err
	}
	t, after := pg.PagePosition(at, aid)
	var out []archive.Sale
	err = pg.InReadOnlyTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+saleColumns+` FROM sales WHERE dealer_id = $1`+keyset("delivered_time", "id")+`
			ORDER BY delivered_time DESC, sales.id DESC LIMIT $4`, dealer, t, after, p.Size)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			s, err := scanSale(rows)
			if err != nil {
				return err
			}
			out = append(out, *s)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", fmt.Errorf("list sales: %w", err)
	}
	next := ""
	if len(out) == p.Size {
		next = pg.EncodePageToken(out[len(out)-1].DeliveredTime, out[len(out)-1].ID)
	}
	return out, next, nil
}

// SetServiceState writes the vehicle workflow's state onto every dealer's
// archive of the VIN (a visit anywhere counts as the vehicle's return).
// It runs across dealers: only the worker's service identity calls it.
//
// Each reading is added to every archive of the VIN that lacks it (the
// visiting dealer's own archive has it from the repair order or sale, and
// a dealer archiving the VIN later gets the history it missed); the
// highest raises each archive's latest reading. Both are idempotent, so a
// retried or replayed call changes nothing.
func (s *ArchiveStore) SetServiceState(ctx context.Context, vin string, st archive.ServiceState, rs []archive.MileageReading) (int, error) {
	var n int64
	err := pg.InTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE vehicles SET last_visit_time = $2, last_visit_dealer = $3,
			next_service_due_date = $4, next_service_due_km = $5
			WHERE vin = $1 AND (last_visit_time IS NULL OR last_visit_time <= $2)`,
			vin, nullTime(st.LastVisitTime), st.LastVisitDealer, nullDate(st.NextDueDate), st.NextDueMileageKM)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		if len(rs) == 0 {
			return nil
		}
		var (
			times            = make([]time.Time, len(rs))
			kms              = make([]int32, len(rs))
			srcs, dlrs, refs = make([]string, len(rs)), make([]string, len(rs)), make([]string, len(rs))
			highest          int
		)
		for i, r := range rs {
			times[i], kms[i], srcs[i], dlrs[i], refs[i] = r.ReadTime, int32(r.MileageKM), r.Source, r.ReadDealer, r.Ref
			highest = max(highest, r.MileageKM)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO mileage_readings (dealer_id, id, vehicle_id, read_time, mileage_km, source, read_dealer, ref)
			SELECT v.dealer_id, gen_random_uuid(), v.id, r.t, r.km, r.src, r.dealer, r.ref
			FROM vehicles v, unnest($2::timestamptz[], $3::integer[], $4::text[], $5::text[], $6::uuid[]) AS r(t, km, src, dealer, ref)
			WHERE v.vin = $1
			ON CONFLICT (dealer_id, vehicle_id, source, read_dealer, ref) DO NOTHING`,
			vin, times, kms, srcs, dlrs, refs); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE vehicles SET mileage_km = $2 WHERE vin = $1 AND mileage_km < $2`, vin, highest)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("set service state of %s: %w", vin, err)
	}
	return int(n), nil
}
