package importer

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dealercare/dealercare/pkg/validate"
	"github.com/dealercare/dealercare/services/customer/archive"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// FuzzImportFile feeds arbitrary uploads through everything an import does
// before the database: encoding detection, CSV reading, header mapping,
// row validation, lanes and the batch plan. No input may panic. A file
// either fails as a whole with a message (the import's failure), or reads
// the same twice (the scan, then the writers), and each of its data rows
// is planned or rejected with errors naming the row and a known field.
// What the plan writes passes the archive tables' constraints, so a batch
// cannot fail in PostgreSQL on a value the parser let through, and the
// archive's own rules (dates and event times from 1900 or 1950 up to the
// import's now).
//
//	go test -run XXX -fuzz FuzzImportFile ./importer/
func FuzzImportFile(f *testing.F) {
	const header = "客户编号,姓名,手机号,性别,出生日期,身份证号,地址,客户级别,客户类型,车辆编号,车架号,车牌号,品牌,车型,年款,购车日期\n"
	good := header +
		"C1,张三,13812345678,男,1980-05-06,110101199003074477,上海市浦东新区,关键,个人,V1,LSVAU2180N2183294,沪A12345,大众,朗逸,2022,2022-03-01\n" +
		"C1,张三,13812345678,男,1980-05-06,,上海市,常规,个人,V2,1M8GDM9AXKP042788,沪AD12345,大众,帕萨特,2021,2021/3/1\n" +
		"C2,\"李,四\",+8613912345678,女,,,\"多行\n地址\",潜力,企业,V1,LSVAU2180N2183294,,,,,\n" +
		",,,,,,,,,,,,,,,\n"
	gbkGood, _ := simplifiedchinese.GBK.NewEncoder().String(good)
	for _, seed := range []string{
		good, gbkGood, "\uFEFF" + good, strings.ReplaceAll(good, ",", ";"), strings.ReplaceAll(good, ",", "\t"),
		"dms_customer_id,name,vin\nC1,x,LSVAU2180N2183294X\n",
		"dms_customer_id,name\nC1,\"broken\n", "", "\xff\xfe", "dms_customer_id,name,address\nC1,x,\x00\n",
		header + "C1,张三,13812345678,男,1980-02-30,1101011990030744X7,,未知,,V1,IOQ,京A,,,99999999999,0000-01-01\n",
	} {
		f.Add([]byte(seed), uint8(0))
	}
	f.Add([]byte(gbkGood), uint8(2))
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	fields := columnNames[:]

	f.Fuzz(func(t *testing.T, content []byte, declared uint8) {
		enc := []string{"", EncodingUTF8, EncodingGBK}[declared%3]
		sc, err := scanFile(content, enc)
		if err != nil {
			var fe *fileError
			if !errors.As(err, &fe) || fe.msg == "" {
				t.Fatalf("the file fails with %v (%T), not a message the import can keep", err, err)
			}
			return
		}
		p := &parser{h: sc.header, now: now, loc: time.UTC, index: func(id string) []byte { return []byte(id) }}
		rs := sc.src.records()
		if _, err := rs.next(); err != nil {
			t.Fatalf("header read again: %v", err)
		}
		pl := newPlanner("D001", now, nil, nil)
		total := 0
		for {
			rec, err := rs.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("row %d fails on the second read, after the scan passed: %v", rs.row+1, err)
			}
			if blank(rec) {
				continue
			}
			total++
			r, errs := sc.parse(p, rs.row, rec)
			if (r == nil) == (len(errs) == 0) {
				t.Fatalf("row %d: parsed %v with errors %v", rs.row, r != nil, errs)
			}
			for _, e := range errs {
				if e.Row != rs.row || !slices.Contains(fields, e.Field) || e.Reason == "" || !utf8.ValidString(e.Reason) {
					t.Fatalf("row %d: error %+v", rs.row, e)
				}
			}
			if r == nil {
				continue
			}
			if lane := sc.lane(r.cust.DMSID, 4); lane < 0 || lane > 3 {
				t.Fatalf("row %d: lane %d of 4", rs.row, lane)
			}
			pl.add(r)
		}
		if total != sc.total {
			t.Fatalf("read %d data rows, the scan counted %d", total, sc.total)
		}
		for _, e := range pl.errs {
			if !slices.Contains(fields, e.Field) || e.Reason == "" {
				t.Fatalf("plan error %+v", e)
			}
		}
		for _, w := range pl.customerWrites() {
			checkWritable(t, w.Customer, now)
		}
		for _, v := range pl.vehicleWrites() {
			if _, err := validate.VIN(v.VIN); err != nil || v.Customer == "" || v.ID == "" {
				t.Fatalf("vehicle written with VIN %q (%v), customer %q, id %q", v.VIN, err, v.Customer, v.ID)
			}
			checkText(t, v.VIN, v.Plate, v.Brand, v.Model, v.DMSID)
			checkDate(t, "purchase date", v.PurchaseDate, 1950, now)
		}
	})
}

// checkWritable fails when c breaks a constraint of the customers table.
func checkWritable(t *testing.T, c archive.Customer, now time.Time) {
	t.Helper()
	if c.DMSID == "" || c.ID == "" {
		t.Fatalf("customer written without a DMS id (%q) or id (%q)", c.DMSID, c.ID)
	}
	if !slices.Contains([]string{archive.KindIndividual, archive.KindEnterprise}, c.Kind) ||
		!slices.Contains([]string{"", "male", "female"}, c.Gender) ||
		!slices.Contains([]string{archive.TierKey, archive.TierRegular, archive.TierPotential, archive.TierTemporary}, c.Tier) {
		t.Fatalf("customer %s written with kind %q, gender %q, tier %q", c.DMSID, c.Kind, c.Gender, c.Tier)
	}
	checkText(t, c.DMSID, c.Name, c.Mobile, c.Email, c.Address, c.IDNumber, c.Source, c.ContactName)
	checkDate(t, "birthday", c.Birthday, 1900, now)
	if at := c.TriggerTime; !at.IsZero() && (at.Year() < 1950 || at.After(now)) {
		t.Fatalf("customer %s written with trigger time %v", c.DMSID, at)
	}
}

// checkText fails on what PostgreSQL's text refuses: invalid UTF-8, NUL.
func checkText(t *testing.T, values ...string) {
	t.Helper()
	for _, v := range values {
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			t.Fatalf("text %q would not go into PostgreSQL", v)
		}
	}
}

// checkDate fails on a date that is neither empty nor a real day from
// the year from up to now's day.
func checkDate(t *testing.T, what, d string, from int, now time.Time) {
	t.Helper()
	if d == "" {
		return
	}
	if tm, err := time.Parse(time.DateOnly, d); err != nil || tm.Year() < from || tm.After(now) {
		t.Fatalf("%s %q (%v)", what, d, err)
	}
}
