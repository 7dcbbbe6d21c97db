package campaign

import (
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
)

var t0 = time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC) // 10:00 in Shanghai

func draft(t *testing.T, mod func(*Campaign)) *Campaign {
	t.Helper()
	c := Campaign{ID: "c1", Owner: "SH001", Kind: KindMaintenancePromotion, Name: "冬季保养",
		Channels: []Channel{ChannelSMS, ChannelEmail},
		Template: Template{Body: "{{customer_name}}您好，您的爱车{{plate}}将于{{due_date}}到期保养，请致电{{dealer_phone}}。"}}
	if mod != nil {
		mod(&c)
	}
	d, err := New(c, t0)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

func TestTransitions(t *testing.T) {
	type step func(*Campaign) error
	schedule := func(c *Campaign) error { return c.Schedule(t0.Add(time.Hour), t0) }
	start := func(c *Campaign) error { _, err := c.Start(t0); return err }
	complete := func(c *Campaign) error { _, err := c.Complete(t0); return err }
	cancel := func(c *Campaign) error { return c.Cancel("budget", t0) }
	update := func(c *Campaign) error { return c.Update(t0, func(n *Campaign) { n.Name = "x" }) }
	tests := []struct {
		name  string
		steps []step
		want  State
		// conflictAt is the index of the step that must be a 409.
		conflictAt int
	}{
		{"draft to completed", []step{schedule, start, complete}, StateCompleted, -1},
		{"cancel a draft", []step{cancel}, StateCancelled, -1},
		{"cancel scheduled", []step{schedule, cancel}, StateCancelled, -1},
		{"cancel running", []step{schedule, start, cancel}, StateCancelled, -1},
		{"cancel completed", []step{schedule, start, complete, cancel}, StateCompleted, 3},
		{"cancel twice", []step{cancel, cancel}, StateCancelled, 1},
		{"schedule twice", []step{schedule, schedule}, StateScheduled, 1},
		{"start a draft", []step{start}, StateDraft, 0},
		{"update scheduled", []step{schedule, update}, StateScheduled, 1},
		{"complete scheduled", []step{schedule, complete}, StateScheduled, 1},
		{"schedule cancelled", []step{cancel, schedule}, StateCancelled, 1},
		{"start and complete repeat harmlessly", []step{schedule, start, start, complete, complete}, StateCompleted, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := draft(t, nil)
			for i, s := range tt.steps {
				err := s(c)
				if i == tt.conflictAt {
					if apperr.Code(err) != apperr.ECONFLICT {
						t.Fatalf("step %d: err = %v, want a conflict", i, err)
					}
					if !strings.Contains(err.Error(), string(c.State)) {
						t.Errorf("conflict %q does not name the state %s", err, c.State)
					}
					continue
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			if c.State != tt.want {
				t.Errorf("state = %s, want %s", c.State, tt.want)
			}
		})
	}
}

func TestValidation(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(*Campaign)
		field string
	}{
		{"no kind", func(c *Campaign) { c.Kind = "" }, "campaign.kind"},
		{"no name", func(c *Campaign) { c.Name = " " }, "campaign.name"},
		{"bad channel", func(c *Campaign) { c.Channels = []Channel{"fax"} }, "campaign.channels[0]"},
		{"repeated channel", func(c *Campaign) { c.Channels = []Channel{ChannelSMS, ChannelSMS} }, "campaign.channels[1]"},
		{"unknown variable", func(c *Campaign) { c.Template.Body = "您好 {{nickname}}" }, "campaign.template.body"},
		{"unclosed brace", func(c *Campaign) { c.Template.Body = "您好 {{customer_name" }, "campaign.template.body"},
		{"bad locale", func(c *Campaign) { c.Template.Locale = "fr" }, "campaign.template.locale"},
		{"bad VIN", func(c *Campaign) { c.Audience.VINs = []string{"LSVAU2180N2183295"} }, "campaign.audience.vins[0]"},
		{"years reversed", func(c *Campaign) { c.Audience.ModelYearMin, c.Audience.ModelYearMax = 2024, 2020 }, "campaign.audience.model_year_max"},
		{"bad purchase date", func(c *Campaign) { c.Audience.PurchaseDateFrom = "2026-13-01" }, "campaign.audience.purchase_date_from"},
		{"bad tier", func(c *Campaign) { c.Audience.Tiers = []string{"gold"} }, "campaign.audience.tiers[0]"},
		{"dealer names dealers", func(c *Campaign) { c.Audience.Dealers = []string{"SH002"} }, "campaign.dealers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Campaign{Owner: "SH001", Kind: KindSurvey, Name: "n", Template: Template{Body: "hi"}}
			tt.mod(&c)
			_, err := New(c, t0)
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.EINVALID || len(e.Violations) != 1 || e.Violations[0].Field != tt.field {
				t.Fatalf("New() = %v, want EINVALID on %s", err, tt.field)
			}
		})
	}
}

func TestScheduleNeeds(t *testing.T) {
	c := draft(t, func(c *Campaign) { c.Channels = nil })
	if err := c.Schedule(t0, t0); apperr.Code(err) != apperr.EINVALID || !strings.Contains(err.Error(), "campaign.channels") {
		t.Errorf("schedule without channels = %v", err)
	}
	r := draft(t, func(c *Campaign) { c.Kind = KindRecall })
	if err := r.Schedule(t0, t0); !strings.Contains(err.Error(), "vins") {
		t.Errorf("recall without VINs = %v", err)
	}
	p := draft(t, nil)
	if err := p.Schedule(t0.Add(-time.Hour), t0); !strings.Contains(err.Error(), "start_time") {
		t.Errorf("schedule in the past = %v", err)
	}
}

