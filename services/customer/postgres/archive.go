package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/idempotency"
	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/pkg/pii"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/validate"
	"github.com/dealercare/dealercare/services/customer/archive"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ArchiveStore implements archive.Store. Every method runs in a
// transaction scoped to the one dealer it is given.
type ArchiveStore struct {
	pool   *pgxpool.Pool
	cipher *pii.Cipher
	index  *pii.Index
}

// NewArchiveStore returns a store; cipher encrypts ID numbers and index
// makes them searchable by equality.
func NewArchiveStore(pool *pgxpool.Pool, cipher *pii.Cipher, index *pii.Index) *ArchiveStore {
	return &ArchiveStore{pool: pool, cipher: cipher, index: index}
}

var _ archive.Store = (*ArchiveStore)(nil)

const customerColumns = `c.id::text, c.dealer_id, c.kind, c.name, c.gender, coalesce(to_char(c.birthday, 'YYYY-MM-DD'), ''),
	c.mobile, c.email, c.address, c.id_number_enc, c.source, c.tier, c.tags, c.preferred_channel, c.preferred_hours,
	c.loyalty_points, c.contact_name, c.dms_id, c.trigger_time, c.create_time, c.update_time, c.problems, coalesce(c.merged_into::text, ''),
	(SELECT min(v.churn_risk_since) FROM vehicles v WHERE v.dealer_id = c.dealer_id AND v.customer_id = c.id)`

func (s *ArchiveStore) scanCustomer(row pgx.Row) (*archive.Customer, error) {
	var c archive.Customer
	var enc, problems []byte
	var trigger, churn *time.Time
	if err := row.Scan(&c.ID, &c.Dealer, &c.Kind, &c.Name, &c.Gender, &c.Birthday, &c.Mobile, &c.Email, &c.Address, &enc,
		&c.Source, &c.Tier, &c.Tags, &c.PreferredChannel, &c.PreferredHours, &c.LoyaltyPoints, &c.ContactName, &c.DMSID,
		&trigger, &c.CreateTime, &c.UpdateTime, &problems, &c.MergedInto, &churn); err != nil {
		return nil, err
	}
	if churn != nil {
		c.ChurnRiskSince = churn.UTC()
	}
	if trigger != nil {
		c.TriggerTime = *trigger
	}
	if len(enc) > 0 {
		id, err := s.cipher.Decrypt(enc)
		if err != nil {
			return nil, fmt.Errorf("decrypt id number of customer %s: %w", c.ID, err)
		}
		c.IDNumber = id
	}
	if err := json.Unmarshal(problems, &c.Problems); err != nil {
		return nil, fmt.Errorf("decode problems of customer %s: %w", c.ID, err)
	}
	return &c, nil
}

// loadConsents fills c.Consents.
func loadConsents(ctx context.Context, tx pgx.Tx, c *archive.Customer) error {
	rows, err := tx.Query(ctx, `SELECT channel, granted, source, update_time FROM consents
		WHERE dealer_id = $1 AND customer_id = $2 ORDER BY channel`, c.Dealer, c.ID)
	if err != nil {
		return err
	}
	c.Consents, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (archive.Consent, error) {
		var k archive.Consent
		err := r.Scan(&k.Channel, &k.Granted, &k.Source, &k.UpdateTime)
		return k, err
	})
	return err
}

// sealID encrypts an ID number and computes its blind index.
func (s *ArchiveStore) sealID(id string) (enc, index []byte, err error) {
	if id == "" {
		return nil, nil, nil
	}
	if enc, err = s.cipher.Encrypt(id); err != nil {
		return nil, nil, fmt.Errorf("encrypt id number: %w", err)
	}
	return enc, s.index.BlindIndex(id), nil
}

