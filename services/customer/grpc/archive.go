package grpc

import (
	"context"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/pbconv"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/customer/archive"
)

// ArchiveServer implements customerv1.ArchiveServiceServer.
type ArchiveServer struct {
	customerv1.UnimplementedArchiveServiceServer
	svc *archive.Service
}

// NewArchiveServer returns the gRPC server of the customer archive.
func NewArchiveServer(svc *archive.Service) *ArchiveServer { return &ArchiveServer{svc: svc} }

func customerFromProto(c *customerv1.Customer) archive.Customer {
	return archive.Customer{
		ID:               c.GetId(),
		Kind:             pbconv.EnumName(c.GetKind().String(), "CUSTOMER_KIND_"),
		Name:             c.GetName(),
		Gender:           pbconv.EnumName(c.GetGender().String(), "GENDER_"),
		Birthday:         c.GetBirthday(),
		Mobile:           c.GetMobile(),
		Email:            c.GetEmail(),
		Address:          c.GetAddress(),
		IDNumber:         c.GetIdNumber(),
		Source:           pbconv.EnumName(c.GetSource().String(), "CUSTOMER_SOURCE_"),
		Tier:             pbconv.EnumName(c.GetTier().String(), "CUSTOMER_TIER_"),
		Tags:             c.GetTags(),
		PreferredChannel: pbconv.EnumName(c.GetPreferredChannel().String(), "CHANNEL_"),
		PreferredHours:   c.GetPreferredHours(),
		ContactName:      c.GetContactName(),
		DMSID:            c.GetDmsId(),
		TriggerTime:      pbconv.Time(c.GetTriggerTime()),
	}
}

// CustomerToProto converts a (masked) customer.
func CustomerToProto(c *archive.Customer) *customerv1.Customer {
	out := &customerv1.Customer{
		Id: c.ID, Dealer: c.Dealer,
		Kind:             customerv1.CustomerKind(pbconv.EnumValue(c.Kind, "CUSTOMER_KIND_", customerv1.CustomerKind_value)),
		Name:             c.Name,
		Gender:           customerv1.Gender(pbconv.EnumValue(c.Gender, "GENDER_", customerv1.Gender_value)),
		Birthday:         c.Birthday,
		Mobile:           c.Mobile,
		Email:            c.Email,
		Address:          c.Address,
		IdNumber:         c.IDNumber,
		Source:           customerv1.CustomerSource(pbconv.EnumValue(c.Source, "CUSTOMER_SOURCE_", customerv1.CustomerSource_value)),
		Tier:             customerv1.CustomerTier(pbconv.EnumValue(c.Tier, "CUSTOMER_TIER_", customerv1.CustomerTier_value)),
		Tags:             c.Tags,
		PreferredChannel: customerv1.Channel(pbconv.EnumValue(c.PreferredChannel, "CHANNEL_", customerv1.Channel_value)),
		PreferredHours:   c.PreferredHours,
		LoyaltyPoints:    c.LoyaltyPoints,
		ContactName:      c.ContactName,
		DmsId:            c.DMSID,
		TriggerTime:      pbconv.Timestamp(c.TriggerTime),
		CreateTime:       pbconv.Timestamp(c.CreateTime),
		UpdateTime:       pbconv.Timestamp(c.UpdateTime),
		MergedInto:       c.MergedInto,
		ChurnRiskSince:   pbconv.Timestamp(c.ChurnRiskSince),
	}
	for _, k := range c.Consents {
		out.Consents = append(out.Consents, &customerv1.Consent{
			Channel: customerv1.Channel(pbconv.EnumValue(k.Channel, "CHANNEL_", customerv1.Channel_value)),
			Granted: k.Granted, Source: k.Source, UpdateTime: pbconv.Timestamp(k.UpdateTime),
		})
	}
	for _, p := range c.Problems {
		out.Problems = append(out.Problems, &customerv1.FieldProblem{Field: p.Field, Reason: p.Reason})
	}
	return out
}

func customersToProto(cs []archive.Customer) []*customerv1.Customer {
	out := make([]*customerv1.Customer, 0, len(cs))
	for i := range cs {
		out = append(out, CustomerToProto(&cs[i]))
	}
	return out
}

