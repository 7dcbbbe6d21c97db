package importer_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/pgtest"
	"github.com/dealercare/dealercare/pkg/pii"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/customer/archive"
	"github.com/dealercare/dealercare/services/customer/importer"
	"github.com/dealercare/dealercare/services/customer/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// env is the importer against a fresh, migrated database, reached as the
// service role (row-level security applies).
type env struct {
	cipher  *pii.Cipher
	pool    *pgxpool.Pool
	db      *pgtest.DB
	store   *postgres.ImportStore
	archive *postgres.ArchiveStore
	svc     *importer.Service
}

// visibility is the dealer network's rule, reduced: HQ reads every
// dealer, dealer staff their own.
type visibility struct{}

func (visibility) CanRead(ctx context.Context, dealer string) (bool, error) {
	p, _ := auth.PrincipalFromContext(ctx)
	return p.IsHQ() || p.Dealer == dealer, nil
}

func newEnv(t testing.TB) *env {
	t.Helper()
	fsys, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	db := pgtest.New(t, postgres.Schema, fsys)
	pool := db.AppPool(t, pg.Config{MaxConns: 8})
	keys := pii.NewRandomKeys()
	cipher, err := keys.Cipher()
	if err != nil {
		t.Fatal(err)
	}
	index, err := keys.Index()
	if err != nil {
		t.Fatal(err)
	}
	store := postgres.NewImportStore(pool, cipher, index)
	return &env{cipher: cipher, pool: pool, db: db, store: store, archive: postgres.NewArchiveStore(pool, cipher, index), svc: importer.NewService(store, visibility{})}
}

func as(dealer string, roles ...auth.Role) context.Context {
	return auth.NewContextWithPrincipal(context.Background(), &auth.Principal{Subject: "tester", Roles: roles, Dealer: dealer})
}

func agentOf(dealer string) context.Context { return as(dealer, auth.RoleAgent) }

// fixedNow keeps validations (birthdays, purchase dates) stable.
func fixedNow() time.Time { return time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC) }