func nullDate(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// CreateCustomer inserts a new archive.
func (s *ArchiveStore) CreateCustomer(ctx context.Context, c *archive.Customer) (*archive.Customer, error) {
	enc, index, err := s.sealID(c.IDNumber)
	if err != nil {
		return nil, err
	}
	problems, _ := json.Marshal(c.Problems)
	if c.Problems == nil {
		problems = []byte("[]")
	}
	var out *archive.Customer
	err = pg.InTx(ctx, s.pool, pg.Dealers(c.Dealer), func(tx pgx.Tx) error {
		// A retry of a keyed create whose answer was lost gets the first
		// one's customer (pkg/idempotency).
		id, repeated, err := idempotency.Once(ctx, tx, c.Dealer, func() (string, error) {
			row := tx.QueryRow(ctx, `INSERT INTO customers AS c (dealer_id, id, kind, name, gender, birthday, mobile, email, address,
			id_number_enc, id_number_index, source, tier, tags, preferred_channel, preferred_hours, contact_name, dms_id,
			trigger_time, problems)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
			RETURNING `+customerColumns,
				c.Dealer, outbox.NewID(), c.Kind, c.Name, c.Gender, nullDate(c.Birthday), c.Mobile, c.Email, c.Address,
				enc, index, c.Source, c.Tier, c.Tags, c.PreferredChannel, c.PreferredHours, c.ContactName, c.DMSID,
				nullTime(c.TriggerTime), problems)
			var err error
			if out, err = s.scanCustomer(row); err != nil {
				return "", err
			}
			return out.ID, nil
		})
		if err == nil && repeated {
			out, err = s.getCustomer(ctx, tx, c.Dealer, id, false)
		}
		return err
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, err
		}
		if isUnique(err) {
			return nil, apperr.Errorf(apperr.ECONFLICT, "a customer with DMS id %q already exists", c.DMSID).Zh("DMS 编号 " + c.DMSID + " 的客户已存在")
		}
		return nil, fmt.Errorf("create customer: %w", err)
	}
	return out, nil
}

func notFoundCustomer(id string) error { return apperr.NotFound("customer", "客户", id) }

// getCustomer loads one customer inside tx; forUpdate locks it.
func (s *ArchiveStore) getCustomer(ctx context.Context, tx pgx.Tx, dealer, id string, forUpdate bool) (*archive.Customer, error) {
	if !validate.IsUUID(id) {
		return nil, notFoundCustomer(id)
	}
	q := `SELECT ` + customerColumns + ` FROM customers c WHERE c.dealer_id = $1 AND c.id = $2`
	if forUpdate {
		q += ` FOR UPDATE`
	}
	c, err := s.scanCustomer(tx.QueryRow(ctx, q, dealer, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFoundCustomer(id)
	}
	if err != nil {
		return nil, err
	}
	return c, loadConsents(ctx, tx, c)
}

// GetCustomer returns ENOTFOUND for a missing id.
func (s *ArchiveStore) GetCustomer(ctx context.Context, dealer, id string) (*archive.Customer, error) {
	var c *archive.Customer
	err := pg.InReadOnlyTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) (err error) {
		c, err = s.getCustomer(ctx, tx, dealer, id, false)
		return err
	})
	return c, err
}

