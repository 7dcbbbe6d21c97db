package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/calendar"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/customer/network"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// NetworkStore implements network.Store.
type NetworkStore struct {
	pool *pgxpool.Pool
}

// NewNetworkStore returns a store over pool (connected as the service role).
func NewNetworkStore(pool *pgxpool.Pool) *NetworkStore { return &NetworkStore{pool: pool} }

var _ network.Store = (*NetworkStore)(nil)

const regionColumns = `r.code, r.name, r.create_time, (SELECT count(*) FROM dealers d WHERE d.region = r.code)`

func scanRegion(row pgx.Row) (*network.Region, error) {
	var r network.Region
	err := row.Scan(&r.Code, &r.Name, &r.CreateTime, &r.DealerCount)
	return &r, err
}

// ListRegions lists regions by code after p.After. Dealer counts cover the
// whole network: they are not dealer data.
func (s *NetworkStore) ListRegions(ctx context.Context, p network.Page) ([]network.Region, error) {
	var out []network.Region
	err := pg.InReadOnlyTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+regionColumns+` FROM regions r WHERE r.code > $1 ORDER BY r.code LIMIT $2`, p.After, p.Size)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRegion(rows)
			if err != nil {
				return err
			}
			out = append(out, *r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list regions: %w", err)
	}
	return out, nil
}

// GetRegion returns ENOTFOUND for an unknown code.
func (s *NetworkStore) GetRegion(ctx context.Context, code string) (*network.Region, error) {
	var r *network.Region
	err := pg.InReadOnlyTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) (err error) {
		r, err = scanRegion(tx.QueryRow(ctx, `SELECT `+regionColumns+` FROM regions r WHERE r.code = $1`, code))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("region", "大区", code)
	}
	if err != nil {
		return nil, fmt.Errorf("get region %s: %w", code, err)
	}
	return r, nil
}

// CreateRegion returns ECONFLICT when the code exists.
func (s *NetworkStore) CreateRegion(ctx context.Context, r network.Region) (*network.Region, error) {
	err := pg.InTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO regions (code, name) VALUES ($1, $2)`, r.Code, r.Name)
		return err
	})
	if err != nil {
		return nil, mapError(err, "region "+r.Code)
	}
	return s.GetRegion(ctx, r.Code)
}

const dealerColumns = `dealer_id, name, region, time_zone, city, create_time, update_time`

func scanDealer(row pgx.Row) (*network.Dealer, error) {
	var d network.Dealer
	err := row.Scan(&d.Code, &d.Name, &d.Region, &d.TimeZone, &d.City, &d.CreateTime, &d.UpdateTime)
	return &d, err
}

// ListDealers lists visible dealers by code.
func (s *NetworkStore) ListDealers(ctx context.Context, v network.Visibility, region string, p network.Page) ([]network.Dealer, error) {
	var out []network.Dealer
	err := pg.InReadOnlyTx(ctx, s.pool, scopeOf(v.All, v.Dealers), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+dealerColumns+` FROM dealers
			WHERE dealer_id > $1 AND ($2 = '' OR region = $2) AND ($3 OR dealer_id = ANY($4))
			ORDER BY dealer_id LIMIT $5`, p.After, region, v.All, v.Dealers, p.Size)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDealer(rows)
			if err != nil {
				return err
			}
			out = append(out, *d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list dealers: %w", err)
	}
	return out, nil
}

// GetDealer returns ENOTFOUND when missing or not visible.
func (s *NetworkStore) GetDealer(ctx context.Context, v network.Visibility, code string) (*network.Dealer, error) {
	var d *network.Dealer
	err := pg.InReadOnlyTx(ctx, s.pool, scopeOf(v.All, v.Dealers), func(tx pgx.Tx) (err error) {
		d, err = scanDealer(tx.QueryRow(ctx, `SELECT `+dealerColumns+` FROM dealers WHERE dealer_id = $1 AND ($2 OR dealer_id = ANY($3))`, code, v.All, v.Dealers))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("dealer", "经销商", code)
	}
	if err != nil {
		return nil, fmt.Errorf("get dealer %s: %w", code, err)
	}
	return d, nil
}

// CreateDealer inserts the dealer and its calendar in one transaction.
func (s *NetworkStore) CreateDealer(ctx context.Context, d network.Dealer, cal calendar.Spec) (*network.Dealer, error) {
	spec, err := json.Marshal(cal)
	if err != nil {
		return nil, fmt.Errorf("encode calendar: %w", err)
	}
	var out *network.Dealer
	err = pg.InTx(ctx, s.pool, pg.Dealers(d.Code), func(tx pgx.Tx) error {
		row := tx.QueryRow(ctx, `INSERT INTO dealers (dealer_id, name, region, time_zone, city)
			VALUES ($1, $2, $3, $4, $5) RETURNING `+dealerColumns, d.Code, d.Name, d.Region, d.TimeZone, d.City)
		var err error
		if out, err = scanDealer(row); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO business_calendars (dealer_id, spec) VALUES ($1, $2)`, d.Code, spec)
		return err
	})
	if err != nil {
		return nil, mapError(err, "dealer "+d.Code)
	}
	return out, nil
}

