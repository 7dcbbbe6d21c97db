package importer

import (
	"strings"
	"testing"
)

func TestMapHeader(t *testing.T) {
	tests := []struct {
		name    string
		header  []string
		want    map[column]int
		wantErr string
	}{
		{
			name:   "English, any order, unknown ignored",
			header: []string{"vin", "Remarks", "dms_customer_id", "Mobile", "model_year"},
			want:   map[column]int{colVIN: 0, colDMSCustomerID: 2, colMobile: 3, colModelYear: 4, colName: -1},
		},
		{
			name:   "Chinese aliases",
			header: []string{"客户编号", "姓名", "手机号", "性别", "出生日期", "身份证号", "地址", "邮箱", "客户级别", "客户类型", "联系人", "首次到店日期", "车辆编号", "车架号", "车牌号", "品牌", "车型", "年款", "购车日期"},
			want: map[column]int{colDMSCustomerID: 0, colName: 1, colMobile: 2, colGender: 3, colBirthday: 4, colIDNumber: 5, colAddress: 6,
				colEmail: 7, colTier: 8, colKind: 9, colContactName: 10, colTriggerTime: 11, colDMSVehicleID: 12, colVIN: 13, colPlate: 14,
				colBrand: 15, colModel: 16, colModelYear: 17, colPurchaseDate: 18},
		},
		{
			name:   "spacing, case, full width and a required marker",
			header: []string{"\uFEFF DMS Customer ID ", "*客户名称", "ＶＩＮ", "first-visit"},
			want:   map[column]int{colDMSCustomerID: 0, colName: 1, colVIN: 2, colTriggerTime: 3},
		},
		{name: "no customer id", header: []string{"姓名", "手机"}, wantErr: `no dms_customer_id column (客户编号); it is required to match rows with the archive. Columns found: "姓名", "手机"`},
		{name: "two columns for one field", header: []string{"客户编号", "手机", "mobile"}, wantErr: `two columns for mobile: "手机" and "mobile"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := mapHeader(tt.header)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("mapHeader() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for c, i := range tt.want {
				if h.index[c] != i {
					t.Errorf("column %s at %d, want %d", c, h.index[c], i)
				}
			}
		})
	}
}