func vehicleToProto(v *archive.Vehicle) *customerv1.Vehicle {
	return &customerv1.Vehicle{
		Id: v.ID, Dealer: v.Dealer, Customer: v.Customer, Vin: v.VIN, Plate: v.Plate, Brand: v.Brand, Model: v.Model,
		ModelYear: int32(v.ModelYear), PurchaseDate: v.PurchaseDate, SellingDealer: v.SellingDealer,
		MileageKm: int32(v.MileageKM), DmsId: v.DMSID, CreateTime: pbconv.Timestamp(v.CreateTime),
		LastVisitTime: pbconv.Timestamp(v.Service.LastVisitTime), LastVisitDealer: v.Service.LastVisitDealer,
		NextServiceDueDate: v.Service.NextDueDate, NextServiceDueMileageKm: int32(v.Service.NextDueMileageKM),
		ChurnRiskSince: pbconv.Timestamp(v.Service.ChurnRiskSince),
	}
}

func roToProto(ro *archive.RepairOrder) *customerv1.RepairOrder {
	return &customerv1.RepairOrder{
		Id: ro.ID, Dealer: ro.Dealer, Number: ro.Number, Vehicle: ro.Vehicle, Vin: ro.VIN, Customer: ro.Customer,
		Type:     customerv1.RepairOrderType(pbconv.EnumValue(ro.Type, "REPAIR_ORDER_TYPE_", customerv1.RepairOrderType_value)),
		State:    customerv1.RepairOrderState(pbconv.EnumValue(ro.State, "REPAIR_ORDER_STATE_", customerv1.RepairOrderState_value)),
		OpenTime: pbconv.Timestamp(ro.OpenTime), CloseTime: pbconv.Timestamp(ro.CloseTime), MileageKm: int32(ro.MileageKM), AmountFen: ro.AmountFen,
		Advisor: ro.Advisor, ByAppointment: ro.ByAppointment, CampaignCode: ro.CampaignCode,
	}
}

func saleToProto(s *archive.Sale) *customerv1.Sale {
	return &customerv1.Sale{Id: s.ID, Dealer: s.Dealer, Vehicle: s.Vehicle, Customer: s.Customer, Salesperson: s.Salesperson,
		DeliveredTime: pbconv.Timestamp(s.DeliveredTime), CreateTime: pbconv.Timestamp(s.CreateTime)}
}

func page(tok string, size int32) archive.Page { return archive.Page{After: tok, Size: int(size)} }

// CreateCustomer implements the RPC.
func (s *ArchiveServer) CreateCustomer(ctx context.Context, req *customerv1.CreateCustomerRequest) (*customerv1.Customer, error) {
	c, err := s.svc.CreateCustomer(ctx, req.GetDealer(), customerFromProto(req.GetCustomer()))
	if err != nil {
		return nil, err
	}
	return CustomerToProto(c), nil
}

// GetCustomer implements the RPC.
func (s *ArchiveServer) GetCustomer(ctx context.Context, req *customerv1.GetCustomerRequest) (*customerv1.Customer, error) {
	c, err := s.svc.GetCustomer(ctx, req.GetDealer(), req.GetCustomer())
	if err != nil {
		return nil, err
	}
	return CustomerToProto(c), nil
}

// ListCustomers implements the RPC.
func (s *ArchiveServer) ListCustomers(ctx context.Context, req *customerv1.ListCustomersRequest) (*customerv1.ListCustomersResponse, error) {
	cs, next, err := s.svc.ListCustomers(ctx, req.GetDealer(), req.GetQuery(), pbconv.EnumName(req.GetTier().String(), "CUSTOMER_TIER_"), page(req.GetPageToken(), req.GetPageSize()))
	if err != nil {
		return nil, err
	}
	return &customerv1.ListCustomersResponse{Customers: customersToProto(cs), NextPageToken: next}, nil
}

