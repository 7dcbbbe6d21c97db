// Package provider is the local recording provider: one process that
// plays the campaign's providers for `make run` and the tests. It speaks
// their protocol shapes (the SMS gateway's signed HTTP API, the WeChat
// template-message API, SMTP), de-duplicates by each protocol's own key
// (out_id, client_msg_id, Message-ID) as the real providers do, records
// what it accepts (optionally to a JSON-lines file that survives a
// restart), and posts signed delivery receipts back.
package provider

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dealercare/dealercare/services/campaign/channel"
)

// Record is one accepted message.
type Record struct {
	Channel  string    `json:"channel"` // sms, wechat, email
	Key      string    `json:"key"`     // the idempotency key (the campaign's message id)
	To       string    `json:"to"`
	Title    string    `json:"title,omitempty"`
	Body     string    `json:"body"`
	Received time.Time `json:"received"`
	// ProviderID is the id the provider answered with.
	ProviderID string `json:"provider_id"`
}

// Recorder is the provider's state.
type Recorder struct {
	// SMSSecret verifies the SMS API's signature; WeChat credentials are
	// accepted as configured.
	SMSAPIKey, SMSSecret   string
	WeChatAppID, WeChatKey string
	// ReceiptURL, when set, gets a signed delivery receipt for every new
	// message (ReceiptSecret signs it).
	ReceiptURL, ReceiptSecret string
	// Delay is added to every send, as a real provider's latency.
	Delay time.Duration
	Log   *slog.Logger

	mu       sync.Mutex
	byKey    map[string]*Record
	order    []*Record
	dups     map[string]int
	file     *os.File
	receipts chan channel.Receipt
	seq      int64
}

// New returns a recorder; file, if not empty, keeps the records across
// restarts.
func New(file string) (*Recorder, error) {
	r := &Recorder{byKey: map[string]*Record{}, dups: map[string]int{}, receipts: make(chan channel.Receipt, 100000), Log: slog.Default()}
	if file == "" {
		return r, nil
	}
	if raw, err := os.ReadFile(file); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var rec Record
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Key != "" {
				r.add(&rec)
			}
		}
	}
	f, err := os.OpenFile(file, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open record file: %w", err)
	}
	r.file = f
	return r, nil
}

func (r *Recorder) add(rec *Record) {
	k := rec.Channel + "/" + rec.Key
	if _, ok := r.byKey[k]; ok {
		return
	}
	r.byKey[k] = rec
	r.order = append(r.order, rec)
}

// accept records a message once per (channel, key); a repeat answers the
// first record.
func (r *Recorder) accept(rec Record) (*Record, bool, error) {
	if r.Delay > 0 {
		time.Sleep(r.Delay)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k := rec.Channel + "/" + rec.Key
	if old, ok := r.byKey[k]; ok {
		r.dups[rec.Channel]++
		return old, false, nil
	}
	r.seq++
	rec.ProviderID = fmt.Sprintf("%s-%d-%d", rec.Channel, time.Now().UnixNano(), r.seq)
	if r.file != nil {
		line, _ := json.Marshal(rec)
		if _, err := r.file.Write(append(line, '\n')); err != nil {
			return nil, false, err
		}
	}
	r.add(&rec)
	if r.ReceiptURL != "" {
		select {
		case r.receipts <- channel.Receipt{MessageID: rec.Key, Status: "delivered", Time: time.Now().UTC()}:
		default: // receipts are best effort; the message is recorded
		}
	}
	return &rec, true, nil
}

// Records returns what was accepted, oldest first, and the duplicates
// answered per channel.
func (r *Recorder) Records() ([]Record, map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Record, len(r.order))
	for i, rec := range r.order {
		out[i] = *rec
	}
	dups := map[string]int{}
	for k, v := range r.dups {
		dups[k] = v
	}
	return out, dups
}

// Close flushes the record file.
func (r *Recorder) Close() error {
	if r.file != nil {
		return r.file.Close()
	}
	return nil
}