func newRunner(t testing.TB, e *env, cfg importer.RunnerConfig) *importer.Runner {
	t.Helper()
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 10 * time.Millisecond
	}
	r, err := importer.NewRunner(e.store, cfg, fixedNow, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runUntilDone runs a runner until the import leaves the running state.
func (e *env) runUntilDone(t testing.TB, dealer, id string, cfg importer.RunnerConfig) *importer.Import {
	t.Helper()
	r := newRunner(t, e, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		imp, err := e.store.GetImport(context.Background(), dealer, id)
		if err != nil {
			t.Fatal(err)
		}
		if imp.State != importer.StateRunning {
			return imp
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("import %s still running", id)
	return nil
}

func (e *env) importFile(t testing.TB, dealer string, content []byte, encoding string, cfg importer.RunnerConfig) *importer.Import {
	t.Helper()
	imp, err := e.svc.CreateImport(agentOf(dealer), dealer, "dms.csv", content, encoding)
	if err != nil {
		t.Fatal(err)
	}
	if imp.State != importer.StateRunning {
		t.Fatalf("CreateImport state = %s, want running", imp.State)
	}
	return e.runUntilDone(t, dealer, imp.ID, cfg)
}

func (e *env) rowErrors(t testing.TB, dealer, id string) []importer.RowError {
	t.Helper()
	var all []importer.RowError
	page := archive.Page{Size: 2}
	for {
		es, next, err := e.svc.ListImportErrors(agentOf(dealer), dealer, id, page)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, es...)
		if next == "" {
			return all
		}
		page.After = next
	}
}

type archiveRow struct {
	id, name, mobile, gender, tier, kind, birthday, address string
	trigger                                                 time.Time
	updated                                                 time.Time
	vehicles                                                []string // "VIN plate brand model year purchase"
}

// snapshot reads a dealer's whole archive by DMS id.
func (e *env) snapshot(t testing.TB, dealer string) map[string]archiveRow {
	t.Helper()
	out := map[string]archiveRow{}
	err := pg.InReadOnlyTx(context.Background(), e.pool, pg.Dealers(dealer), func(tx pgx.Tx) error {
		rows, err := tx.Query(context.Background(), `SELECT c.dms_id, c.id::text, c.name, c.mobile, c.gender, c.tier, c.kind,
			coalesce(to_char(c.birthday, 'YYYY-MM-DD'), ''), c.address, coalesce(c.trigger_time, 'epoch'), c.update_time,
			coalesce(array_agg(v.vin || ' ' || v.plate || ' ' || v.brand || ' ' || v.model || ' ' || v.model_year || ' ' ||
				coalesce(v.purchase_date::text, '') ORDER BY v.vin) FILTER (WHERE v.id IS NOT NULL), '{}')
			FROM customers c LEFT JOIN vehicles v ON v.dealer_id = c.dealer_id AND v.customer_id = c.id
			WHERE c.dealer_id = $1 GROUP BY c.dealer_id, c.id`, dealer)
		if err != nil {
			return err
		}
		var dms string
		var r archiveRow
		_, err = pgx.ForEachRow(rows, []any{&dms, &r.id, &r.name, &r.mobile, &r.gender, &r.tier, &r.kind, &r.birthday,
			&r.address, &r.trigger, &r.updated, &r.vehicles}, func() error {
			out[dms] = r
			return nil
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func wantCounts(t testing.TB, imp *importer.Import, total, inserted, updated, unchanged, failed int) {
	t.Helper()
	got := [5]int{imp.TotalRows, imp.Inserted, imp.Updated, imp.Unchanged, imp.Failed}
	want := [5]int{total, inserted, updated, unchanged, failed}
	if got != want || imp.ProcessedRows != total || imp.State != importer.StateSucceeded {
		t.Fatalf("import %s: state %s, total/inserted/updated/unchanged/failed = %v, processed %d; want %v, processed %d (failure %q)",
			imp.ID, imp.State, got, imp.ProcessedRows, want, total, imp.Failure)
	}
}

// The fixture: customer C001 owns two vehicles (two rows), C002's VIN has
// a wrong check digit, C003 is a company with a contact.
var vin1, vin2, vin3, vin4 = withCheckDigit("LSVAB2BM0MN123456"), withCheckDigit("LFV3A23C0K3012345"),
	withCheckDigit("LVSHFFAC0EF654321"), withCheckDigit("LGBH52E00LY112233")

func fixture(c001mobile, c003plate string) string {
	badVIN := vin2[:8] + string("0123456789X"[(strings.IndexByte("0123456789X", vin2[8])+1)%11]) + vin2[9:]
	return "客户编号,姓名,手机号,性别,出生日期,身份证号,地址,客户级别,客户类型,联系人,车架号,车牌号,品牌,车型,年款,购车日期,备注\n" +
		"C001,张三,+86 " + c001mobile + ",男,1985/3/7,440305198503071234,广东省深圳市南山区科技园1号,关键,个人,,\"" + vin1 + "\",粤B12345,大众,帕萨特,2021,2021-06-30,老客户\n" +
		"C002,李四,13912345678,女,1990-05-01,,北京市朝阳区建国路2号,常规,个人,," + badVIN + ",京A12345,丰田,凯美瑞,2020,2020-01-15,\n" +
		"C003,深圳速达物流有限公司,13700001111,,,,深圳市宝安区3号,潜力,企业,王经理," + vin3 + "," + c003plate + ",别克,GL8,2019,2019-09-09,车队\n" +
		",,,,,,,,,,,,,,,,\n" +
		"C001,张三,+86 " + c001mobile + ",男,1985/3/7,440305198503071234,广东省深圳市南山区科技园1号,关键,个人,," + vin4 + ",粤B6789D,大众,ID.4,2023,2023-02-01,\n"
}

func TestImportGBKReimportAndUpdate(t *testing.T) {
	e := newEnv(t)
	const dealer = "D001"
	cfg := importer.RunnerConfig{BatchSize: 2} // several batches, C001's rows in two of them

	// The ID number in the fixture needs its real check character.
	utf := strings.ReplaceAll(fixture("138 1234 5678", "粤B88888"), "440305198503071234", testIDFor("44030519850307123"))
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(utf))
	if err != nil {
		t.Fatal(err)
	}
	imp := e.importFile(t, dealer, gbk, "", cfg)
	if imp.Encoding != importer.EncodingGBK {
		t.Errorf("encoding = %q, want gbk (detected)", imp.Encoding)
	}
	wantCounts(t, imp, 4, 3, 0, 0, 1)
	if imp.FinishTime.IsZero() {
		t.Error("finish time not set")
	}
	errs := e.rowErrors(t, dealer, imp.ID)
	if len(errs) != 1 || errs[0].Row != 3 || errs[0].Field != "vin" || !strings.Contains(errs[0].Reason, "check digit") {
		t.Fatalf("row errors = %+v, want row 3 (header is row 1), field vin, a check-digit reason", errs)
	}

	arch := e.snapshot(t, dealer)
	if len(arch) != 2 {
		t.Fatalf("archive has %d customers, want C001 and C003 (C002's row was rejected whole): %v", len(arch), arch)
	}
	c1 := arch["C001"]
	if c1.name != "张三" || c1.mobile != "+8613812345678" || c1.gender != "male" || c1.tier != "key" || c1.kind != "individual" ||
		c1.birthday != "1985-03-07" || len(c1.vehicles) != 2 {
		t.Errorf("C001 = %+v", c1)
	}
	// Without a trigger column, the sale is the triggering event: the
	// first purchase date, midnight in the dealer's zone (China).
	if want := time.Date(2021, 6, 30, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)); !c1.trigger.Equal(want) {
		t.Errorf("C001 trigger time = %v, want %v", c1.trigger, want)
	}
	c3 := arch["C003"]
	if c3.kind != "enterprise" || c3.tier != "potential" || len(c3.vehicles) != 1 || !strings.HasPrefix(c3.vehicles[0], vin3+" 粤B88888 别克 GL8 2019") {
		t.Errorf("C003 = %+v", c3)
	}
	full, err := e.archive.GetCustomer(context.Background(), dealer, c1.id)
	if err != nil {
		t.Fatal(err)
	}
	if full.IDNumber != testIDFor("44030519850307123") || full.Source != "import" {
		t.Errorf("C001 id number %q (decrypted), source %q", full.IDNumber, full.Source)
	}
	if len(full.Problems) != 0 {
		t.Errorf("C001 problems = %+v, want none", full.Problems)
	}

	// The same file again changes nothing, not even update_time.
	again := e.importFile(t, dealer, gbk, "gbk", cfg)
	wantCounts(t, again, 4, 0, 0, 3, 1)
	if after := e.snapshot(t, dealer); fmt.Sprint(after) != fmt.Sprint(arch) {
		t.Errorf("re-import changed the archive:\nbefore %v\nafter  %v", arch, after)
	}

	// An updated file (UTF-8 this time): C001's mobile (on both of its
	// rows) and C003's plate changed; only those rows count as updated.
	upd := strings.ReplaceAll(fixture("13800000000", "粤B99999"), "440305198503071234", testIDFor("44030519850307123"))
	changed := e.importFile(t, dealer, []byte("\uFEFF"+upd), "", cfg)
	if changed.Encoding != importer.EncodingUTF8 {
		t.Errorf("encoding = %q, want utf-8", changed.Encoding)
	}
	// C001's first row only adds its vehicle (unchanged); its last row
	// carries the new mobile; C003's row changes the vehicle.
	wantCounts(t, changed, 4, 0, 2, 1, 1)
	after := e.snapshot(t, dealer)
	if after["C001"].mobile != "+8613800000000" || !after["C001"].updated.After(c1.updated) {
		t.Errorf("C001 after update = %+v", after["C001"])
	}
	if !strings.Contains(after["C003"].vehicles[0], "粤B99999") || !after["C003"].updated.Equal(c3.updated) {
		t.Errorf("C003 after update = %+v (its customer fields did not change: update_time must stay)", after["C003"])
	}
}

// testIDFor completes 17 digits with the GB 11643 check character.
func testIDFor(d string) string {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(d[i]-'0') * idWeights[i]
	}
	return d + string("10X98765432"[sum%11])
}

func TestImportMissingHeaderFails(t *testing.T) {
	e := newEnv(t)
	csv := "姓名,手机号,车架号\n张三,13812345678," + vin1 + "\n"
	imp := e.importFile(t, "D001", []byte(csv), "", importer.RunnerConfig{})
	if imp.State != importer.StateFailed || !strings.Contains(imp.Failure, "dms_customer_id") || imp.ProcessedRows != 0 {
		t.Fatalf("import = %+v, want failed naming dms_customer_id", imp)
	}
	if n := len(e.snapshot(t, "D001")); n != 0 {
		t.Errorf("%d customers written by a failed import", n)
	}
	var content []byte
	err := pg.InReadOnlyTx(context.Background(), e.pool, pg.Dealers("D001"), func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT content FROM imports WHERE id = $1`, imp.ID).Scan(&content)
	})
	if err != nil || content != nil {
		t.Errorf("failed import keeps its file (%d bytes, %v)", len(content), err)
	}
}

func TestImportBadFiles(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, content, encoding, failure string
	}{
		{"declared utf-8 but GBK", string(mustGBK(t, "客户编号,姓名\nC1,张三\n")), "utf-8", "not valid UTF-8 (line 1)"},
		{"stray quote", "客户编号,姓名\nC1,张\"三\nC2,李四\n", "", "not valid CSV at line 2"},
		{"empty header", "\n\n", "", "the file is empty"},
		{"two name columns", "客户编号,姓名,name\nC1,张三,Zhang\n", "", "two columns for name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			imp := e.importFile(t, "D001", []byte(tc.content), tc.encoding, importer.RunnerConfig{})
			if imp.State != importer.StateFailed || !strings.Contains(imp.Failure, tc.failure) {
				t.Fatalf("import state %s, failure %q; want failed with %q", imp.State, imp.Failure, tc.failure)
			}
		})
	}
	if n := len(e.snapshot(t, "D001")); n != 0 {
		t.Errorf("%d customers written by failed imports", n)
	}
}

func mustGBK(t testing.TB, s string) []byte {
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A runner stopped after half the batches, then a new runner: the import
// completes with exact totals and no duplicates. Then a runner that dies
// inside a batch: nothing of that batch stays, and once its lease expires
// another runner finishes the import.
func TestImportResumes(t *testing.T) {
	e := newEnv(t)
	const dealer, rows, batch = "D001", 40, 5
	csv := testCSV(rows, 7)

	imp, err := e.svc.CreateImport(agentOf(dealer), dealer, "big.csv", []byte(csv), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// One writer, so "half the batches" is an exact state (lanes:
	// TestImportLanesMatchSerial).
	r1 := newRunner(t, e, importer.RunnerConfig{BatchSize: batch, Writers: 1, Owner: "r1"})
	importer.SetHooks(r1, nil, func(n int) {
		if n == rows/batch/2 {
			cancel()
		}
	})
	if err := r1.Run(ctx); err != nil {
		t.Fatalf("r1: %v", err)
	}
	half, err := e.store.GetImport(context.Background(), dealer, imp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if half.State != importer.StateRunning || half.ProcessedRows != rows/2 || half.Inserted != rows/2 || half.TotalRows != rows {
		t.Fatalf("after half the batches: %+v", half)
	}
	if n := len(e.snapshot(t, dealer)); n != rows/2 {
		t.Fatalf("%d customers after half the batches, want %d", n, rows/2)
	}
	done := e.runUntilDone(t, dealer, imp.ID, importer.RunnerConfig{BatchSize: batch, Owner: "r2"})
	wantCounts(t, done, rows, rows, 0, 0, 0)
	arch := e.snapshot(t, dealer)
	if len(arch) != rows {
		t.Fatalf("%d customers, want %d", len(arch), rows)
	}
	for dms, c := range arch {
		if len(c.vehicles) != 1 {
			t.Errorf("%s has vehicles %v", dms, c.vehicles)
		}
	}

	// A crash inside batch 3: runner 3 neither commits nor gives the import
	// up; its lease (3s) must expire before another runner resumes.
	csv2 := strings.NewReplacer("\nC", "\nX", ",V0", ",W0").Replace(testCSV(rows, 8)) // other DMS ids
	imp2, err := e.svc.CreateImport(agentOf(dealer), dealer, "big2.csv", []byte(csv2), "")
	if err != nil {
		t.Fatal(err)
	}
	r3 := newRunner(t, e, importer.RunnerConfig{BatchSize: batch, Writers: 1, Owner: "r3", Lease: 3 * time.Second})
	crash := errors.New("simulated crash")
	importer.SetHooks(r3, func(n int) error {
		if n == 3 {
			return crash
		}
		return nil
	}, nil)
	if err := r3.Run(context.Background()); !errors.Is(err, crash) {
		t.Fatalf("r3: %v, want the simulated crash", err)
	}
	if j, err := e.store.ClaimImport(context.Background(), "probe", time.Second); j != nil || err != nil {
		t.Fatalf("claimed %+v, %v while r3's lease lives", j, err)
	}
	mid, _ := e.store.GetImport(context.Background(), dealer, imp2.ID)
	if mid.ProcessedRows != 2*batch || len(e.snapshot(t, dealer)) != rows+2*batch {
		t.Fatalf("after the crash: processed %d, %d customers; want %d and %d (batch 3 rolled back)",
			mid.ProcessedRows, len(e.snapshot(t, dealer)), 2*batch, rows+2*batch)
	}
	done2 := e.runUntilDone(t, dealer, imp2.ID, importer.RunnerConfig{BatchSize: batch, Owner: "r4"})
	wantCounts(t, done2, rows, rows, 0, 0, 0)
	if n := len(e.snapshot(t, dealer)); n != 2*rows {
		t.Fatalf("%d customers, want %d", n, 2*rows)
	}
}

// An import written in lanes, crashed part-way and resumed by a runner
// configured with one writer, leaves exactly the archive, counts and row
// errors that one writer leaves: a customer's rows stay in file order in
// one lane, and customers sharing a vehicle are written alone, after the
// others. Re-imported in lanes, every row is unchanged.
func TestImportLanesMatchSerial(t *testing.T) {
	e := newEnv(t)
	base := testCSV(60, 11)
	lines := strings.Split(strings.TrimSuffix(base, "\n"), "\n")
	field := func(row, col int) string { return strings.Split(lines[row+1], ",")[col] }
	// Customers i < j whose rows would go to different lanes if they were
	// not tied.
	apart := func(from int) (int, int) {
		for i := from; ; i++ {
			for j := i + 1; j < 60; j++ {
				if importer.HashLane(field(i, 0), 4) != importer.HashLane(field(j, 0), 4) {
					return i, j
				}
			}
		}
	}
	mover, seller := apart(10)
	claimer, owner := apart(seller + 1)
	extra := []string{
		// C00000005's second vehicle and a new name: the later row wins.
		"C00000005,李新名,,,,,,,个人,V90000005," + testVIN(905, rand.New(rand.NewPCG(1, 1))) + ",,大众,车型1,2020,2021-05-01",
		// The seller's vehicle moves to the mover (same DMS vehicle id):
		// the two are tied and go to the serial lane.
		field(mover, 0) + ",,,,,,,,个人," + field(seller, 9) + "," + field(seller, 10) + ",,,,,",
		// The claimer claims the owner's DMS vehicle id for another VIN:
		// tied too, so one writer decides between them as the serial
		// import does (two lanes would both insert the DMS id).
		field(claimer, 0) + ",,,,,,,,个人," + field(owner, 9) + "," + testVIN(911, rand.New(rand.NewPCG(2, 2))) + ",,,,,",
		// A new customer with a bad VIN: rejected, naming vin.
		"C00000099,赵错,13800000000,,,,,,个人,V00000099,LSVAB2BMIMN123456,,,,,",
		// C00000030 again with nothing new: unchanged by its last row.
		lines[31],
	}
	csv := []byte(base + strings.Join(extra, "\n") + "\n")

	serial := e.importFile(t, "D001", csv, "", importer.RunnerConfig{BatchSize: 4, Writers: 1})

	imp, err := e.svc.CreateImport(agentOf("D002"), "D002", "dms.csv", csv, "")
	if err != nil {
		t.Fatal(err)
	}
	crash := errors.New("simulated crash")
	var batches atomic.Int32
	r1 := newRunner(t, e, importer.RunnerConfig{BatchSize: 4, Writers: 3, Owner: "r1", Lease: 2 * time.Second})
	importer.SetHooks(r1, func(n int) error {
		if batches.Add(1) == 7 {
			return crash
		}
		return nil
	}, nil)
	if err := r1.Run(context.Background()); !errors.Is(err, crash) {
		t.Fatalf("r1: %v, want the simulated crash", err)
	}
	mid, err := e.store.GetImport(context.Background(), "D002", imp.ID)
	if err != nil || mid.State != importer.StateRunning || mid.ProcessedRows == 0 || mid.ProcessedRows >= mid.TotalRows {
		t.Fatalf("after the crash: %+v, %v; want part of the rows written", mid, err)
	}
	if got := e.lanes(t, "D002", imp.ID); len(got) != 4 {
		t.Fatalf("lanes after the crash = %v, want 4 checkpoints (3 writers and the serial lane)", got)
	}
	// The crashed batch's lease must expire; the new runner, set to one
	// writer, finishes in the import's own 4 lanes.
	parallel := e.runUntilDone(t, "D002", imp.ID, importer.RunnerConfig{BatchSize: 4, Writers: 1, Owner: "r2"})
	if got := e.lanes(t, "D002", imp.ID); len(got) != 4 {
		t.Errorf("lanes after resuming = %v, want the import's own 4", got)
	}

	wantCounts(t, parallel, serial.TotalRows, serial.Inserted, serial.Updated, serial.Unchanged, serial.Failed)
	if serial.TotalRows != 65 {
		t.Errorf("serial import: %+v, want 65 rows", serial)
	}
	a, b := e.rowErrors(t, "D001", serial.ID), e.rowErrors(t, "D002", parallel.ID)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("row errors: serial %v, lanes %v", a, b)
	}
	if len(a) != 2 || a[0].Row != 64 || a[0].Field != "vin" || !strings.Contains(a[0].Reason, field(owner, 9)) || a[1].Row != 65 || a[1].Field != "vin" {
		t.Errorf("row errors = %v, want row 64 (another VIN for %s) and row 65 (a bad VIN)", a, field(owner, 9))
	}
	one, other := e.snapshot(t, "D001"), e.snapshot(t, "D002")
	if len(one) != 60 || len(other) != len(one) {
		t.Fatalf("%d and %d customers, want 60 each", len(one), len(other))
	}
	for dms, a := range one {
		b := other[dms]
		a.id, b.id, a.updated, b.updated = "", "", time.Time{}, time.Time{}
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s: serial %v, lanes %v", dms, a, b)
		}
	}
	if c := one["C00000005"]; c.name != "李新名" || len(c.vehicles) != 2 {
		t.Errorf("C00000005 = %+v, want the later row's name and two vehicles", c)
	}
	if m, s := one[field(mover, 0)], one[field(seller, 0)]; len(m.vehicles) != 2 || len(s.vehicles) != 0 {
		t.Errorf("%s has %v, %s has %v; want the vehicle moved to the first", field(mover, 0), m.vehicles, field(seller, 0), s.vehicles)
	}

	again := e.importFile(t, "D002", csv, "", importer.RunnerConfig{BatchSize: 4, Writers: 3})
	wantCounts(t, again, 65, 0, 0, 63, 2)
}

// lanes reads an import's lane checkpoints.
func (e *env) lanes(t testing.TB, dealer, id string) []int {
	t.Helper()
	var out []int
	err := pg.InReadOnlyTx(context.Background(), e.pool, pg.Dealers(dealer), func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT lanes FROM imports WHERE dealer_id = $1 AND id = $2`, dealer, id).Scan(&out)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Two runners on one import: the lease keeps them from writing the same
// batch twice, whatever the interleaving.
func TestImportTwoRunners(t *testing.T) {
	e := newEnv(t)
	const dealer, rows = "D001", 60
	imp, err := e.svc.CreateImport(agentOf(dealer), dealer, "x.csv", []byte(testCSV(rows, 9)), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, owner := range []string{"a", "b"} {
		r := newRunner(t, e, importer.RunnerConfig{BatchSize: 3, Owner: owner})
		wg.Go(func() {
			if err := r.Run(ctx); err != nil {
				t.Errorf("runner %s: %v", owner, err)
			}
		})
	}
	done := e.runUntilDone(t, dealer, imp.ID, importer.RunnerConfig{BatchSize: 3, Owner: "c"})
	cancel()
	wg.Wait()
	wantCounts(t, done, rows, rows, 0, 0, 0)
	if n := len(e.snapshot(t, dealer)); n != rows {
		t.Errorf("%d customers, want %d", n, rows)
	}
}

// Empty cells keep what the archive has; a later row of the same
// customer wins; a VIN already archived under another DMS vehicle id is
// rejected; rows of a merged customer are rejected.
func TestImportMergeRules(t *testing.T) {
	e := newEnv(t)
	const dealer = "D001"
	ctx := agentOf(dealer)
	svc := archive.NewService(e.archive, visibility{}, fixedNow)
	typed, err := svc.CreateCustomer(ctx, dealer, archive.Customer{Name: "王五", Mobile: "13600001111", Email: "wang@example.com", DMSID: "C010", Address: "旧地址"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateVehicle(ctx, dealer, typed.ID, archive.Vehicle{VIN: vin3, Plate: "粤B11111", DMSID: "V-OLD"}); err != nil {
		t.Fatal(err)
	}
	gone, err := svc.CreateCustomer(ctx, dealer, archive.Customer{Name: "赵六", DMSID: "C011"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Merge(ctx, dealer, typed.ID, []string{gone.ID}); err != nil {
		t.Fatal(err)
	}

	csv := "dms_customer_id,name,mobile,email,address,dms_vehicle_id,vin,plate\n" +
		"C010,,13600002222,,新地址,,,\n" + // not C010's last row: ignored
		"C010,王五五,,,,,,\n" + // the last row wins; its empty cells keep the archive's values
		"C012,孙七,13500001111,,,V-NEW," + vin3 + ",\n" + // VIN archived under V-OLD
		"C011,赵六,,,,,,\n" // merged away
	imp := e.importFile(t, dealer, []byte(csv), "", importer.RunnerConfig{})
	wantCounts(t, imp, 4, 0, 1, 1, 2)
	errs := e.rowErrors(t, dealer, imp.ID)
	if len(errs) != 2 || errs[0].Row != 4 || errs[0].Field != "dms_vehicle_id" || errs[1].Row != 5 || errs[1].Field != "dms_customer_id" {
		t.Fatalf("row errors = %+v", errs)
	}
	c, err := e.archive.GetCustomer(context.Background(), dealer, typed.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "王五五" || c.Mobile != "+8613600001111" || c.Email != "wang@example.com" || c.Address != "旧地址" {
		t.Errorf("C010 = name %q mobile %q email %q address %q", c.Name, c.Mobile, c.Email, c.Address)
	}
	again := e.importFile(t, dealer, []byte(csv), "", importer.RunnerConfig{BatchSize: 1})
	wantCounts(t, again, 4, 0, 0, 2, 2)
}

func TestImportAccess(t *testing.T) {
	e := newEnv(t)
	csv := []byte("客户编号,姓名\nC1,张三\nC2,\n")
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"another dealer's agent", agentOf("D002"), apperr.ENOTFOUND},
		{"HQ", as("", auth.RoleHQAdmin), apperr.EFORBIDDEN},
		{"unauthenticated", context.Background(), apperr.EUNAUTHORIZED},
	} {
		if _, err := e.svc.CreateImport(tc.ctx, "D001", "x.csv", csv, ""); apperr.Code(err) != tc.want {
			t.Errorf("%s: CreateImport error = %v, want %s", tc.name, err, tc.want)
		}
	}
	if _, err := e.svc.CreateImport(agentOf("D001"), "D001", "x.csv", csv, "latin1"); apperr.Code(err) != apperr.EINVALID {
		t.Errorf("unknown encoding: %v", err)
	}

	imp := e.importFile(t, "D001", csv, "", importer.RunnerConfig{})
	wantCounts(t, imp, 2, 2, 0, 0, 0)
	if imp.Creator != "tester" {
		t.Errorf("creator = %q", imp.Creator)
	}
	// Readers: HQ sees it; another dealer's staff do not.
	if _, err := e.svc.GetImport(as("", auth.RoleHQAnalyst), "D001", imp.ID); err != nil {
		t.Errorf("HQ GetImport: %v", err)
	}
	if _, err := e.svc.GetImport(agentOf("D002"), "D001", imp.ID); apperr.Code(err) != apperr.ENOTFOUND {
		t.Errorf("D002 GetImport of D001's import: %v", err)
	}
	if _, err := e.svc.GetImport(agentOf("D002"), "D002", imp.ID); apperr.Code(err) != apperr.ENOTFOUND {
		t.Errorf("D002 GetImport of D001's import under its own dealer: %v", err)
	}
	if _, _, err := e.svc.ListImportErrors(agentOf("D002"), "D002", imp.ID, archive.Page{}); apperr.Code(err) != apperr.ENOTFOUND {
		t.Errorf("D002 ListImportErrors of D001's import: %v", err)
	}
	list, _, err := e.svc.ListImports(agentOf("D002"), "D002", archive.Page{})
	if err != nil || len(list) != 0 {
		t.Errorf("D002 ListImports = %v, %v", list, err)
	}
}

// Row-level security, below the application: a transaction scoped to
// another dealer sees neither the import nor its errors, even unfiltered.
func TestImportRowLevelSecurity(t *testing.T) {
	e := newEnv(t)
	csv := []byte("客户编号,手机号\nC1,12345\nC2,13812345678\n")
	imp := e.importFile(t, "D001", csv, "", importer.RunnerConfig{})
	wantCounts(t, imp, 2, 1, 0, 0, 1)
	count := func(scope pg.Scope) (imports, errs int) {
		err := pg.InReadOnlyTx(context.Background(), e.pool, scope, func(tx pgx.Tx) error {
			return tx.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM imports), (SELECT count(*) FROM import_errors)`).Scan(&imports, &errs)
		})
		if err != nil {
			t.Fatal(err)
		}
		return imports, errs
	}
	if i, n := count(pg.Dealers("D001")); i != 1 || n != 1 {
		t.Errorf("D001 sees %d imports, %d errors; want 1, 1", i, n)
	}
	if i, n := count(pg.Dealers("D002")); i != 0 || n != 0 {
		t.Errorf("D002 sees %d imports, %d errors; want none", i, n)
	}
	err := pg.InTx(context.Background(), e.pool, pg.Dealers("D002"), func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO import_errors (dealer_id, import_id, row, field, reason) VALUES ('D001', $1, 99, 'x', 'y')`, imp.ID)
		return err
	})
	if err == nil {
		t.Error("D002 wrote an error row of D001's import")
	}
	if err := pg.VerifyTenantTables(context.Background(), e.pool, postgres.Schema); err != nil {
		t.Error(err)
	}
}
