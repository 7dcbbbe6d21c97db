package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/validate"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ArchiveSize is how much of a dealer's archive LoadArchive creates.
type ArchiveSize struct {
	CustomersPerDealer int
	// VisitsPerYear is the mean number of service visits of a vehicle in
	// the year before now.
	VisitsPerYear int
}

// DefaultArchiveSize gives `make run` a few thousand customers across the
// demo network, a year of repair orders and the year's deliveries.
var DefaultArchiveSize = ArchiveSize{CustomersPerDealer: 180, VisitsPerYear: 2}

// ArchiveLoaded counts what LoadArchive created.
type ArchiveLoaded struct {
	Dealers, Customers, Vehicles, RepairOrders, Sales int
	// VisitsElsewhere are repair orders of vehicles at a dealer other than
	// their own (another dealer of the region), so the demo shows the
	// vehicle's life across the network: the last visit anywhere and the
	// network's mileage readings.
	VisitsElsewhere int
}

// visitElsewhereEvery is how many of a dealer's customers there are per
// vehicle that also visits a neighbouring dealer.
const visitElsewhereEvery = 12

// A dealer's current work, so that `make run` opens on live callback
// queues: one customer in recentVisitEvery had a repair order closed in the
// last recentVisitDays (3DC callbacks fall due 3 days after closing, so
// some are due at once and the rest over the next days), and one in
// recentSaleEvery took delivery in the last recentSaleDays (7DC callbacks,
// 7 days after delivery, and new-customer callbacks).
const (
	recentVisitEvery = 6
	recentVisitDays  = 5
	recentSaleEvery  = 10
	recentSaleDays   = 12
	// repairHours is the longest a demo repair order stays open.
	repairHours = 6 * time.Hour
)

// purchaseTime is when customer c of a dealer bought the vehicle: within
// the last five years, or within the last recentSaleDays for one customer
// in recentSaleEvery; one to nine hours before the time of day of now.
func purchaseTime(r *rand.Rand, c int, now time.Time) time.Time {
	days := 365 * 5
	if c%recentSaleEvery == recentSaleEvery-1 {
		days = recentSaleDays
	}
	return now.AddDate(0, 0, -r.IntN(days)).Add(-time.Duration(1+r.IntN(9)) * time.Hour)
}