// TimeZone is the dealer's time zone as the network stores it; "" for a
// dealer the network does not have.
func (s *ArchiveStore) TimeZone(ctx context.Context, dealer string) (string, error) {
	var zone string
	err := pg.InReadOnlyTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT time_zone FROM dealers WHERE dealer_id = $1`, dealer).Scan(&zone)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	return zone, err
}

// UpdateCustomer loads, applies fn and saves in one transaction.
func (s *ArchiveStore) UpdateCustomer(ctx context.Context, dealer, id string, fn func(*archive.Customer) error) (*archive.Customer, error) {
	var out *archive.Customer
	err := pg.InTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) error {
		c, err := s.getCustomer(ctx, tx, dealer, id, true)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
		enc, index, err := s.sealID(c.IDNumber)
		if err != nil {
			return err
		}
		problems, _ := json.Marshal(c.Problems)
		if c.Problems == nil {
			problems = []byte("[]")
		}
		out, err = s.scanCustomer(tx.QueryRow(ctx, `UPDATE customers AS c SET kind = $3, name = $4, gender = $5, birthday = $6,
			mobile = $7, email = $8, address = $9, id_number_enc = $10, id_number_index = $11, source = $12, tier = $13, tags = $14,
			preferred_channel = $15, preferred_hours = $16, contact_name = $17, dms_id = $18, trigger_time = $19, problems = $20,
			update_time = now()
			WHERE dealer_id = $1 AND id = $2 RETURNING `+customerColumns,
			dealer, id, c.Kind, c.Name, c.Gender, nullDate(c.Birthday), c.Mobile, c.Email, c.Address, enc, index, c.Source,
			c.Tier, c.Tags, c.PreferredChannel, c.PreferredHours, c.ContactName, c.DMSID, nullTime(c.TriggerTime), problems))
		if err != nil {
			return err
		}
		return loadConsents(ctx, tx, out)
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, err
		}
		if isUnique(err) {
			return nil, apperr.Errorf(apperr.ECONFLICT, "another customer has this DMS id").Zh("其他客户已使用该 DMS 编号")
		}
		return nil, fmt.Errorf("update customer %s: %w", id, err)
	}
	return out, nil
}

// keyset is the WHERE fragment continuing a newest-first list after
// (t, id); $1 is the dealer, the fragment uses $2 and $3 (pg.PagePosition's,
// both NULL on the first page).
func keyset(col, idCol string) string { return ` AND ` + pg.NewestFirstAfter(col, idCol, "$2", "$3") }

// ListCustomers searches the archive. A query that is a valid mobile, VIN
// or plate matches exactly (indexed); anything else is a name prefix.
func (s *ArchiveStore) ListCustomers(ctx context.Context, dealer, query, tier string, p archive.Page) ([]archive.Customer, string, error) {
	at, aid, err := pg.DecodePageToken(p.After)
	if err != nil {
		return nil, "", err
	}
	t, id := pg.PagePosition(at, aid)
	args := []any{dealer, t, id, p.Size, tier}
	where := `c.dealer_id = $1 AND c.merged_into IS NULL AND ($5 = '' OR c.tier = $5)` + keyset("c.create_time", "c.id")
	query = strings.TrimSpace(query)
	// Each recognised form matches exactly through an index; anything else
	// is a name prefix.
	if query != "" {
		// The mobile and plate indexes are partial (non-empty values only);
		// saying so lets a generic plan use them.
		if m, err := validate.Mobile(query); err == nil {
			where += ` AND c.mobile = $6 AND c.mobile <> ''`
			args = append(args, m)
		} else if v, err := validate.VIN(query); err == nil {
			where += ` AND c.id IN (SELECT customer_id FROM vehicles WHERE dealer_id = $1 AND vin = $6)`
			args = append(args, v)
		} else if pl, err := validate.Plate(query); err == nil {
			where += ` AND c.id IN (SELECT customer_id FROM vehicles WHERE dealer_id = $1 AND plate = $6 AND plate <> '')`
			args = append(args, pl)
		} else {
			// A byte-wise range, not LIKE: with a parameter (prepared,
			// generic plans) only a range can use the text_pattern_ops index.
			where += ` AND c.name ~>=~ $6 AND c.name ~<~ ($6 || chr(1114111))`
			args = append(args, query)
		}
	}
	return s.queryCustomers(ctx, dealer, "list customers", where, args, p.Size)
}

// queryCustomers runs a newest-first customer list: where may use $1
// (dealer), $2/$3 (the page position, see keyset) and $4 (the page size).
func (s *ArchiveStore) queryCustomers(ctx context.Context, dealer, what, where string, args []any, size int) ([]archive.Customer, string, error) {
	var out []archive.Customer
	err := pg.InReadOnlyTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+customerColumns+` FROM customers c WHERE `+where+`
			ORDER BY c.create_time DESC, c.id DESC LIMIT $4`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := s.scanCustomer(rows)
			if err != nil {
				return err
			}
			out = append(out, *c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	next := ""
	if len(out) == size {
		last := out[len(out)-1]
		next = pg.EncodePageToken(last.CreateTime, last.ID)
	}
	return out, next, nil
}

// SetConsent upserts one channel's consent.
func (s *ArchiveStore) SetConsent(ctx context.Context, dealer, id string, k archive.Consent) (*archive.Customer, error) {
	var out *archive.Customer
	err := pg.InTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) error {
		if _, err := s.getCustomer(ctx, tx, dealer, id, true); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO consents (dealer_id, customer_id, channel, granted, source, update_time)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (dealer_id, customer_id, channel) DO UPDATE SET granted = EXCLUDED.granted, source = EXCLUDED.source, update_time = EXCLUDED.update_time`,
			dealer, id, k.Channel, k.Granted, k.Source, k.UpdateTime); err != nil {
			return err
		}
		var err error
		out, err = s.getCustomer(ctx, tx, dealer, id, false)
		return err
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("set consent: %w", err)
	}
	return out, nil
}

