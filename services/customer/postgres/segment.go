package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/validate"
	"github.com/dealercare/dealercare/services/customer/archive"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SegmentStore answers the campaign service's audience questions across
// the dealers it names (SegmentService, service identity only).
type SegmentStore struct {
	pool *pgxpool.Pool
}

// NewSegmentStore returns the store.
func NewSegmentStore(pool *pgxpool.Pool) *SegmentStore { return &SegmentStore{pool: pool} }

// Members pages the segment's customers by (dealer, id) after the
// position in after ("<dealer>/<uuid>", "" for the first page). One row per
// customer, with its oldest matching vehicle.
func (s *SegmentStore) Members(ctx context.Context, seg archive.Segment, after string, limit int) ([]archive.SegmentMember, string, error) {
	afterDealer, afterID := "", "00000000-0000-0000-0000-000000000000"
	if after != "" {
		d, id, ok := strings.Cut(after, "/")
		if !ok || !validate.IsUUID(id) {
			return nil, "", apperr.Invalid("page_token", "is not a token returned by a previous call").ZhReason("不是上一次调用返回的分页令牌")
		}
		afterDealer, afterID = d, id
	}
	asOf := seg.AsOf
	if asOf.IsZero() {
		asOf = time.Now()
	}
	var ps pg.Params
	var veh []string
	if len(seg.Models) > 0 {
		veh = append(veh, "v.model = ANY("+ps.Add(seg.Models)+")")
	}
	if seg.ModelYearMin > 0 {
		veh = append(veh, "v.model_year >= "+ps.Add(seg.ModelYearMin))
	}
	if seg.ModelYearMax > 0 {
		veh = append(veh, "v.model_year <= "+ps.Add(seg.ModelYearMax))
	}
	if seg.PurchaseDateFrom != "" {
		veh = append(veh, "v.purchase_date >= "+ps.Add(seg.PurchaseDateFrom)+"::date")
	}
	if seg.PurchaseDateTo != "" {
		veh = append(veh, "v.purchase_date <= "+ps.Add(seg.PurchaseDateTo)+"::date")
	}
	if !seg.LastVisitBefore.IsZero() {
		veh = append(veh, "coalesce(v.last_visit_time, '-infinity') < "+ps.Add(seg.LastVisitBefore))
	}
	if !seg.LastVisitAfter.IsZero() {
		veh = append(veh, "v.last_visit_time >= "+ps.Add(seg.LastVisitAfter))
	}
	if seg.MileageMinKM > 0 {
		veh = append(veh, "v.mileage_km >= "+ps.Add(seg.MileageMinKM))
	}
	if seg.MileageMaxKM > 0 {
		veh = append(veh, "v.mileage_km <= "+ps.Add(seg.MileageMaxKM))
	}
	if seg.ChurnRisk {
		veh = append(veh, "(v.churn_risk_since IS NOT NULL OR v.next_service_due_date < "+ps.Add(asOf.Add(-archive.ChurnRiskAfter).UTC().Format(time.DateOnly))+"::date)")
	}
	if len(seg.VINs) > 0 {
		veh = append(veh, "v.vin = ANY("+ps.Add(seg.VINs)+")")
	}
	join := "LEFT JOIN LATERAL"
	if seg.HasVehicleFilter() {
		join = "JOIN LATERAL"
	}
	vehWhere := ""
	if len(veh) > 0 {
		vehWhere = " AND " + strings.Join(veh, " AND ")
	}
	where := []string{"c.dealer_id = ANY(" + ps.Add(seg.Dealers) + ")", "c.merged_into IS NULL",
		"(c.dealer_id, c.id) > (" + ps.Add(afterDealer) + ", " + ps.Add(afterID) + "::uuid)"}
	if len(seg.Customers) > 0 {
		where = append(where, "c.id = ANY("+ps.Add(seg.Customers)+"::uuid[])")
	}
	if len(seg.Tiers) > 0 {
		where = append(where, "c.tier = ANY("+ps.Add(seg.Tiers)+")")
	}
	if len(seg.Tags) > 0 {
		where = append(where, "c.tags && "+ps.Add(seg.Tags)+"::text[]")
	}
	if len(seg.Birthdays) > 0 {
		days := make([]int, len(seg.Birthdays))
		for i, b := range seg.Birthdays {
			m, d, err := archive.MonthDay(b)
			if err != nil {
				return nil, "", apperr.Invalid(fmt.Sprintf("segment.birthdays[%d]", i), "must be a day of the year MM-DD").ZhReason("须为月-日 MM-DD")
			}
			days[i] = m*100 + d
		}
		// The expression of customers_birthday_idx.
		where = append(where, "c.birthday IS NOT NULL",
			"(extract(month FROM c.birthday) * 100 + extract(day FROM c.birthday))::int = ANY("+ps.Add(days)+"::int[])")
	}
	q := `SELECT c.dealer_id, c.id::text, coalesce(d.name, ''), coalesce(d.time_zone, ''), c.name, c.mobile, c.email,
			coalesce(to_char(c.birthday, 'YYYY-MM-DD'), ''), c.tier,
			(SELECT coalesce(jsonb_object_agg(k.channel, k.granted), '{}') FROM consents k WHERE k.dealer_id = c.dealer_id AND k.customer_id = c.id),
			coalesce(v.vin, ''), coalesce(v.plate, ''), coalesce(v.model, ''), coalesce(to_char(v.next_service_due_date, 'YYYY-MM-DD'), ''),
			v.last_visit_time
		FROM customers c
		LEFT JOIN dealers d ON d.dealer_id = c.dealer_id
		` + join + ` (SELECT v.vin, v.plate, v.model, v.next_service_due_date, v.last_visit_time FROM vehicles v
			WHERE v.dealer_id = c.dealer_id AND v.customer_id = c.id` + vehWhere + `
			ORDER BY v.create_time, v.id LIMIT 1) v ON true
		WHERE ` + strings.Join(where, " AND ") + `
		ORDER BY c.dealer_id, c.id LIMIT ` + ps.Add(limit+1)
	var out []archive.SegmentMember
	err := pg.InReadOnlyTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, q, ps.Args...)
		if err != nil {
			return fmt.Errorf("segment members: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				m        archive.SegmentMember
				consents []byte
				last     *time.Time
			)
			if err := rows.Scan(&m.Dealer, &m.Customer, &m.DealerName, &m.TimeZone, &m.Name, &m.Mobile, &m.Email, &m.Birthday, &m.Tier,
				&consents, &m.VIN, &m.Plate, &m.Model, &m.NextDueDate, &last); err != nil {
				return err
			}
			if err := json.Unmarshal(consents, &m.Consents); err != nil {
				return fmt.Errorf("decode consents: %w", err)
			}
			if last != nil {
				m.LastVisitTime = last.UTC()
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].Dealer + "/" + out[limit-1].Customer
	}
	return out, next, nil
}