// UpdateDealer applies fn to the locked row and saves it.
func (s *NetworkStore) UpdateDealer(ctx context.Context, code string, fn func(*network.Dealer) error) (*network.Dealer, error) {
	var out *network.Dealer
	err := pg.InTx(ctx, s.pool, pg.Dealers(code), func(tx pgx.Tx) error {
		d, err := scanDealer(tx.QueryRow(ctx, `SELECT `+dealerColumns+` FROM dealers WHERE dealer_id = $1 FOR UPDATE`, code))
		if errors.Is(err, pgx.ErrNoRows) {
			return apperr.NotFound("dealer", "经销商", code)
		}
		if err != nil {
			return err
		}
		if err := fn(d); err != nil {
			return err
		}
		out, err = scanDealer(tx.QueryRow(ctx, `UPDATE dealers SET name = $2, region = $3, time_zone = $4, city = $5, update_time = now()
			WHERE dealer_id = $1 RETURNING `+dealerColumns, code, d.Name, d.Region, d.TimeZone, d.City))
		return err
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, err
		}
		return nil, mapError(err, "dealer "+code)
	}
	return out, nil
}

// GetCalendar returns the stored calendar (its time zone is the dealer's).
func (s *NetworkStore) GetCalendar(ctx context.Context, v network.Visibility, dealer string) (*network.StoredCalendar, error) {
	c := network.StoredCalendar{Dealer: dealer}
	var raw []byte
	err := pg.InReadOnlyTx(ctx, s.pool, scopeOf(v.All, v.Dealers), func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT spec, update_time FROM business_calendars WHERE dealer_id = $1 AND ($2 OR dealer_id = ANY($3))`,
			dealer, v.All, v.Dealers).Scan(&raw, &c.UpdateTime)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("dealer", "经销商", dealer)
	}
	if err != nil {
		return nil, fmt.Errorf("get calendar of %s: %w", dealer, err)
	}
	if err := json.Unmarshal(raw, &c.Spec); err != nil {
		return nil, fmt.Errorf("decode calendar of %s: %w", dealer, err)
	}
	return &c, nil
}

// PutCalendar replaces the dealer's calendar.
func (s *NetworkStore) PutCalendar(ctx context.Context, dealer string, spec calendar.Spec) (*network.StoredCalendar, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("encode calendar: %w", err)
	}
	c := network.StoredCalendar{Dealer: dealer, Spec: spec}
	err = pg.InTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO business_calendars (dealer_id, spec) VALUES ($1, $2)
			ON CONFLICT (dealer_id) DO UPDATE SET spec = EXCLUDED.spec, update_time = now()
			RETURNING update_time`, dealer, raw).Scan(&c.UpdateTime)
	})
	if err != nil {
		return nil, mapError(err, "calendar of "+dealer)
	}
	return &c, nil
}

// RegionDealers lists a region's dealer codes; used to scope region users.
func (s *NetworkStore) RegionDealers(ctx context.Context, region string) ([]string, error) {
	var codes []string
	err := pg.InReadOnlyTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT dealer_id FROM dealers WHERE region = $1 ORDER BY dealer_id`, region)
		if err != nil {
			return err
		}
		codes, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dealers of region %s: %w", region, err)
	}
	return codes, nil
}
