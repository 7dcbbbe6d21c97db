package grpcserver

import (
	"testing"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestNulField(t *testing.T) {
	doc := func(k, v string) *structpb.Struct {
		return &structpb.Struct{Fields: map[string]*structpb.Value{k: structpb.NewStringValue(v)}}
	}
	for _, tt := range []struct {
		m    proto.Message
		want string
	}{
		{&customerv1.CreateCustomerRequest{Dealer: "SH001", Customer: &customerv1.Customer{Name: "张伟", Tags: []string{"a", "b"}}}, ""},
		{&customerv1.CreateCustomerRequest{Dealer: "SH\x00001"}, "dealer"},
		{&customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{Name: "张\x00伟"}}, "customer.name"},
		{&customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{Tags: []string{"a", "b\x00"}}}, "customer.tags[1]"},
		{doc("k", "v\x00"), `fields["k"].string_value`},
		{doc("k\x00", "v"), "fields[\"k\\x00\"]"},
		{&structpb.ListValue{Values: []*structpb.Value{structpb.NewStringValue("x"), structpb.NewStringValue("\x00")}}, "values[1].string_value"},
	} {
		if got := nulField(tt.m.ProtoReflect()); got != tt.want {
			t.Errorf("nulField(%v) = %q, want %q", tt.m, got, tt.want)
		}
	}
}
