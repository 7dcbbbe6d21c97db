package postgres

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/idempotency"
	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/pkg/pii"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/validate"
	"github.com/dealercare/dealercare/services/customer/archive"
	"github.com/dealercare/dealercare/services/customer/importer"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ImportStore implements importer.Store. Batches are written set-based:
// rows are copied (COPY, binary) into a temporary staging table and merged
// with one INSERT ... ON CONFLICT ... DO UPDATE ... WHERE <differs> per
// table, whose RETURNING tells inserted (xmax = 0) from updated rows; rows
// that do not differ are left alone, update_time included. (COPY straight
// into customers is not an option: PostgreSQL refuses COPY FROM into a
// table under row-level security.)
type ImportStore struct {
	pool   *pgxpool.Pool
	cipher *pii.Cipher
	index  *pii.Index
}

// NewImportStore returns a store; cipher and index are the archive's (ID
// numbers are encrypted and indexed as ArchiveStore does).
func NewImportStore(pool *pgxpool.Pool, cipher *pii.Cipher, index *pii.Index) *ImportStore {
	return &ImportStore{pool: pool, cipher: cipher, index: index}
}

var _ importer.Store = (*ImportStore)(nil)

const importColumns = `id::text, dealer_id, file_name, encoding, state, coalesce(total_rows, 0), processed_rows,
	inserted_rows, updated_rows, unchanged_rows, failed_rows, failure, creator, create_time, finish_time`

func scanImport(row pgx.Row) (*importer.Import, error) {
	var i importer.Import
	var finish *time.Time
	if err := row.Scan(&i.ID, &i.Dealer, &i.FileName, &i.Encoding, &i.State, &i.TotalRows, &i.ProcessedRows,
		&i.Inserted, &i.Updated, &i.Unchanged, &i.Failed, &i.Failure, &i.Creator, &i.CreateTime, &finish); err != nil {
		return nil, err
	}
	if finish != nil {
		i.FinishTime = *finish
	}
	return &i, nil
}

// CreateImport stores a running import with its file.
func (s *ImportStore) CreateImport(ctx context.Context, imp *importer.Import, content []byte) (*importer.Import, error) {
	var out *importer.Import
	err := pg.InTx(ctx, s.pool, pg.Dealers(imp.Dealer), func(tx pgx.Tx) error {
		// A retry of a keyed upload whose answer was lost gets the first
		// import, not a second run of the file (pkg/idempotency).
		id, repeated, err := idempotency.Once(ctx, tx, imp.Dealer, func() (string, error) {
			var err error
			out, err = scanImport(tx.QueryRow(ctx, `INSERT INTO imports (dealer_id, id, file_name, encoding, state, content, creator)
				VALUES ($1, $2, $3, $4, 'running', $5, $6) RETURNING `+importColumns,
				imp.Dealer, outbox.NewID(), imp.FileName, imp.Encoding, content, imp.Creator))
			if err != nil {
				return "", err
			}
			return out.ID, nil
		})
		if err == nil && repeated {
			out, err = scanImport(tx.QueryRow(ctx, `SELECT `+importColumns+` FROM imports WHERE dealer_id = $1 AND id = $2`, imp.Dealer, id))
		}
		return err
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("create import: %w", err)
	}
	return out, nil
}

func notFoundImport(id string) error { return apperr.NotFound("import", "导入任务", id) }

// GetImport returns ENOTFOUND for a missing id.
func (s *ImportStore) GetImport(ctx context.Context, dealer, id string) (*importer.Import, error) {
	if !validate.IsUUID(id) {
		return nil, notFoundImport(id)
	}
	var out *importer.Import
	err := pg.InReadOnlyTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) (err error) {
		out, err = scanImport(tx.QueryRow(ctx, `SELECT `+importColumns+` FROM imports WHERE dealer_id = $1 AND id = $2`, dealer, id))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFoundImport(id)
	}
	if err != nil {
		return nil, fmt.Errorf("get import %s: %w", id, err)
	}
	return out, nil
}