func TestRender(t *testing.T) {
	c := draft(t, func(c *Campaign) { c.ContactPhone = "021-5555" })
	got := Render(c.Template.Body, c.Vars(Contact{Name: "张三", Plate: "沪A12345", DueDate: "2026-12-20"}))
	want := "张三您好，您的爱车沪A12345将于2026-12-20到期保养，请致电021-5555。"
	if got != want {
		t.Errorf("Render = %q, want %q", got, want)
	}
}

func TestDecide(t *testing.T) {
	p := DefaultPolicy()
	c := draft(t, nil)
	recall := draft(t, func(c *Campaign) { c.Kind = KindRecall })
	ok := Contact{Found: true, Mobile: "+8613800000000", Email: "a@example.com", TimeZone: "Asia/Shanghai",
		Consents: map[string]bool{"sms": true, "email": true}}
	emailOnly := ok
	emailOnly.Consents = map[string]bool{"email": true}
	none := ok
	none.Consents = map[string]bool{"sms": false}
	noMobile := ok
	noMobile.Mobile, noMobile.Consents = "", map[string]bool{"sms": true}
	urumqi := ok
	urumqi.TimeZone = "Asia/Urumqi"
	night := time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC) // 22:00 Shanghai
	tests := []struct {
		name     string
		c        *Campaign
		ct       Contact
		opted    map[Channel]bool
		recent   int
		now      time.Time
		want     Channel
		suppress string
		notAfter time.Time
	}{
		{"first consented channel", c, ok, nil, 0, t0, ChannelSMS, "", time.Time{}},
		{"falls back to email", c, emailOnly, nil, 0, t0, ChannelEmail, "", time.Time{}},
		{"no consent", c, none, nil, 0, t0, "", SuppressNoConsent, time.Time{}},
		{"consent but no mobile", c, noMobile, nil, 0, t0, "", SuppressNoAddress, time.Time{}},
		{"opted out of sms, email left", c, ok, map[Channel]bool{ChannelSMS: true}, 0, t0, ChannelEmail, "", time.Time{}},
		{"opted out of all", c, ok, map[Channel]bool{"": true}, 0, t0, "", SuppressOptedOut, time.Time{}},
		{"frequency cap", c, ok, nil, 3, t0, "", SuppressFrequencyCap, time.Time{}},
		{"recall exempt from cap", recall, ok, nil, 3, t0, ChannelSMS, "", time.Time{}},
		{"archive lost the customer", c, Contact{}, nil, 0, t0, "", SuppressNoAddress, time.Time{}},
		{"quiet hours defer to 09:00", c, ok, nil, 0, night, "", "", time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)},
		{"quiet hours in the customer's zone", c, urumqi, nil, 0, time.Date(2026, 12, 7, 2, 30, 0, 0, time.UTC), "", "", time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Decide(tt.c, p, tt.ct, tt.opted, tt.recent, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if d.Channel != tt.want || d.Suppress != tt.suppress || !d.NotBefore.Equal(tt.notAfter) {
				t.Errorf("Decide = %+v, want channel %q suppress %q not before %v", d, tt.want, tt.suppress, tt.notAfter)
			}
		})
	}
}

func TestMessageIDStable(t *testing.T) {
	a, b := MessageID("c", "SH001", "u1"), MessageID("c", "SH001", "u1")
	if a != b || a == MessageID("c", "SH001", "u2") || a == MessageID("c2", "SH001", "u1") || len(a) != 36 {
		t.Errorf("MessageID not a stable per-pair key: %s %s", a, b)
	}
}

func TestPolicyValidate(t *testing.T) {
	p := DefaultPolicy()
	p.QuietStart, p.QuietEnd = "08:00", "20:00" // does not span midnight
	if err := p.Validate(); err == nil {
		t.Error("quiet hours not over midnight accepted")
	}
	p = DefaultPolicy()
	p.FrequencyCap = -1
	if err := p.Validate(); err == nil {
		t.Error("negative cap accepted")
	}
}

// TestCancelCompletedRecall: a recall may be withdrawn after it was sent
// (its VINs are still chased then); another kind may not, and a cancelled
// recall cannot be cancelled again.
func TestCancelCompletedRecall(t *testing.T) {
	for _, recall := range []bool{true, false} {
		c := draft(t, nil)
		if recall {
			c = draft(t, func(c *Campaign) { c.Kind, c.Code, c.Audience.VINs = KindRecall, "RC1", []string{"LFV2A21K37A000010"} })
		}
		if err := c.Schedule(t0.Add(time.Hour), t0); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Start(t0); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Complete(t0); err != nil {
			t.Fatal(err)
		}
		err := c.Cancel("召回撤销", t0)
		switch {
		case recall && (err != nil || c.State != StateCancelled || c.CancelReason != "召回撤销"):
			t.Errorf("cancel a completed recall: %v, state %s", err, c.State)
		case !recall && apperr.Code(err) != apperr.ECONFLICT:
			t.Errorf("cancel a completed %s: %v, want a conflict", c.Kind, err)
		}
	}
	c := draft(t, func(c *Campaign) { c.Kind, c.Code, c.Audience.VINs = KindRecall, "RC1", []string{"LFV2A21K37A000010"} })
	if err := c.Cancel("", t0); err != nil {
		t.Fatal(err)
	}
	if err := c.Cancel("", t0); apperr.Code(err) != apperr.ECONFLICT {
		t.Errorf("cancel a cancelled recall: %v, want a conflict", err)
	}
}