// AdjustPoints writes a ledger entry and the new balance atomically.
func (s *ArchiveStore) AdjustPoints(ctx context.Context, dealer, id string, points int64, reason string) (*archive.LoyaltyTransaction, error) {
	var out archive.LoyaltyTransaction
	err := pg.InTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) error {
		c, err := s.getCustomer(ctx, tx, dealer, id, true)
		if err != nil {
			return err
		}
		// A keyed retry whose first answer was lost gets that entry back
		// instead of crediting the points twice.
		entry, repeated, err := idempotency.Once(ctx, tx, dealer, func() (string, error) {
			balance, err := archive.ApplyPoints(c.LoyaltyPoints, points)
			if err != nil {
				return "", err
			}
			if _, err := tx.Exec(ctx, `UPDATE customers SET loyalty_points = $3, update_time = now() WHERE dealer_id = $1 AND id = $2`, dealer, id, balance); err != nil {
				return "", err
			}
			err = tx.QueryRow(ctx, `INSERT INTO loyalty_transactions (dealer_id, id, customer_id, points, reason, balance)
				VALUES ($1, $2, $3, $4, $5, $6) RETURNING id::text, customer_id::text, points, reason, balance, create_time`,
				dealer, outbox.NewID(), id, points, reason, balance).Scan(&out.ID, &out.Customer, &out.Points, &out.Reason, &out.Balance, &out.CreateTime)
			return out.ID, err
		})
		if err == nil && repeated {
			err = tx.QueryRow(ctx, `SELECT id::text, customer_id::text, points, reason, balance, create_time FROM loyalty_transactions
				WHERE dealer_id = $1 AND id = $2`, dealer, entry).Scan(&out.ID, &out.Customer, &out.Points, &out.Reason, &out.Balance, &out.CreateTime)
		}
		return err
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("adjust points: %w", err)
	}
	return &out, nil
}

// ListLoyalty lists the ledger newest first.
func (s *ArchiveStore) ListLoyalty(ctx context.Context, dealer, id string, p archive.Page) ([]archive.LoyaltyTransaction, string, error) {
	at, aid, err := pg.DecodePageToken(p.After)
	if err != nil {
		return nil, "", err
	}
	t, after := pg.PagePosition(at, aid)
	var out []archive.LoyaltyTransaction
	err = pg.InReadOnlyTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id::text, customer_id::text, points, reason, balance, create_time FROM loyalty_transactions
			WHERE dealer_id = $1 AND customer_id = $5`+keyset("create_time", "id")+` ORDER BY create_time DESC, loyalty_transactions.id DESC LIMIT $4`,
			dealer, t, after, p.Size, id)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (archive.LoyaltyTransaction, error) {
			var l archive.LoyaltyTransaction
			err := r.Scan(&l.ID, &l.Customer, &l.Points, &l.Reason, &l.Balance, &l.CreateTime)
			return l, err
		})
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list loyalty: %w", err)
	}
	next := ""
	if len(out) == p.Size {
		next = pg.EncodePageToken(out[len(out)-1].CreateTime, out[len(out)-1].ID)
	}
	return out, next, nil
}

// Duplicates groups live customers sharing a mobile. Two customers of a
// dealer cannot own the same VIN: its unique (dealer, VIN) index keeps one
// vehicle per VIN (creating a second answers 409; an import row with a
// known VIN updates the archived vehicle), so there is no VIN group to
// look for.
func (s *ArchiveStore) Duplicates(ctx context.Context, dealer string, limit int) ([]archive.DuplicateGroup, error) {
	var groups []archive.DuplicateGroup
	err := pg.InReadOnlyTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT 'mobile', array_agg(id::text ORDER BY create_time, id) FROM customers
			 WHERE dealer_id = $1 AND merged_into IS NULL AND mobile <> '' GROUP BY mobile HAVING count(*) > 1
			LIMIT $2`, dealer, limit)
		if err != nil {
			return err
		}
		type raw struct {
			reason string
			ids    []string
		}
		rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (raw, error) {
			var x raw
			err := r.Scan(&x.reason, &x.ids)
			return x, err
		})
		if err != nil {
			return err
		}
		for _, r := range rs {
			g := archive.DuplicateGroup{Reason: r.reason}
			for _, id := range r.ids {
				c, err := s.getCustomer(ctx, tx, dealer, id, false)
				if err != nil {
					return err
				}
				g.Customers = append(g.Customers, *c)
			}
			groups = append(groups, g)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find duplicates: %w", err)
	}
	return groups, nil
}