// UpdateCustomer implements the RPC.
func (s *ArchiveServer) UpdateCustomer(ctx context.Context, req *customerv1.UpdateCustomerRequest) (*customerv1.Customer, error) {
	c, err := s.svc.UpdateCustomer(ctx, req.GetDealer(), customerFromProto(req.GetCustomer()), req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	return CustomerToProto(c), nil
}

// UpdateConsent implements the RPC.
func (s *ArchiveServer) UpdateConsent(ctx context.Context, req *customerv1.UpdateConsentRequest) (*customerv1.Customer, error) {
	k := req.GetConsent()
	c, err := s.svc.UpdateConsent(ctx, req.GetDealer(), req.GetCustomer(), archive.Consent{
		Channel: pbconv.EnumName(k.GetChannel().String(), "CHANNEL_"), Granted: k.GetGranted(), Source: k.GetSource(),
	})
	if err != nil {
		return nil, err
	}
	return CustomerToProto(c), nil
}

// AdjustLoyaltyPoints implements the RPC.
func (s *ArchiveServer) AdjustLoyaltyPoints(ctx context.Context, req *customerv1.AdjustLoyaltyPointsRequest) (*customerv1.LoyaltyTransaction, error) {
	l, err := s.svc.AdjustLoyaltyPoints(ctx, req.GetDealer(), req.GetCustomer(), req.GetPoints(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return loyaltyToProto(l), nil
}

func loyaltyToProto(l *archive.LoyaltyTransaction) *customerv1.LoyaltyTransaction {
	return &customerv1.LoyaltyTransaction{Id: l.ID, Customer: l.Customer, Points: l.Points, Reason: l.Reason, Balance: l.Balance, CreateTime: pbconv.Timestamp(l.CreateTime)}
}

// ListLoyaltyTransactions implements the RPC.
func (s *ArchiveServer) ListLoyaltyTransactions(ctx context.Context, req *customerv1.ListLoyaltyTransactionsRequest) (*customerv1.ListLoyaltyTransactionsResponse, error) {
	ls, next, err := s.svc.ListLoyaltyTransactions(ctx, req.GetDealer(), req.GetCustomer(), page(req.GetPageToken(), req.GetPageSize()))
	if err != nil {
		return nil, err
	}
	out := &customerv1.ListLoyaltyTransactionsResponse{NextPageToken: next}
	for i := range ls {
		out.Transactions = append(out.Transactions, loyaltyToProto(&ls[i]))
	}
	return out, nil
}

// ListDuplicateCustomers implements the RPC.
func (s *ArchiveServer) ListDuplicateCustomers(ctx context.Context, req *customerv1.ListDuplicateCustomersRequest) (*customerv1.ListDuplicateCustomersResponse, error) {
	gs, err := s.svc.Duplicates(ctx, req.GetDealer(), int(req.GetPageSize()))
	if err != nil {
		return nil, err
	}
	out := &customerv1.ListDuplicateCustomersResponse{}
	for _, g := range gs {
		out.Groups = append(out.Groups, &customerv1.DuplicateGroup{Reason: g.Reason, Customers: customersToProto(g.Customers)})
	}
	return out, nil
}

// MergeCustomers implements the RPC.
func (s *ArchiveServer) MergeCustomers(ctx context.Context, req *customerv1.MergeCustomersRequest) (*customerv1.Customer, error) {
	c, err := s.svc.Merge(ctx, req.GetDealer(), req.GetCustomer(), req.GetMerged())
	if err != nil {
		return nil, err
	}
	return CustomerToProto(c), nil
}

// ListArchiveProblems implements the RPC.
func (s *ArchiveServer) ListArchiveProblems(ctx context.Context, req *customerv1.ListArchiveProblemsRequest) (*customerv1.ListArchiveProblemsResponse, error) {
	cs, next, err := s.svc.ListProblems(ctx, req.GetDealer(), page(req.GetPageToken(), req.GetPageSize()))
	if err != nil {
		return nil, err
	}
	return &customerv1.ListArchiveProblemsResponse{Customers: customersToProto(cs), NextPageToken: next}, nil
}

// CreateVehicle implements the RPC.
func (s *ArchiveServer) CreateVehicle(ctx context.Context, req *customerv1.CreateVehicleRequest) (*customerv1.Vehicle, error) {
	v := req.GetVehicle()
	out, err := s.svc.CreateVehicle(ctx, req.GetDealer(), req.GetCustomer(), archive.Vehicle{
		VIN: v.GetVin(), Plate: v.GetPlate(), Brand: v.GetBrand(), Model: v.GetModel(), ModelYear: int(v.GetModelYear()),
		PurchaseDate: v.GetPurchaseDate(), SellingDealer: v.GetSellingDealer(), DMSID: v.GetDmsId(),
	})
	if err != nil {
		return nil, err
	}
	return vehicleToProto(out), nil
}

// GetVehicle implements the RPC.
func (s *ArchiveServer) GetVehicle(ctx context.Context, req *customerv1.GetVehicleRequest) (*customerv1.Vehicle, error) {
	v, err := s.svc.GetVehicle(ctx, req.GetDealer(), req.GetCustomer(), req.GetVehicle())
	if err != nil {
		return nil, err
	}
	return vehicleToProto(v), nil
}

// ListVehicles implements the RPC.
func (s *ArchiveServer) ListVehicles(ctx context.Context, req *customerv1.ListVehiclesRequest) (*customerv1.ListVehiclesResponse, error) {
	vs, err := s.svc.ListVehicles(ctx, req.GetDealer(), req.GetCustomer())
	if err != nil {
		return nil, err
	}
	out := &customerv1.ListVehiclesResponse{}
	for i := range vs {
		out.Vehicles = append(out.Vehicles, vehicleToProto(&vs[i]))
	}
	return out, nil
}

// UpdateVehicle implements the RPC.
func (s *ArchiveServer) UpdateVehicle(ctx context.Context, req *customerv1.UpdateVehicleRequest) (*customerv1.Vehicle, error) {
	v := req.GetVehicle()
	out, err := s.svc.UpdateVehicle(ctx, req.GetDealer(), req.GetCustomer(), archive.Vehicle{
		ID: v.GetId(), VIN: v.GetVin(), Plate: v.GetPlate(), Brand: v.GetBrand(), Model: v.GetModel(),
		ModelYear: int(v.GetModelYear()), PurchaseDate: v.GetPurchaseDate(), SellingDealer: v.GetSellingDealer(), DMSID: v.GetDmsId(),
	}, req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	return vehicleToProto(out), nil
}

// mileageSources maps the API's reading sources to the archive's.
var mileageSources = map[customerv1.MileageSource]string{
	customerv1.MileageSource_MILEAGE_SOURCE_REPAIR_ORDER: archive.MileageRepairOrder,
	customerv1.MileageSource_MILEAGE_SOURCE_DELIVERY:     archive.MileageDelivery,
}

// ListMileageReadings implements the RPC.
func (s *ArchiveServer) ListMileageReadings(ctx context.Context, req *customerv1.ListMileageReadingsRequest) (*customerv1.ListMileageReadingsResponse, error) {
	ms, next, err := s.svc.ListMileageReadings(ctx, req.GetDealer(), req.GetCustomer(), req.GetVehicle(), page(req.GetPageToken(), req.GetPageSize()))
	if err != nil {
		return nil, err
	}
	out := &customerv1.ListMileageReadingsResponse{NextPageToken: next}
	for _, m := range ms {
		src := customerv1.MileageSource_MILEAGE_SOURCE_REPAIR_ORDER
		if m.Source == archive.MileageDelivery {
			src = customerv1.MileageSource_MILEAGE_SOURCE_DELIVERY
		}
		out.Readings = append(out.Readings, &customerv1.MileageReading{
			ReadTime: pbconv.Timestamp(m.ReadTime), MileageKm: int32(m.MileageKM), Source: src, ReadDealer: m.ReadDealer,
			Ref: m.Ref, RepairOrderNumber: m.RepairOrderNumber, LowerThanEarlier: m.LowerThanEarlier,
		})
	}
	return out, nil
}

// CreateRepairOrder implements the RPC.
func (s *ArchiveServer) CreateRepairOrder(ctx context.Context, req *customerv1.CreateRepairOrderRequest) (*customerv1.RepairOrder, error) {
	r := req.GetRepairOrder()
	ro, err := s.svc.CreateRepairOrder(ctx, req.GetDealer(), archive.RepairOrder{
		Number: r.GetNumber(), Vehicle: r.GetVehicle(), VIN: r.GetVin(),
		Type:     pbconv.EnumName(r.GetType().String(), "REPAIR_ORDER_TYPE_"),
		OpenTime: pbconv.Time(r.GetOpenTime()), MileageKM: int(r.GetMileageKm()), AmountFen: r.GetAmountFen(),
		Advisor: r.GetAdvisor(), ByAppointment: r.GetByAppointment(), CampaignCode: r.GetCampaignCode(),
	})
	if err != nil {
		return nil, err
	}
	return roToProto(ro), nil
}

// GetRepairOrder implements the RPC.
func (s *ArchiveServer) GetRepairOrder(ctx context.Context, req *customerv1.GetRepairOrderRequest) (*customerv1.RepairOrder, error) {
	ro, err := s.svc.GetRepairOrder(ctx, req.GetDealer(), req.GetRepairOrder())
	if err != nil {
		return nil, err
	}
	return roToProto(ro), nil
}

// ListRepairOrders implements the RPC.
func (s *ArchiveServer) ListRepairOrders(ctx context.Context, req *customerv1.ListRepairOrdersRequest) (*customerv1.ListRepairOrdersResponse, error) {
	ros, next, err := s.svc.ListRepairOrders(ctx, req.GetDealer(), req.GetVehicle(), page(req.GetPageToken(), req.GetPageSize()))
	if err != nil {
		return nil, err
	}
	out := &customerv1.ListRepairOrdersResponse{NextPageToken: next}
	for i := range ros {
		out.RepairOrders = append(out.RepairOrders, roToProto(&ros[i]))
	}
	return out, nil
}

// CloseRepairOrder implements the RPC.
func (s *ArchiveServer) CloseRepairOrder(ctx context.Context, req *customerv1.CloseRepairOrderRequest) (*customerv1.RepairOrder, error) {
	ro, err := s.svc.CloseRepairOrder(ctx, req.GetDealer(), req.GetRepairOrder(), pbconv.Time(req.GetCloseTime()), int(req.GetMileageKm()), req.GetAmountFen())
	if err != nil {
		return nil, err
	}
	return roToProto(ro), nil
}

// CreateSale implements the RPC.
func (s *ArchiveServer) CreateSale(ctx context.Context, req *customerv1.CreateSaleRequest) (*customerv1.Sale, error) {
	in := req.GetSale()
	out, err := s.svc.CreateSale(ctx, req.GetDealer(), archive.Sale{Vehicle: in.GetVehicle(), Salesperson: in.GetSalesperson(), DeliveredTime: pbconv.Time(in.GetDeliveredTime())})
	if err != nil {
		return nil, err
	}
	return saleToProto(out), nil
}

// GetSale implements the RPC.
func (s *ArchiveServer) GetSale(ctx context.Context, req *customerv1.GetSaleRequest) (*customerv1.Sale, error) {
	out, err := s.svc.GetSale(ctx, req.GetDealer(), req.GetSale())
	if err != nil {
		return nil, err
	}
	return saleToProto(out), nil
}

// ListSales implements the RPC.
func (s *ArchiveServer) ListSales(ctx context.Context, req *customerv1.ListSalesRequest) (*customerv1.ListSalesResponse, error) {
	ss, next, err := s.svc.ListSales(ctx, req.GetDealer(), page(req.GetPageToken(), req.GetPageSize()))
	if err != nil {
		return nil, err
	}
	out := &customerv1.ListSalesResponse{NextPageToken: next}
	for i := range ss {
		out.Sales = append(out.Sales, saleToProto(&ss[i]))
	}
	return out, nil
}

// VehicleStateServer implements the internal customerv1.VehicleStateServiceServer.
type VehicleStateServer struct {
	customerv1.UnimplementedVehicleStateServiceServer
	store archive.Store
}

// NewVehicleStateServer returns the internal server.
func NewVehicleStateServer(store archive.Store) *VehicleStateServer {
	return &VehicleStateServer{store: store}
}

// RecordServiceState implements the RPC; only the service role may call it.
func (s *VehicleStateServer) RecordServiceState(ctx context.Context, req *customerv1.RecordServiceStateRequest) (*customerv1.RecordServiceStateResponse, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, err
	}
	readings := make([]archive.MileageReading, 0, len(req.GetReadings()))
	for _, r := range req.GetReadings() {
		readings = append(readings, archive.MileageReading{
			ReadTime: r.GetReadTime().AsTime(), MileageKM: int(r.GetMileageKm()),
			Source: mileageSources[r.GetSource()], ReadDealer: r.GetDealer(), Ref: r.GetRef(),
		})
	}
	n, err := s.store.SetServiceState(ctx, req.GetVin(), archive.ServiceState{
		LastVisitTime: req.GetLastVisitTime().AsTime(), LastVisitDealer: req.GetLastVisitDealer(),
		NextDueDate: req.GetNextServiceDueDate(), NextDueMileageKM: int(req.GetNextServiceDueMileageKm()),
	}, readings)
	if err != nil {
		return nil, err
	}
	return &customerv1.RecordServiceStateResponse{UpdatedArchives: int32(n)}, nil
}
