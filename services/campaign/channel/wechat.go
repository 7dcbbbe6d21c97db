package channel

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/dealercare/dealercare/services/campaign/campaign"
)

// WeChat sends template messages through the WeChat Official Account API:
//
//	GET  {BaseURL}/cgi-bin/token?grant_type=client_credential&appid=..&secret=..
//	     → {"access_token": "...", "expires_in": 7200}
//	POST {BaseURL}/cgi-bin/message/template/send?access_token=...
//	     {"touser": "<openid>", "template_id": "...", "client_msg_id": "<message id>",
//	      "data": {"content": {"value": "..."}}}
//	     → {"errcode": 0, "errmsg": "ok", "msgid": 123}
//
// client_msg_id is WeChat's own de-duplication key.
type WeChat struct {
	BaseURL, AppID, Secret string
	Client                 *http.Client

	mu      sync.Mutex
	token   string
	expires time.Time
}

func (w *WeChat) accessToken(ctx context.Context, refresh bool) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !refresh && w.token != "" && time.Now().Before(w.expires) {
		return w.token, nil
	}
	q := url.Values{"grant_type": {"client_credential"}, "appid": {w.AppID}, "secret": {w.Secret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.BaseURL+"/cgi-bin/token?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	resp, err := client(w.Client).Do(req)
	if err != nil {
		return "", fmt.Errorf("wechat token: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", httpError(resp, "wechat token")
	}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		ErrCode     int    `json:"errcode"`
		ErrMsg      string `json:"errmsg"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", fmt.Errorf("wechat token answer: %w", err)
	}
	if out.ErrCode != 0 || out.AccessToken == "" {
		return "", fmt.Errorf("%w: wechat token refused: %d %s", campaign.ErrPermanent, out.ErrCode, out.ErrMsg)
	}
	w.token = out.AccessToken
	// Renew a little early, as WeChat advises.
	w.expires = time.Now().Add(time.Duration(out.ExpiresIn)*time.Second - 5*time.Minute)
	return w.token, nil
}

type wechatValue struct {
	Value string `json:"value"`
}

type wechatRequest struct {
	ToUser      string                 `json:"touser"`
	TemplateID  string                 `json:"template_id"`
	ClientMsgID string                 `json:"client_msg_id"`
	Data        map[string]wechatValue `json:"data"`
}

// Send implements campaign.Sender; the campaign's template title is the
// WeChat template id.
func (w *WeChat) Send(ctx context.Context, m campaign.Message) (string, error) {
	body, _ := json.Marshal(wechatRequest{ToUser: m.To, TemplateID: m.Title, ClientMsgID: m.ID,
		Data: map[string]wechatValue{"content": {m.Body}}})
	for attempt := 0; ; attempt++ {
		tok, err := w.accessToken(ctx, attempt > 0)
		if err != nil {
			return "", err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost,
			w.BaseURL+"/cgi-bin/message/template/send?access_token="+url.QueryEscape(tok), bytes.NewReader(body))
		if err != nil {
			return "", fmt.Errorf("%w: %w", campaign.ErrPermanent, err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client(w.Client).Do(req)
		if err != nil {
			return "", fmt.Errorf("wechat send: %w", err)
		}
		var out struct {
			ErrCode int    `json:"errcode"`
			ErrMsg  string `json:"errmsg"`
			MsgID   int64  `json:"msgid"`
		}
		if resp.StatusCode != http.StatusOK {
			err := httpError(resp, "wechat send")
			resp.Body.Close()
			return "", err
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil {
			return "", fmt.Errorf("wechat send answer: %w", err)
		}
		switch {
		case out.ErrCode == 0:
			return fmt.Sprint(out.MsgID), nil
		case (out.ErrCode == 40001 || out.ErrCode == 42001) && attempt == 0:
			continue // token expired or revoked: fetch a new one once
		case out.ErrCode == -1:
			return "", fmt.Errorf("wechat busy: %s", out.ErrMsg)
		}
		return "", fmt.Errorf("%w: wechat refused: %d %s", campaign.ErrPermanent, out.ErrCode, out.ErrMsg)
	}
}
