package live

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tickbeam/tickbeam"
)

// Korea Investment & Securities (KIS) Open API endpoints (real accounts).
const (
	KISStreamURL = "ws://ops.koreainvestment.com:21000"
	KISRESTURL   = "https://openapi.koreainvestment.com:9443"
)

func init() {
	vendors["kis"] = vendor{
		format:  "kis",
		keys:    []string{"symbols"},
		silence: 2 * time.Minute, // KIS sends PINGPONG about every 10 s... and nothing at night
		parse: func(_ string, q url.Values) (vendorConfig, error) {
			syms, err := list(q, "symbols", func(s string) error {
				if len(s) != 6 {
					return fmt.Errorf("%q: want a 6-character KRX code such as 005930", s)
				}
				return symbolChars("")(s)
			})
			if err != nil {
				return nil, err
			}
			if len(syms) > 41 {
				return nil, fmt.Errorf("symbols: %d codes; KIS allows 41 real-time registrations per session", len(syms))
			}
			return kisConfig{Symbols: syms}, nil
		},
	}
}

// kisConfig is kis:?symbols=005930,000660: domestic stock trades (H0STCNT0)
// with an approval key fetched from /oauth2/Approval using KIS_APP_KEY and
// KIS_APP_SECRET.
type kisConfig struct{ Symbols []string }

func (c kisConfig) connector(s Spec, o Options) (Connector, error) {
	v := &kis{cfg: c, spec: s, opts: o}
	return &wsRunner{spec: s, opts: o, vendor: v, track: newVolumeTracker()}, nil
}

type kis struct {
	cfg         kisConfig
	spec        Spec
	opts        Options
	approvalKey string
}

// dial gets a fresh approval key (the websocket's credential) each connect.
func (k *kis) dial(ctx context.Context) (string, http.Header, error) {
	appKey, secret := k.opts.getenv("KIS_APP_KEY"), k.opts.getenv("KIS_APP_SECRET")
	if appKey == "" || secret == "" {
		return "", nil, &AuthError{Vendor: "kis", Reason: "set KIS_APP_KEY and KIS_APP_SECRET in the environment"}
	}
	base := k.spec.Common.restOr(KISRESTURL)
	body, _ := json.Marshal(map[string]string{"grant_type": "client_credentials", "appkey": appKey, "secretkey": secret})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/oauth2/Approval", bytes.NewReader(body))
	if err != nil {
		return "", nil, err
	}
	var resp struct {
		ApprovalKey string `json:"approval_key"`
		ErrorCode   string `json:"error_code"`
		ErrorDesc   string `json:"error_description"`
	}
	if err := doJSON("kis", req, http.Header{"Content-Type": {"application/json; charset=utf-8"}}, &resp); err != nil {
		return "", nil, err
	}
	if resp.ApprovalKey == "" {
		return "", nil, &AuthError{Vendor: "kis", Reason: fmt.Sprintf("no approval key: %s %s", resp.ErrorCode, resp.ErrorDesc)}
	}
	k.approvalKey = resp.ApprovalKey
	return k.spec.Common.endpointOr(KISStreamURL), nil, nil
}

// subscribe registers H0STCNT0 for each symbol; the replies come as frames
// (inspect reads refusals).
func (k *kis) subscribe(ctx context.Context, w *wsConn) error {
	for _, s := range k.cfg.Symbols {
		msg, _ := json.Marshal(map[string]any{
			"header": map[string]string{"approval_key": k.approvalKey, "custtype": "P", "tr_type": "1", "content-type": "utf-8"},
			"body":   map[string]any{"input": map[string]string{"tr_id": "H0STCNT0", "tr_key": s}},
		})
		if err := w.write(ctx, msg); err != nil {
			return fmt.Errorf("subscribe %s: %w", s, err)
		}
	}
	return nil
}

// inspect echoes PINGPONG frames, as KIS requires, and stops at a refused
// subscription (rt_cd other than 0, but for "already subscribed").
func (k *kis) inspect(p []byte) ([]byte, error) {
	if len(p) == 0 || p[0] != '{' || len(p) > 4096 {
		return nil, nil
	}
	var m struct {
		Header struct {
			TrID string `json:"tr_id"`
		} `json:"header"`
		Body struct {
			RtCd  string `json:"rt_cd"`
			MsgCd string `json:"msg_cd"`
			Msg1  string `json:"msg1"`
		} `json:"body"`
	}
	if json.Unmarshal(p, &m) != nil {
		return nil, nil
	}
	if m.Header.TrID == "PINGPONG" {
		return p, nil
	}
	if m.Body.RtCd != "" && m.Body.RtCd != "0" && !strings.Contains(strings.ToUpper(m.Body.Msg1), "ALREADY") {
		return nil, &AuthError{Vendor: "kis", Reason: fmt.Sprintf("%s %s", m.Body.MsgCd, m.Body.Msg1)}
	}
	return nil, nil
}

// volumeTracker finds trades KIS did not deliver: each H0STCNT0 record's
// cumulative volume (the last 12 digits of tickbeam's KIS trade id) must be
// the previous one plus its own volume. KIS has no history of ticks by
// sequence, so such gaps are reported, not filled.
type volumeTracker struct {
	last map[string]seenVol
}

type seenVol struct {
	day string
	cum uint64
	at  time.Time
}

func newVolumeTracker() *volumeTracker { return &volumeTracker{last: map[string]seenVol{}} }

func (t *volumeTracker) check(k *tickbeam.Tick) (tickbeam.Gap, bool) {
	if k.Kind != tickbeam.Trade || len(k.TradeID) != 20 {
		return tickbeam.Gap{}, false
	}
	day := k.TradeID[:8]
	cum, err := strconv.ParseUint(k.TradeID[8:], 10, 64)
	if err != nil {
		return tickbeam.Gap{}, false
	}
	prev, ok := t.last[k.Symbol]
	if ok && prev.day == day && cum <= prev.cum {
		return tickbeam.Gap{}, false
	}
	t.last[k.Symbol] = seenVol{day, cum, k.EventTime}
	size := uint64(k.Size)
	if !ok || prev.day != day || cum <= prev.cum+size {
		return tickbeam.Gap{}, false
	}
	return tickbeam.Gap{Symbol: k.Symbol, From: prev.at, To: k.EventTime, FromID: day + fmt.Sprintf("%012d", prev.cum),
		ToID: k.TradeID, Missing: int64(cum - size - prev.cum), Unit: tickbeam.GapVolume,
		Detail: "cumulative volume grew by more than the trades received"}, true
}