// visitTimes returns when a vehicle bought at purchase came in for service
// in the year before now, oldest first: visits at random over the year
// (so every month has its repair orders), plus one in the last
// recentVisitDays when recent. None is before the purchase, and each opens
// early enough for its repair order (at most repairHours) to close before
// now.
func visitTimes(r *rand.Rand, purchase, now time.Time, visits int, recent bool) []time.Time {
	latest := now.Add(-repairHours - time.Hour)
	year := latest.AddDate(-1, 0, 0)
	var out []time.Time
	for range visits {
		out = append(out, year.Add(time.Duration(r.Int64N(int64(latest.Sub(year))))))
	}
	if recent {
		out = append(out, latest.Add(-time.Duration(r.Int64N(int64(recentVisitDays*24*time.Hour-repairHours-time.Hour)))))
	}
	out = slices.DeleteFunc(out, func(t time.Time) bool { return t.Before(purchase) })
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// visit is a demo repair order's opening; a comeback is a repair of what
// the visit before did not fix.
type visit struct {
	open     time.Time
	comeback bool
}

// withComebacks adds after some of visits (p.Comebacks of them) a repair
// comeback 2 to 20 days later, when that is still before now's latest
// opening; the result is oldest first.
func withComebacks(r *rand.Rand, visits []time.Time, p Profile, now time.Time) []visit {
	latest := now.Add(-repairHours - time.Hour)
	out := make([]visit, 0, len(visits))
	for _, t := range visits {
		out = append(out, visit{open: t})
		if r.Float64() < p.Comebacks {
			if back := t.Add(time.Duration(2+r.IntN(19)) * 24 * time.Hour); back.Before(latest) {
				out = append(out, visit{open: back, comeback: true})
			}
		}
	}
	slices.SortFunc(out, func(a, b visit) int { return a.open.Compare(b.open) })
	return out
}

// TokenFor returns the outgoing context of one of dealer's agents: archive
// writes belong to the dealer's own staff.
type TokenFor func(ctx context.Context, dealer string) (context.Context, error)

var (
	surnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
	given    = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚华建国志红梅春燕文斌海波晓东丹玉兰")
	streets  = []string{"人民路", "中山路", "解放路", "建设路", "世纪大道", "长江路", "和平路", "新华路", "朝阳路", "滨江大道"}
	models   = []struct{ brand, model string }{{"大众", "帕萨特"}, {"大众", "迈腾"}, {"大众", "ID.4 CROZZ"}, {"大众", "途观L"}, {"大众", "朗逸"}, {"大众", "探岳"}}
	vinChars = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
	// plateProvince of a dealer's city, for plausible local plates.
	plateProvince = map[string]string{"上海": "沪A", "北京": "京N", "广州": "粤A", "深圳": "粤B", "杭州": "浙A", "南京": "苏A", "苏州": "苏E",
		"成都": "川A", "重庆": "渝A", "西安": "陕A", "乌鲁木齐": "新A", "天津": "津A", "武汉": "鄂A", "长沙": "湘A", "济南": "鲁A", "青岛": "鲁B",
		"郑州": "豫A", "合肥": "皖A", "宁波": "浙B", "厦门": "闽D", "福州": "闽A", "昆明": "云A", "沈阳": "辽A", "大连": "辽B", "石家庄": "冀A"}
)

// LoadArchive fills every dealer of n whose archive is still empty with
// customers, vehicles (valid VINs and local plates), a year of repair
// orders (opened and closed, so their events flow) and the year's
// deliveries. A dealer that already has customers is left alone, so a
// second `make run` adds nothing. Generation is seeded per dealer: the same
// network always gets the same archive.
func LoadArchive(ctx context.Context, client customerv1.ArchiveServiceClient, n DealerNetwork, size ArchiveSize, tokenFor TokenFor, now time.Time) (ArchiveLoaded, error) {
	results := make([]ArchiveLoaded, len(n.Dealers))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, d := range n.Dealers {
		g.Go(func() error {
			actx, err := tokenFor(gctx, d.Code)
			if err != nil {
				return err
			}
			existing, err := client.ListCustomers(actx, &customerv1.ListCustomersRequest{Dealer: d.Code, PageSize: 1})
			if err != nil {
				return fmt.Errorf("dealer %s: %w", d.Code, err)
			}
			if len(existing.GetCustomers()) > 0 {
				return nil
			}
			got, err := loadDealerArchive(actx, client, d, i, size, now)
			if err != nil {
				return fmt.Errorf("dealer %s: %w", d.Code, err)
			}
			results[i] = got
			return nil
		})
	}
	err := g.Wait()
	var total ArchiveLoaded
	for _, r := range results {
		if r.Customers > 0 {
			total.Dealers++
		}
		total.Customers += r.Customers
		total.Vehicles += r.Vehicles
		total.RepairOrders += r.RepairOrders
		total.Sales += r.Sales
	}
	if err != nil {
		return total, err
	}
	total.VisitsElsewhere, err = visitElsewhere(ctx, client, n, size, results, tokenFor, now)
	return total, err
}

// visitElsewhere sends some of each dealer's vehicles to the next dealer of
// its region, which archives the customer and the vehicle and closes a
// repair order for it. Only pairs of dealers loaded by this call take
// part, so a second `make run` adds nothing.
func visitElsewhere(ctx context.Context, client customerv1.ArchiveServiceClient, n DealerNetwork, size ArchiveSize, loaded []ArchiveLoaded, tokenFor TokenFor, now time.Time) (int, error) {
	visits := 0
	for i, home := range n.Dealers {
		j := nextInRegion(n, i)
		if j < 0 || loaded[i].Customers == 0 || loaded[j].Customers == 0 {
			continue
		}
		away := n.Dealers[j]
		homeCtx, err := tokenFor(ctx, home.Code)
		if err != nil {
			return visits, err
		}
		awayCtx, err := tokenFor(ctx, away.Code)
		if err != nil {
			return visits, err
		}
		for c := 0; c < size.CustomersPerDealer; c += visitElsewhereEvery {
			// The customer's archive at the dealer visited, today: who came
			// in, after the vehicle's visits at home.
			open := now.Add(-90 * time.Minute)
			v, err := archiveVisitor(homeCtx, awayCtx, client, home.Code, away.Code, demoVIN(i, c), open)
			if err != nil {
				return visits, err
			}
			ro, err := client.CreateRepairOrder(awayCtx, &customerv1.CreateRepairOrderRequest{Dealer: away.Code, RepairOrder: &customerv1.RepairOrder{
				Number: fmt.Sprintf("RO%s-V%05d", away.Code, visits+1), Vin: v.GetVin(), Type: customerv1.RepairOrderType_REPAIR_ORDER_TYPE_MAINTENANCE,
				OpenTime: timestamppb.New(open), MileageKm: v.GetMileageKm() + 2500, Advisor: "异地顾问",
			}})
			if err != nil {
				return visits, fmt.Errorf("dealer %s: open a visitor's repair order: %w", away.Code, err)
			}
			if _, err := client.CloseRepairOrder(awayCtx, &customerv1.CloseRepairOrderRequest{Dealer: away.Code, RepairOrder: ro.GetId(),
				CloseTime: timestamppb.New(open.Add(time.Hour)), AmountFen: 68000}); err != nil {
				return visits, fmt.Errorf("dealer %s: close a visitor's repair order: %w", away.Code, err)
			}
			visits++
		}
	}
	return visits, nil
}

// archiveVisitor finds vin's vehicle and its owner in home's archive and
// archives both at away, as away's staff do when another dealer's customer
// comes in at the time at. It returns the vehicle as home has it.
func archiveVisitor(homeCtx, awayCtx context.Context, client customerv1.ArchiveServiceClient, home, away, vin string, at time.Time) (*customerv1.Vehicle, error) {
	found, err := client.ListCustomers(homeCtx, &customerv1.ListCustomersRequest{Dealer: home, Query: vin, PageSize: 1})
	if err != nil || len(found.GetCustomers()) == 0 {
		return nil, fmt.Errorf("dealer %s: find %s: %v", home, vin, err)
	}
	owner := found.GetCustomers()[0]
	vehicles, err := client.ListVehicles(homeCtx, &customerv1.ListVehiclesRequest{Dealer: home, Customer: owner.GetId()})
	if err != nil || len(vehicles.GetVehicles()) == 0 {
		return nil, fmt.Errorf("dealer %s: vehicles of %s: %v", home, owner.GetId(), err)
	}
	v := vehicles.GetVehicles()[0]
	cust, err := client.CreateCustomer(awayCtx, &customerv1.CreateCustomerRequest{Dealer: away, Customer: &customerv1.Customer{
		Name: owner.GetName(), Gender: owner.GetGender(), Mobile: owner.GetMobile(),
		Source: customerv1.CustomerSource_CUSTOMER_SOURCE_SERVICE, TriggerTime: timestamppb.New(at),
	}})
	if err != nil {
		return nil, fmt.Errorf("dealer %s: archive a visitor: %w", away, err)
	}
	if _, err := client.CreateVehicle(awayCtx, &customerv1.CreateVehicleRequest{Dealer: away, Customer: cust.GetId(), Vehicle: &customerv1.Vehicle{
		Vin: v.GetVin(), Plate: v.GetPlate(), Brand: v.GetBrand(), Model: v.GetModel(), ModelYear: v.GetModelYear(),
		PurchaseDate: v.GetPurchaseDate(), SellingDealer: v.GetSellingDealer(),
	}}); err != nil {
		return nil, fmt.Errorf("dealer %s: archive a visiting vehicle: %w", away, err)
	}
	return v, nil
}

// nextInRegion is the index of the next dealer after i in i's region
// (wrapping around), or -1 when i is alone there.
func nextInRegion(n DealerNetwork, i int) int {
	for k := 1; k < len(n.Dealers); k++ {
		j := (i + k) % len(n.Dealers)
		if n.Dealers[j].Region == n.Dealers[i].Region {
			return j
		}
	}
	return -1
}

func loadDealerArchive(ctx context.Context, client customerv1.ArchiveServiceClient, d Dealer, idx int, size ArchiveSize, now time.Time) (ArchiveLoaded, error) {
	var got ArchiveLoaded
	r := rand.New(rand.NewPCG(uint64(idx)+1, 20261122))
	prefix, ok := plateProvince[d.City]
	if !ok {
		prefix = "沪A"
	}
	roNumber := 0
	profile := ProfileOf(d.Code)
	for c := 0; c < size.CustomersPerDealer; c++ {
		name := string(surnames[r.IntN(len(surnames))]) + string(given[r.IntN(len(given))])
		if r.IntN(3) > 0 {
			name += string(given[r.IntN(len(given))])
		}
		gender := customerv1.Gender(1 + r.IntN(2))
		purchase := purchaseTime(r, c, now)
		cust := &customerv1.Customer{
			Name:        name,
			Gender:      gender,
			Mobile:      fmt.Sprintf("1%d%08d", []int{35, 36, 37, 38, 39, 50, 58, 86, 88}[r.IntN(9)], r.IntN(1e8)),
			Address:     fmt.Sprintf("%s%s%d号", d.City, streets[r.IntN(len(streets))], 1+r.IntN(999)),
			Tier:        customerv1.CustomerTier(1 + r.IntN(4)),
			Source:      customerv1.CustomerSource(1 + r.IntN(2)),
			TriggerTime: timestamppb.New(purchase),
		}
		// Some archives are incomplete, as real DMS data is.
		if r.IntN(10) > 0 {
			cust.Birthday = fmt.Sprintf("%d-%02d-%02d", 1960+r.IntN(40), 1+r.IntN(12), 1+r.IntN(28))
		}
		created, err := client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Dealer: d.Code, Customer: cust})
		if err != nil {
			return got, fmt.Errorf("create customer: %w", err)
		}
		got.Customers++
		m := models[r.IntN(len(models))]
		veh, err := client.CreateVehicle(ctx, &customerv1.CreateVehicleRequest{Dealer: d.Code, Customer: created.GetId(), Vehicle: &customerv1.Vehicle{
			Vin: demoVIN(idx, c), Plate: fmt.Sprintf("%s%05d", prefix, r.IntN(100000)), Brand: m.brand, Model: m.model,
			ModelYear: int32(purchase.Year()), PurchaseDate: purchase.Format("2006-01-02"),
		}})
		if err != nil {
			return got, fmt.Errorf("create vehicle: %w", err)
		}
		got.Vehicles++
		if now.Sub(purchase) < 365*24*time.Hour {
			if _, err := client.CreateSale(ctx, &customerv1.CreateSaleRequest{Dealer: d.Code, Sale: &customerv1.Sale{
				Vehicle: veh.GetId(), Salesperson: string(surnames[r.IntN(len(surnames))]) + "经理", DeliveredTime: timestamppb.New(purchase),
			}}); err != nil {
				return got, fmt.Errorf("create sale: %w", err)
			}
			got.Sales++
		}
		mileage := 0
		for _, v := range withComebacks(r, visitTimes(r, purchase, now, r.IntN(2*size.VisitsPerYear+1), c%recentVisitEvery == 0), profile, now) {
			mileage += 3000 + r.IntN(4000)
			roNumber++
			typ := []customerv1.RepairOrderType{1, 1, 1, 2, 3, 4}[r.IntN(6)]
			if v.comeback {
				typ = customerv1.RepairOrderType_REPAIR_ORDER_TYPE_REPAIR
			}
			open := v.open
			ro, err := client.CreateRepairOrder(ctx, &customerv1.CreateRepairOrderRequest{Dealer: d.Code, RepairOrder: &customerv1.RepairOrder{
				Number: fmt.Sprintf("RO%s-%05d", d.Code, roNumber), Vehicle: veh.GetId(),
				Type:     typ,
				OpenTime: timestamppb.New(open), MileageKm: int32(mileage), ByAppointment: r.Float64() < profile.Appointment,
				Advisor: string(surnames[r.IntN(len(surnames))]) + "顾问",
			}})
			if err != nil {
				return got, fmt.Errorf("create repair order: %w", err)
			}
			if _, err := client.CloseRepairOrder(ctx, &customerv1.CloseRepairOrderRequest{Dealer: d.Code, RepairOrder: ro.GetId(),
				CloseTime: timestamppb.New(open.Add(time.Duration(1+r.IntN(int(repairHours/time.Hour))) * time.Hour)), AmountFen: int64(20000 + r.IntN(300000)),
			}); err != nil {
				return got, fmt.Errorf("close repair order: %w", err)
			}
			got.RepairOrders++
		}
	}
	return got, nil
}

// demoVIN is a valid, unique VIN per dealer and customer (SAIC-style WMI).
func demoVIN(dealer, customer int) string {
	b := []byte("LSVAB2180N")
	n := dealer*100000 + customer
	for j := 0; j < 7; j++ {
		b = append(b, vinChars[n%len(vinChars)])
		n /= len(vinChars)
	}
	return validate.CompleteVIN(string(b))
}