// ListImports lists imports newest first.
func (s *ImportStore) ListImports(ctx context.Context, dealer string, p archive.Page) ([]importer.Import, string, error) {
	at, aid, err := pg.DecodePageToken(p.After)
	if err != nil {
		return nil, "", err
	}
	t, after := pg.PagePosition(at, aid)
	var out []importer.Import
	err = pg.InReadOnlyTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+importColumns+` FROM imports WHERE dealer_id = $1`+keyset("create_time", "id")+`
			ORDER BY create_time DESC, imports.id DESC LIMIT $4`, dealer, t, after, p.Size)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			i, err := scanImport(rows)
			if err != nil {
				return err
			}
			out = append(out, *i)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", fmt.Errorf("list imports: %w", err)
	}
	next := ""
	if len(out) == p.Size {
		next = pg.EncodePageToken(out[len(out)-1].CreateTime, out[len(out)-1].ID)
	}
	return out, next, nil
}

// Row-error page tokens are "<row>|<field>", field a column name or "row"
// (fieldName: a token decoding to anything else was not made here).
var fieldName = regexp.MustCompile(`^[a-z_]{1,64}$`)

func encodeErrorToken(e importer.RowError) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(e.Row) + "|" + e.Field))
}

func decodeErrorToken(tok string) (row any, field string, err error) {
	if tok == "" {
		return nil, "", nil
	}
	bad := apperr.Invalid("page_token", "is not a token returned by a previous call").ZhReason("不是上一次调用返回的分页令牌")
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, "", bad
	}
	rs, field, ok := strings.Cut(string(raw), "|")
	n, err := strconv.Atoi(rs)
	if !ok || err != nil || !fieldName.MatchString(field) {
		return nil, "", bad
	}
	return n, field, nil
}

// ListImportErrors lists rejected rows by row and field.
func (s *ImportStore) ListImportErrors(ctx context.Context, dealer, id string, p archive.Page) ([]importer.RowError, string, error) {
	row, field, err := decodeErrorToken(p.After)
	if err != nil {
		return nil, "", err
	}
	if !validate.IsUUID(id) {
		return nil, "", notFoundImport(id)
	}
	var out []importer.RowError
	// The position is one row comparison (rows start at 1), so a generic
	// plan starts the primary-key scan there instead of filtering every
	// earlier error (see keyset).
	err = pg.InReadOnlyTx(ctx, s.pool, pg.Dealers(dealer), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT row, field, reason FROM import_errors
			WHERE dealer_id = $1 AND import_id = $2
			  AND (row, field) > (CASE WHEN $3::integer IS NULL THEN 0 ELSE $3 END, CASE WHEN $3::integer IS NULL THEN '' ELSE $4::text END)
			ORDER BY row, field LIMIT $5`, dealer, id, row, field, p.Size)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (importer.RowError, error) {
			var e importer.RowError
			err := r.Scan(&e.Row, &e.Field, &e.Reason)
			return e, err
		})
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list import errors: %w", err)
	}
	next := ""
	if len(out) == p.Size {
		next = encodeErrorToken(out[len(out)-1])
	}
	return out, next, nil
}

// ClaimImport leases the oldest running import no live lease holds. It
// works across dealers: only the runner calls it.
func (s *ImportStore) ClaimImport(ctx context.Context, owner string, lease time.Duration) (*importer.Job, error) {
	var job *importer.Job
	err := pg.InTx(ctx, s.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		j := importer.Job{Lease: importer.Lease{Owner: owner, Duration: lease}}
		// The candidate is chosen once, in a materialized CTE. As a subquery
		// in UPDATE ... FROM, the planner may put it on the inner side of
		// a nested loop and run it again for every row of imports: each run
		// skips the rows this statement already updated and finds the next
		// one, so one runner leased every claimable import (it did once the
		// row-level-security filter made that plan the cheaper one).
		err := tx.QueryRow(ctx, `
			WITH c AS MATERIALIZED (
				SELECT dealer_id, id FROM imports
				WHERE state = 'running' AND (lease_until IS NULL OR lease_until < now())
				ORDER BY create_time, id LIMIT 1 FOR UPDATE SKIP LOCKED)
			UPDATE imports i SET lease_owner = $1, lease_until = now() + $2 * interval '1 millisecond'
			FROM c
			WHERE i.dealer_id = c.dealer_id AND i.id = c.id
			RETURNING i.dealer_id, i.id::text, i.file_name, i.encoding, i.attempts, i.content,
			          coalesce((SELECT d.time_zone FROM dealers d WHERE d.dealer_id = i.dealer_id), '')`,
			owner, lease.Milliseconds()).Scan(&j.Lease.Dealer, &j.Lease.ImportID, &j.FileName, &j.Encoding,
			&j.Attempts, &j.Content, &j.TimeZone)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		job = &j
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim import: %w", err)
	}
	return job, nil
}

// leased runs one statement on the import if l still holds it.
func (s *ImportStore) leased(ctx context.Context, l importer.Lease, what, sql string, args ...any) error {
	err := pg.InTx(ctx, s.pool, pg.Dealers(l.Dealer), func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sql, append([]any{l.Dealer, l.ImportID, l.Owner}, args...)...)
		if err == nil && tag.RowsAffected() == 0 {
			return importer.ErrLeaseLost
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("%s import %s: %w", what, l.ImportID, err)
	}
	return nil
}

// StartImport records the encoding used and the row count, and fixes the
// import's lanes the first time.
func (s *ImportStore) StartImport(ctx context.Context, l importer.Lease, encoding string, totalRows, lanes int) ([]int, error) {
	if lanes < 1 {
		return nil, fmt.Errorf("start import %s: %d lanes", l.ImportID, lanes)
	}
	var out []int
	err := pg.InTx(ctx, s.pool, pg.Dealers(l.Dealer), func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE imports SET encoding = $4, total_rows = $5,
			lanes = coalesce(lanes, array_fill(1, ARRAY[$6::integer])),
			lease_until = now() + $7 * interval '1 millisecond'
			WHERE dealer_id = $1 AND id = $2 AND lease_owner = $3 AND state = 'running'
			RETURNING lanes`, l.Dealer, l.ImportID, l.Owner, encoding, totalRows, lanes, l.Duration.Milliseconds()).Scan(&out)
		if errors.Is(err, pgx.ErrNoRows) {
			return importer.ErrLeaseLost
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("start import %s: %w", l.ImportID, err)
	}
	return out, nil
}