// Handler serves the SMS and WeChat APIs and GET /recorded.
func (r *Recorder) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/sms/send", r.sms)
	mux.HandleFunc("GET /cgi-bin/token", r.wechatToken)
	mux.HandleFunc("POST /cgi-bin/message/template/send", r.wechatSend)
	mux.HandleFunc("GET /recorded", func(w http.ResponseWriter, _ *http.Request) {
		recs, dups := r.Records()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"records": recs, "duplicates": dups})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (r *Recorder) sms(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 64<<10))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"code": "BadRequest", "message": "read body"})
		return
	}
	if req.Header.Get("X-Api-Key") != r.SMSAPIKey {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"code": "InvalidApiKey", "message": "unknown X-Api-Key"})
		return
	}
	if err := channel.Verify(r.SMSSecret, req.Method, req.URL.Path, req.Header.Get("X-Timestamp"), req.Header.Get("X-Nonce"),
		req.Header.Get("X-Signature"), body, time.Now(), 5*time.Minute); err != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"code": "SignatureDoesNotMatch", "message": err.Error()})
		return
	}
	var in struct {
		Phone    string `json:"phone"`
		SignName string `json:"sign_name"`
		Text     string `json:"text"`
		OutID    string `json:"out_id"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Phone == "" || in.OutID == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"code": "InvalidParameter", "message": "phone and out_id are required"})
		return
	}
	rec, _, err := r.accept(Record{Channel: "sms", Key: in.OutID, To: in.Phone, Body: "【" + in.SignName + "】" + in.Text, Received: time.Now().UTC()})
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"code": "InternalError", "message": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"code": "OK", "message_id": rec.ProviderID})
}

const wechatToken = "recording-provider-access-token"

func (r *Recorder) wechatToken(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	if q.Get("appid") != r.WeChatAppID || q.Get("secret") != r.WeChatKey {
		writeJSON(w, http.StatusOK, map[string]any{"errcode": 40013, "errmsg": "invalid appid"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": wechatToken, "expires_in": 7200})
}

func (r *Recorder) wechatSend(w http.ResponseWriter, req *http.Request) {
	if req.URL.Query().Get("access_token") != wechatToken {
		writeJSON(w, http.StatusOK, map[string]any{"errcode": 40001, "errmsg": "invalid credential"})
		return
	}
	var in struct {
		ToUser      string `json:"touser"`
		TemplateID  string `json:"template_id"`
		ClientMsgID string `json:"client_msg_id"`
		Data        map[string]struct {
			Value string `json:"value"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(req.Body, 64<<10)).Decode(&in); err != nil || in.ToUser == "" {
		writeJSON(w, http.StatusOK, map[string]any{"errcode": 47001, "errmsg": "data format error"})
		return
	}
	key := in.ClientMsgID
	if key == "" {
		key = fmt.Sprintf("no-client-msg-id-%d", time.Now().UnixNano())
	}
	rec, _, err := r.accept(Record{Channel: "wechat", Key: key, To: in.ToUser, Title: in.TemplateID, Body: in.Data["content"].Value, Received: time.Now().UTC()})
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"errcode": -1, "errmsg": "system busy"})
		return
	}
	id, _ := strconv.ParseInt(rec.ProviderID[strings.LastIndex(rec.ProviderID, "-")+1:], 10, 64)
	writeJSON(w, http.StatusOK, map[string]any{"errcode": 0, "errmsg": "ok", "msgid": id})
}

// ServeSMTP accepts mail on lis: enough of RFC 5321 for net/smtp
// (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT). A message is recorded
// once per Message-ID.
func (r *Recorder) ServeSMTP(ctx context.Context, lis net.Listener) error {
	go func() { <-ctx.Done(); lis.Close() }()
	for {
		conn, err := lis.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go r.smtpSession(conn)
	}
}

func (r *Recorder) smtpSession(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	rd := bufio.NewReader(conn)
	say := func(s string) { _, _ = io.WriteString(conn, s+"\r\n") }
	say("220 dealercare recording provider ESMTP")
	var to []string
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			say("250-dealercare")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "HELO"):
			say("250 dealercare")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			to = nil
			say("250 OK")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			addr := strings.Trim(strings.TrimSpace(line[len("RCPT TO:"):]), "<>\r\n ")
			to = append(to, addr)
			say("250 OK")
		case cmd == "DATA":
			if len(to) == 0 {
				say("503 need RCPT first")
				continue
			}
			say("354 end with <CRLF>.<CRLF>")
			var msg strings.Builder
			for {
				l, err := rd.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" || l == ".\n" {
					break
				}
				msg.WriteString(strings.TrimPrefix(l, "."))
			}
			head, body, _ := strings.Cut(msg.String(), "\r\n\r\n")
			id, subject := header(head, "Message-ID"), header(head, "Subject")
			if id == "" {
				say("550 Message-ID required")
				continue
			}
			key := strings.TrimSuffix(strings.TrimPrefix(id, "<"), "@dealercare.campaign>")
			if _, _, err := r.accept(Record{Channel: "email", Key: key, To: strings.Join(to, ","), Title: subject, Body: strings.TrimSpace(body), Received: time.Now().UTC()}); err != nil {
				say("451 cannot record")
				continue
			}
			say("250 OK queued")
		case cmd == "RSET":
			to = nil
			say("250 OK")
		case cmd == "NOOP":
			say("250 OK")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

func header(head, name string) string {
	for _, l := range strings.Split(head, "\r\n") {
		k, v, ok := strings.Cut(l, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// RunReceipts posts queued receipts in signed batches until ctx ends,
// retrying a batch the campaign service did not take.
func (r *Recorder) RunReceipts(ctx context.Context) {
	if r.ReceiptURL == "" {
		return
	}
	var batch []channel.Receipt
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case rc := <-r.receipts:
			batch = append(batch, rc)
			if len(batch) < 500 {
				continue
			}
		case <-tick.C:
		}
		if len(batch) == 0 {
			continue
		}
		if err := r.post(ctx, batch); err != nil {
			r.Log.Warn("delivery receipts not taken; retrying", "receipts", len(batch), "error", err)
			continue
		}
		batch = nil
	}
}

func (r *Recorder) post(ctx context.Context, batch []channel.Receipt) error {
	body, _ := json.Marshal(batch)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.ReceiptURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	var nb [8]byte
	_, _ = rand.Read(nb[:])
	nonce := hex.EncodeToString(nb[:])
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Timestamp", ts)
	req.Header.Set("X-Nonce", nonce)
	req.Header.Set("X-Signature", channel.Sign(r.ReceiptSecret, http.MethodPost, req.URL.Path, ts, nonce, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}