// Merge moves vehicles, repair orders, sales, the loyalty ledger and
// missing consents to the survivor, adds the points, fills the survivor's
// empty fields from the merged archives, marks them merged and records the
// merge, all in one transaction.
func (s *ArchiveStore) Merge(ctx context.Context, dealer, survivor string, merged []string, actor string) (*archive.Customer, error) {
	var out *archive.Customer
	err := pg.InTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) error {
		surv, err := s.getCustomer(ctx, tx, dealer, survivor, true)
		if err != nil {
			return err
		}
		if surv.MergedInto != "" {
			return apperr.Errorf(apperr.EFAILEDPRECOND, "customer %s was itself merged into %s", survivor, surv.MergedInto).Zh("保留的客户已被合并")
		}
		for _, id := range merged {
			m, err := s.getCustomer(ctx, tx, dealer, id, true)
			if err != nil {
				return err
			}
			if m.MergedInto != "" {
				return apperr.Errorf(apperr.EFAILEDPRECOND, "customer %s was already merged into %s", id, m.MergedInto).Zh("客户 " + id + " 已被合并")
			}
			for _, q := range []string{
				`UPDATE vehicles SET customer_id = $3 WHERE dealer_id = $1 AND customer_id = $2`,
				`UPDATE repair_orders SET customer_id = $3 WHERE dealer_id = $1 AND customer_id = $2`,
				`UPDATE sales SET customer_id = $3 WHERE dealer_id = $1 AND customer_id = $2`,
				`UPDATE loyalty_transactions SET customer_id = $3 WHERE dealer_id = $1 AND customer_id = $2`,
				`INSERT INTO consents (dealer_id, customer_id, channel, granted, source, update_time)
				 SELECT dealer_id, $3, channel, granted, source, update_time FROM consents WHERE dealer_id = $1 AND customer_id = $2
				 ON CONFLICT (dealer_id, customer_id, channel) DO UPDATE SET granted = EXCLUDED.granted, source = EXCLUDED.source, update_time = EXCLUDED.update_time
				 WHERE consents.update_time < EXCLUDED.update_time`,
				`DELETE FROM consents WHERE dealer_id = $1 AND customer_id = $2 AND customer_id <> $3`,
				`UPDATE customers SET merged_into = $3, loyalty_points = 0, update_time = now() WHERE dealer_id = $1 AND id = $2`,
			} {
				if _, err := tx.Exec(ctx, q, dealer, id, survivor); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO customer_merges (dealer_id, survivor_id, merged_id, actor) VALUES ($1, $2, $3, $4)`,
				dealer, survivor, id, actor); err != nil {
				return err
			}
			surv.LoyaltyPoints += m.LoyaltyPoints
			fillEmpty(surv, m)
		}
		surv.Problems = surv.Check()
		enc, index, err := s.sealID(surv.IDNumber)
		if err != nil {
			return err
		}
		problems, _ := json.Marshal(surv.Problems)
		if surv.Problems == nil {
			problems = []byte("[]")
		}
		if _, err := tx.Exec(ctx, `UPDATE customers SET loyalty_points = $3, name = $4, mobile = $5, email = $6, address = $7,
			gender = $8, birthday = $9, id_number_enc = $10, id_number_index = $11, trigger_time = $12, problems = $13, update_time = now()
			WHERE dealer_id = $1 AND id = $2`, dealer, survivor, surv.LoyaltyPoints, surv.Name, surv.Mobile, surv.Email, surv.Address,
			surv.Gender, nullDate(surv.Birthday), enc, index, nullTime(surv.TriggerTime), problems); err != nil {
			return err
		}
		out, err = s.getCustomer(ctx, tx, dealer, survivor, false)
		return err
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("merge customers into %s: %w", survivor, err)
	}
	return out, nil
}

// fillEmpty completes the survivor's missing fields from a merged archive;
// the earliest trigger time wins.
func fillEmpty(dst, src *archive.Customer) {
	for _, f := range []struct{ d, s *string }{
		{&dst.Name, &src.Name}, {&dst.Mobile, &src.Mobile}, {&dst.Email, &src.Email}, {&dst.Address, &src.Address},
		{&dst.Gender, &src.Gender}, {&dst.Birthday, &src.Birthday}, {&dst.IDNumber, &src.IDNumber},
	} {
		if *f.d == "" {
			*f.d = *f.s
		}
	}
	if dst.TriggerTime.IsZero() || (!src.TriggerTime.IsZero() && src.TriggerTime.Before(dst.TriggerTime)) {
		dst.TriggerTime = src.TriggerTime
	}
}

// ListProblems lists live archives with problems, newest first.
func (s *ArchiveStore) ListProblems(ctx context.Context, dealer string, p archive.Page) ([]archive.Customer, string, error) {
	at, aid, err := pg.DecodePageToken(p.After)
	if err != nil {
		return nil, "", err
	}
	t, after := pg.PagePosition(at, aid)
	return s.queryCustomers(ctx, dealer, "list archive problems",
		`c.dealer_id = $1 AND c.problem_count > 0 AND c.merged_into IS NULL`+keyset("c.create_time", "c.id"),
		[]any{dealer, t, after, p.Size}, p.Size)
}

func isUnique(err error) bool {
	var pe interface{ SQLState() string }
	return errors.As(err, &pe) && pe.SQLState() == "23505"
}