// FailImport finishes the import as failed and drops its file.
func (s *ImportStore) FailImport(ctx context.Context, l importer.Lease, failure string) error {
	return s.leased(ctx, l, "fail", `UPDATE imports SET state = 'failed', failure = $4, finish_time = now(), content = NULL,
		lease_owner = '', lease_until = NULL
		WHERE dealer_id = $1 AND id = $2 AND lease_owner = $3 AND state = 'running'`, failure)
}

// ReleaseImport gives the import up, for retryAfter.
func (s *ImportStore) ReleaseImport(ctx context.Context, l importer.Lease, retryAfter time.Duration, lastErr string) error {
	return s.leased(ctx, l, "release", `UPDATE imports SET lease_owner = '',
		lease_until = CASE WHEN $4 > 0 THEN now() + $4 * interval '1 millisecond' END,
		attempts = attempts + CASE WHEN $5 = '' THEN 0 ELSE 1 END,
		last_error = CASE WHEN $5 = '' THEN last_error ELSE $5 END
		WHERE dealer_id = $1 AND id = $2 AND lease_owner = $3 AND state = 'running'`,
		retryAfter.Milliseconds(), lastErr)
}

// ApplyBatch runs fn and records its progress in one transaction. The
// import's row is locked only by the closing UPDATE, just before the
// commit, so batches of different lanes run at once; that UPDATE checks
// the lease and the lane's checkpoint on the row's latest version.
func (s *ImportStore) ApplyBatch(ctx context.Context, l importer.Lease, lane, fromRow int, fn func(importer.BatchTx) (importer.Progress, error)) error {
	err := pg.InTx(ctx, s.pool, pg.Dealers(l.Dealer), func(tx pgx.Tx) error {
		// A batch is redone from its lane's checkpoint if its commit is
		// lost, so it need not wait for the WAL flush.
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		// Fail fast, before the batch's work, when the lease is already
		// gone; the closing UPDATE checks again.
		var held bool
		err := tx.QueryRow(ctx, `SELECT coalesce(lease_owner = $3 AND lanes[$4 + 1] = $5, false) FROM imports
			WHERE dealer_id = $1 AND id = $2 AND state = 'running'`, l.Dealer, l.ImportID, l.Owner, lane, fromRow).Scan(&held)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && !held) {
			return importer.ErrLeaseLost
		}
		if err != nil {
			return err
		}
		p, err := fn(&batchTx{tx: tx, store: s, dealer: l.Dealer, importID: l.ImportID})
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE imports SET processed_rows = processed_rows + $6, inserted_rows = inserted_rows + $7,
			updated_rows = updated_rows + $8, unchanged_rows = unchanged_rows + $9, failed_rows = failed_rows + $10,
			lanes[$4 + 1] = $11, lease_until = now() + $12 * interval '1 millisecond', attempts = 0, last_error = ''
			WHERE dealer_id = $1 AND id = $2 AND state = 'running' AND lease_owner = $3 AND lanes[$4 + 1] = $5`,
			l.Dealer, l.ImportID, l.Owner, lane, fromRow, p.Rows, p.Inserted, p.Updated, p.Unchanged, p.Failed,
			p.LastRow, l.Duration.Milliseconds())
		if err == nil && tag.RowsAffected() == 0 {
			return importer.ErrLeaseLost
		}
		if err == nil && p.Done {
			_, err = tx.Exec(ctx, `UPDATE imports SET state = 'succeeded', finish_time = now(), content = NULL,
				lease_owner = '', lease_until = NULL WHERE dealer_id = $1 AND id = $2`, l.Dealer, l.ImportID)
		}
		return err
	})
	if err != nil {
		if errors.Is(err, importer.ErrLeaseLost) {
			return err
		}
		return fmt.Errorf("apply batch of import %s: %w", l.ImportID, err)
	}
	return nil
}

// IndexIDNumber is the blind index ArchiveStore stores for an ID number.
func (s *ImportStore) IndexIDNumber(id string) []byte { return s.index.BlindIndex(id) }

// batchTx is a batch's transaction.
type batchTx struct {
	tx       pgx.Tx
	store    *ImportStore
	dealer   string
	importID string
}

// Customers loads, locked in DMS-id order (so concurrent imports cannot
// deadlock), the customers with these DMS ids. NO KEY UPDATE: an import
// never changes a customer's keys, so vehicles may still be added to it.
func (b *batchTx) Customers(ctx context.Context, dmsIDs []string) ([]importer.ExistingCustomer, error) {
	if len(dmsIDs) == 0 {
		return nil, nil
	}
	rows, err := b.tx.Query(ctx, `SELECT id::text, dms_id, kind, name, gender, coalesce(to_char(birthday, 'YYYY-MM-DD'), ''),
		mobile, email, address, id_number_index, source, tier, contact_name, trigger_time, problems, coalesce(merged_into::text, '')
		FROM customers WHERE dealer_id = $1 AND dms_id <> '' AND dms_id = ANY ($2) ORDER BY dms_id FOR NO KEY UPDATE`, b.dealer, dmsIDs)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (importer.ExistingCustomer, error) {
		var e importer.ExistingCustomer
		var trigger *time.Time
		var problems []byte
		c := &e.Customer
		if err := r.Scan(&c.ID, &c.DMSID, &c.Kind, &c.Name, &c.Gender, &c.Birthday, &c.Mobile, &c.Email, &c.Address,
			&e.IDNumberIndex, &c.Source, &c.Tier, &c.ContactName, &trigger, &problems, &c.MergedInto); err != nil {
			return e, err
		}
		c.Dealer = b.dealer
		if trigger != nil {
			c.TriggerTime = *trigger
		}
		if err := json.Unmarshal(problems, &c.Problems); err != nil {
			return e, fmt.Errorf("decode problems of customer %s: %w", c.ID, err)
		}
		if len(c.Problems) == 0 {
			c.Problems = nil // as Check returns them
		}
		return e, nil
	})
}

// Vehicles loads, locked, the vehicles with these DMS ids or VINs.
func (b *batchTx) Vehicles(ctx context.Context, dmsIDs, vins []string) ([]archive.Vehicle, error) {
	if len(dmsIDs) == 0 && len(vins) == 0 {
		return nil, nil
	}
	rows, err := b.tx.Query(ctx, `SELECT id::text, customer_id::text, vin, plate, brand, model, model_year,
		coalesce(to_char(purchase_date, 'YYYY-MM-DD'), ''), dms_id
		FROM vehicles WHERE dealer_id = $1 AND (vin = ANY ($2) OR (dms_id <> '' AND dms_id = ANY ($3))) ORDER BY vehicles.id FOR UPDATE`,
		b.dealer, vins, dmsIDs)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (archive.Vehicle, error) {
		v := archive.Vehicle{Dealer: b.dealer}
		err := r.Scan(&v.ID, &v.Customer, &v.VIN, &v.Plate, &v.Brand, &v.Model, &v.ModelYear, &v.PurchaseDate, &v.DMSID)
		return v, err
	})
}

func pgUUID(s string) (pgtype.UUID, error) {
	var u pgtype.UUID
	if err := u.Scan(s); err != nil {
		return u, fmt.Errorf("uuid %q: %w", s, err)
	}
	return u, nil
}

// pgDate is a YYYY-MM-DD date, NULL when empty.
func pgDate(s string) (pgtype.Date, error) {
	if s == "" {
		return pgtype.Date{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	return pgtype.Date{Time: t, Valid: err == nil}, err
}

// WriteCustomers merges the customers by DMS id. The batch goes to the
// server as one array per column, unnested into the INSERT: no temporary
// table per batch, whose creation and drop cost the catalog more than the
// rows did.
func (b *batchTx) WriteCustomers(ctx context.Context, cs []importer.CustomerWrite) (map[string]importer.Outcome, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	n := len(cs)
	text := func() []string { return make([]string, n) }
	ids, birthdays, triggers := make([]pgtype.UUID, n), make([]pgtype.Date, n), make([]pgtype.Timestamptz, n)
	encs, indexes := make([][]byte, n), make([][]byte, n)
	dmsIDs, kinds, names, genders, mobiles, emails := text(), text(), text(), text(), text(), text()
	addresses, sources, tiers, contacts, problems := text(), text(), text(), text(), text()
	for i := range cs {
		c := &cs[i].Customer
		var err error
		if ids[i], err = pgUUID(c.ID); err != nil {
			return nil, err
		}
		if birthdays[i], err = pgDate(c.Birthday); err != nil {
			return nil, fmt.Errorf("birthday of customer %s: %w", c.DMSID, err)
		}
		if c.IDNumber != "" {
			if encs[i], err = b.store.cipher.Encrypt(c.IDNumber); err != nil {
				return nil, fmt.Errorf("encrypt id number: %w", err)
			}
		}
		problems[i] = "[]"
		if len(c.Problems) > 0 {
			p, _ := json.Marshal(c.Problems)
			problems[i] = string(p)
		}
		triggers[i] = pgtype.Timestamptz{Time: c.TriggerTime, Valid: !c.TriggerTime.IsZero()}
		dmsIDs[i], kinds[i], names[i], genders[i], mobiles[i], emails[i], addresses[i] = c.DMSID, c.Kind, c.Name, c.Gender, c.Mobile, c.Email, c.Address
		indexes[i], sources[i], tiers[i], contacts[i] = cs[i].IDNumberIndex, c.Source, c.Tier, c.ContactName
	}
	// The ciphertext is kept when the ID number is the same (encryption is
	// randomized: only the blind index tells).
	res, err := b.tx.Query(ctx, `INSERT INTO customers AS c (dealer_id, id, kind, name, gender, birthday, mobile, email, address,
			id_number_enc, id_number_index, source, tier, contact_name, dms_id, trigger_time, problems)
		SELECT $1, s.id, s.kind, s.name, s.gender, s.birthday, s.mobile, s.email, s.address,
			s.id_number_enc, s.id_number_index, s.source, s.tier, s.contact_name, s.dms_id, s.trigger_time, s.problems::jsonb
		FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::date[], $8::text[], $9::text[], $10::text[],
			$11::bytea[], $12::bytea[], $13::text[], $14::text[], $15::text[], $16::timestamptz[], $17::text[])
			AS s (id, dms_id, kind, name, gender, birthday, mobile, email, address, id_number_enc, id_number_index, source, tier,
				contact_name, trigger_time, problems)
		ON CONFLICT (dealer_id, dms_id) WHERE dms_id <> '' DO UPDATE SET
			kind = EXCLUDED.kind, name = EXCLUDED.name, gender = EXCLUDED.gender, birthday = EXCLUDED.birthday,
			mobile = EXCLUDED.mobile, email = EXCLUDED.email, address = EXCLUDED.address,
			id_number_enc = CASE WHEN c.id_number_index IS NOT DISTINCT FROM EXCLUDED.id_number_index
				THEN c.id_number_enc ELSE EXCLUDED.id_number_enc END,
			id_number_index = EXCLUDED.id_number_index, tier = EXCLUDED.tier, contact_name = EXCLUDED.contact_name,
			trigger_time = EXCLUDED.trigger_time, problems = EXCLUDED.problems, update_time = now()
		WHERE (c.kind, c.name, c.gender, c.birthday, c.mobile, c.email, c.address, c.id_number_index, c.tier,
				c.contact_name, c.trigger_time, c.problems)
			IS DISTINCT FROM (EXCLUDED.kind, EXCLUDED.name, EXCLUDED.gender, EXCLUDED.birthday, EXCLUDED.mobile,
				EXCLUDED.email, EXCLUDED.address, EXCLUDED.id_number_index, EXCLUDED.tier, EXCLUDED.contact_name,
				EXCLUDED.trigger_time, EXCLUDED.problems)
		RETURNING c.dms_id, c.xmax = 0`, b.dealer, ids, dmsIDs, kinds, names, genders, birthdays, mobiles, emails, addresses,
		encs, indexes, sources, tiers, contacts, triggers, problems)
	if err != nil {
		return nil, err
	}
	return collectOutcomes(res)
}

// collectOutcomes reads (key, inserted) rows.
func collectOutcomes(rows pgx.Rows) (map[string]importer.Outcome, error) {
	out := map[string]importer.Outcome{}
	var key string
	var inserted bool
	_, err := pgx.ForEachRow(rows, []any{&key, &inserted}, func() error {
		out[key] = importer.Updated
		if inserted {
			out[key] = importer.Inserted
		}
		return nil
	})
	return out, err
}

// WriteVehicles merges the vehicles by id, sent as arrays like
// WriteCustomers'.
func (b *batchTx) WriteVehicles(ctx context.Context, vs []archive.Vehicle) (map[string]importer.Outcome, error) {
	if len(vs) == 0 {
		return nil, nil
	}
	n := len(vs)
	text := func() []string { return make([]string, n) }
	ids, customers, purchases := make([]pgtype.UUID, n), make([]pgtype.UUID, n), make([]pgtype.Date, n)
	vins, plates, brands, models, dmsIDs := text(), text(), text(), text(), text()
	years := make([]int32, n)
	for i := range vs {
		v := &vs[i]
		var err error
		if ids[i], err = pgUUID(v.ID); err != nil {
			return nil, err
		}
		if customers[i], err = pgUUID(v.Customer); err != nil {
			return nil, err
		}
		if purchases[i], err = pgDate(v.PurchaseDate); err != nil {
			return nil, fmt.Errorf("purchase date of vehicle %s: %w", v.VIN, err)
		}
		vins[i], plates[i], brands[i], models[i], years[i], dmsIDs[i] = v.VIN, v.Plate, v.Brand, v.Model, int32(v.ModelYear), v.DMSID
	}
	res, err := b.tx.Query(ctx, `INSERT INTO vehicles AS v (dealer_id, id, customer_id, vin, plate, brand, model, model_year,
			purchase_date, dms_id)
		SELECT $1, s.id, s.customer_id, s.vin, s.plate, s.brand, s.model, s.model_year, s.purchase_date, s.dms_id
		FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::integer[], $9::date[], $10::text[])
			AS s (id, customer_id, vin, plate, brand, model, model_year, purchase_date, dms_id)
		ON CONFLICT (dealer_id, id) DO UPDATE SET
			customer_id = EXCLUDED.customer_id, vin = EXCLUDED.vin, plate = EXCLUDED.plate, brand = EXCLUDED.brand,
			model = EXCLUDED.model, model_year = EXCLUDED.model_year, purchase_date = EXCLUDED.purchase_date,
			dms_id = EXCLUDED.dms_id
		WHERE (v.customer_id, v.vin, v.plate, v.brand, v.model, v.model_year, v.purchase_date, v.dms_id)
			IS DISTINCT FROM (EXCLUDED.customer_id, EXCLUDED.vin, EXCLUDED.plate, EXCLUDED.brand, EXCLUDED.model,
				EXCLUDED.model_year, EXCLUDED.purchase_date, EXCLUDED.dms_id)
		RETURNING v.id::text, v.xmax = 0`, b.dealer, ids, customers, vins, plates, brands, models, years, purchases, dmsIDs)
	if err != nil {
		return nil, err
	}
	return collectOutcomes(res)
}

// AddErrors records rejected rows in one statement.
func (b *batchTx) AddErrors(ctx context.Context, errs []importer.RowError) error {
	rows := make([]int32, len(errs))
	fields := make([]string, len(errs))
	reasons := make([]string, len(errs))
	for i, e := range errs {
		rows[i], fields[i], reasons[i] = int32(e.Row), e.Field, e.Reason
	}
	_, err := b.tx.Exec(ctx, `INSERT INTO import_errors (dealer_id, import_id, row, field, reason)
		SELECT $1, $2, r, f, m FROM unnest($3::integer[], $4::text[], $5::text[]) AS e (r, f, m)`,
		b.dealer, b.importID, rows, fields, reasons)
	return err
}