// Visits lists repair orders of the VINs opened in [after, before) at any
// dealer (before zero: no bound), oldest first.
func (s *SegmentStore) Visits(ctx context.Context, vins []string, after, before time.Time) ([]archive.VehicleVisit, error) {
	var out []archive.VehicleVisit
	var upper any
	if !before.IsZero() {
		upper = before
	}
	err := pg.InReadOnlyTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT vin, dealer_id, id::text, type, campaign_code, open_time, close_time FROM repair_orders
			WHERE vin = ANY($1) AND open_time >= $2 AND ($3::timestamptz IS NULL OR open_time < $3) ORDER BY open_time, dealer_id, id`,
			vins, after, upper)
		if err != nil {
			return fmt.Errorf("vehicle visits: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				v      archive.VehicleVisit
				closed *time.Time
			)
			if err := rows.Scan(&v.VIN, &v.Dealer, &v.RepairOrder, &v.Type, &v.CampaignCode, &v.OpenTime, &closed); err != nil {
				return err
			}
			v.OpenTime = v.OpenTime.UTC()
			if closed != nil {
				v.CloseTime = closed.UTC()
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	return out, err
}

// MarkChurnRisk sets (or, with atRisk false, clears) the churn mark on
// every dealer's archive of the VIN; it returns how many changed.
func (s *SegmentStore) MarkChurnRisk(ctx context.Context, vin string, atRisk bool, since time.Time) (int, error) {
	var n int64
	err := pg.InTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		var tag pgconn.CommandTag
		var err error
		if atRisk {
			tag, err = tx.Exec(ctx, `UPDATE vehicles SET churn_risk_since = $2 WHERE vin = $1 AND churn_risk_since IS DISTINCT FROM $2`, vin, since)
		} else {
			tag, err = tx.Exec(ctx, `UPDATE vehicles SET churn_risk_since = NULL WHERE vin = $1 AND churn_risk_since IS NOT NULL`, vin)
		}
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}
