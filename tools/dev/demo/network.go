// Package demo is the fictional dealer network `make run` loads, so a fresh
// installation has regions, dealers and business calendars to click
// through. Every name is invented; any likeness to a real company is
// coincidence.
package demo

import "time"

// Region is a region (大区) of the demo network.
type Region struct {
	Code string
	Name string
}

// Dealer is a dealership of the demo network.
type Dealer struct {
	Code     string
	Name     string
	Region   string // a Region's Code
	City     string
	TimeZone string // IANA
	Calendar Calendar
}

// Calendar is a dealer's business calendar in the API's text formats.
type Calendar struct {
	// Weekly maps a weekday to its opening intervals, "HH:MM-HH:MM" in
	// local time; a weekday not listed is closed.
	Weekly map[time.Weekday][]string
	// Holidays are closed all day, "YYYY-MM-DD".
	Holidays []string
	// WorkingDays are weekend days made working days (调休), "YYYY-MM-DD";
	// they open with Monday's hours.
	WorkingDays []string
}

// DealerNetwork is the whole demo network.
type DealerNetwork struct {
	Regions []Region
	Dealers []Dealer
}

// Network returns the demo network. Each call returns fresh values, so
// callers may modify them.
func Network() DealerNetwork {
	return DealerNetwork{
		Regions: []Region{
			{Code: "EAST", Name: "华东大区"},
			{Code: "NORTH", Name: "华北大区"},
			{Code: "SOUTH", Name: "华南大区"},
			{Code: "WEST", Name: "西部大区"},
		},
		Dealers: []Dealer{
			dealer("SH001", "上海浦江汇通汽车销售服务有限公司", "EAST", "上海", shanghai, everyDaySplit()),
			dealer("SH002", "上海闵行骏达汽车销售服务有限公司", "EAST", "上海", shanghai, everyDayLong()),
			dealer("HZ001", "杭州西溪恒瑞汽车销售服务有限公司", "EAST", "杭州", shanghai, everyDaySplit()),
			dealer("NJ001", "南京江宁宏图汽车销售服务有限公司", "EAST", "南京", shanghai, everyDaySplit()),
			dealer("SUZ001", "苏州工业园区瑞丰汽车销售服务有限公司", "EAST", "苏州", shanghai, everyDayLong()),
			dealer("BJ001", "北京亦庄华冠汽车销售服务有限公司", "NORTH", "北京", shanghai, everyDaySplit()),
			dealer("BJ002", "北京朝阳东方骏驰汽车销售服务有限公司", "NORTH", "北京", shanghai, mondayToSaturday()),
			dealer("TJ001", "天津滨海远航汽车销售服务有限公司", "NORTH", "天津", shanghai, everyDaySplit()),
			dealer("SY001", "沈阳浑南盛世汽车销售服务有限公司", "NORTH", "沈阳", shanghai, mondayToSaturday()),
			dealer("GZ001", "广州天河粤诚汽车销售服务有限公司", "SOUTH", "广州", shanghai, everyDayLong()),
			dealer("SZ001", "深圳南山鹏程汽车销售服务有限公司", "SOUTH", "深圳", shanghai, everyDayLong()),
			dealer("FS001", "佛山南海联诚汽车销售服务有限公司", "SOUTH", "佛山", shanghai, everyDaySplit()),
			dealer("XM001", "厦门湖里鹭达汽车销售服务有限公司", "SOUTH", "厦门", shanghai, everyDaySplit()),
			dealer("CD001", "成都高新蜀都汽车销售服务有限公司", "WEST", "成都", shanghai, everyDaySplit()),
			dealer("CQ001", "重庆渝北山城汽车销售服务有限公司", "WEST", "重庆", shanghai, everyDayLong()),
			dealer("XA001", "西安曲江秦汇汽车销售服务有限公司", "WEST", "西安", shanghai, mondayToSaturday()),
			dealer("URC001", "乌鲁木齐天山汇达汽车销售服务有限公司", "WEST", "乌鲁木齐", urumqi, urumqiHours()),
			dealer("KSG001", "喀什丝路驰远汽车销售服务有限公司", "WEST", "喀什", urumqi, urumqiHours()),
			// The hotline answers around the clock, holidays included; it
			// is a dealer record so its calls and complaints have a tenant.
			dealer("HL001", "全国客户服务热线中心（上海）", "EAST", "上海", shanghai, aroundTheClock()),
		},
	}
}

const (
	shanghai = "Asia/Shanghai"
	// Xinjiang keeps local time two hours behind Beijing; its dealers'
	// hours are written in local time.
	urumqi = "Asia/Urumqi"
)

func dealer(code, name, region, city, zone string, cal Calendar) Dealer {
	return Dealer{Code: code, Name: name, Region: region, City: city, TimeZone: zone, Calendar: cal}
}

// everyDaySplit is the usual 4S-store day with a lunch break, seven days a
// week, closed on public holidays.
func everyDaySplit() Calendar {
	return weekly(isoWeek, "08:30-12:00", "13:00-17:30")
}

// everyDayLong is a store that stays open through lunch.
func everyDayLong() Calendar {
	return weekly(isoWeek, "08:30-18:00")
}

// mondayToSaturday closes on Sundays, so the adjusted working Sunday
// (2026-09-20) opens it.
func mondayToSaturday() Calendar {
	return weekly(isoWeek[:6], "08:30-12:00", "13:00-17:30")
}

// urumqiHours are in Asia/Urumqi time (10:00-20:30 Beijing time).
func urumqiHours() Calendar {
	return weekly(isoWeek, "08:00-12:00", "13:30-18:30")
}

func aroundTheClock() Calendar {
	return Calendar{Weekly: hours(isoWeek, "00:00-24:00")}
}

// isoWeek is Monday to Sunday, the API's order.
var isoWeek = []time.Weekday{
	time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday,
}

func weekly(days []time.Weekday, intervals ...string) Calendar {
	return Calendar{
		Weekly:      hours(days, intervals...),
		Holidays:    append([]string(nil), holidays2026...),
		WorkingDays: append([]string(nil), workingDays2026...),
	}
}

func hours(days []time.Weekday, intervals ...string) map[time.Weekday][]string {
	m := make(map[time.Weekday][]string, len(days))
	for _, d := range days {
		m[d] = append([]string(nil), intervals...)
	}
	return m
}

// China's 2026 public holidays and adjusted working days (调休). This is a
// plausible, fictional schedule for the demo, not the State Council's
// notice; replace it with the official dates when they are published.
var holidays2026 = []string{
	"2026-01-01", "2026-01-02", "2026-01-03", // 元旦
	"2026-02-15", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", // 春节
	"2026-02-20", "2026-02-21", "2026-02-22", "2026-02-23",
	"2026-04-04", "2026-04-05", "2026-04-06", // 清明节
	"2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04", "2026-05-05", // 劳动节
	"2026-06-19", "2026-06-20", "2026-06-21", // 端午节
	"2026-09-25", "2026-09-26", "2026-09-27", // 中秋节
	"2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07", // 国庆节
}

var workingDays2026 = []string{
	"2026-02-14", "2026-02-28", // 春节调休 (Saturdays)
	"2026-05-09",               // 劳动节调休 (Saturday)
	"2026-09-20", "2026-10-10", // 国庆节调休 (Sunday, Saturday)
}
