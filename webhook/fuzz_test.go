package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/completion"
	"github.com/ikq-dev/ikq/webhook"
)

// fuzzSecret signs nothing in the seed corpus: the fuzzer never sees a signature
// made with it, so nothing it makes may verify.
const fuzzSecret = "whsec_fuzz_secret_the_corpus_never_signs_with"

func FuzzParseExtensionEvent(f *testing.F) {
	for _, s := range []string{
		removeBGSuccess,
		`{"service":"aws-auto-tagging","status":"FAILURE","fileId":"5eff","error":{}}`,
		`{"service":"remove-bg","status":"DONE"}`,
		`{"service":7}`, `[]`, `null`, ``, `{"service":"x","status":"success","fileObject":[1]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := webhook.ParseExtensionEvent(body)
		if err != nil {
			if !errors.Is(err, webhook.ErrInvalidEvent) {
				t.Fatalf("error %v is not ErrInvalidEvent", err)
			}
			return
		}
		if ev.Service == "" || (ev.Status != completion.Success && ev.Status != completion.Failed) {
			t.Fatalf("accepted %q as %+v", body, ev)
		}
	})
}

func FuzzParseAccountEvent(f *testing.F) {
	f.Add(preEvent(f, "evt_1", "file_1"))
	f.Add(postEvent(f, "upload.post-transform.success", "evt_2", "file_2", map[string]any{"type": "abs", "value": "sr-240", "protocol": "hls"}))
	f.Add([]byte(`{"type":"upload.pre-transform.error","id":"e","data":{"name":"v.mp4"}}`))
	f.Add([]byte(`{"type":"video.transformation.ready","id":"v","data":{"asset":{}}}`))
	f.Add([]byte(`{"type":"upload.post-transform.success","request":{"transformation":"x"},"data":{"fileId":1}}`))
	f.Add([]byte(`{"type":3}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := webhook.ParseAccountEvent(body)
		if err != nil {
			if !errors.Is(err, webhook.ErrInvalidEvent) {
				t.Fatalf("error %v is not ErrInvalidEvent", err)
			}
			return
		}
		if ev.Type == "" {
			t.Fatalf("accepted %q with no type", body)
		}
		if (ev.Item == "") != (ev.Status == "") || ev.Item != "" && ev.Status != completion.Success && ev.Status != completion.Failed {
			t.Fatalf("parsed %q as %+v", body, ev)
		}
	})
}

func FuzzVerifyStandard(f *testing.F) {
	body := preEvent(f, "evt_1", "file_1")
	for _, secret := range []string{accountSecret, "whsec_other"} {
		h := standardHeaders(secret, "evt_1", fixedNow, body)
		f.Add(h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature"), body)
	}
	f.Add("", "", "", []byte(nil))
	f.Add("id", "-1", "v1,", []byte("{}"))
	f.Add("id", strconv.FormatInt(fixedNow.Unix(), 10), "v1,AAAA v2,BBBB ,,, v1", []byte("{}"))
	f.Add("id", "99999999999999999999", "v1,x", []byte("{}"))
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", sig)
		if err := webhook.VerifyStandard(fuzzSecret, h, body, fixedNow, 5*time.Minute); err == nil {
			t.Fatalf("verified without the secret: %v %q", h, body)
		}
		if id == "" {
			return
		}
		// Signed with the secret, the same id and body verify, and another body does not.
		signed := standardHeaders(fuzzSecret, id, fixedNow, body)
		if err := webhook.VerifyStandard(fuzzSecret, signed, body, fixedNow, 5*time.Minute); err != nil {
			t.Fatalf("a good signature of %q, %q: %v", id, body, err)
		}
		if err := webhook.VerifyStandard(fuzzSecret, signed, append(bytes.Clone(body), 'x'), fixedNow, 5*time.Minute); err == nil {
			t.Fatal("a signature verified another body")
		}
	})
}

func FuzzVerifyLegacy(f *testing.F) {
	body := preEvent(f, "evt_1", "file_1")
	f.Add(legacyHeader(accountSecret, fixedNow, body), body)
	f.Add(legacyHeader("whsec_other", fixedNow, body), body)
	f.Add("t=,v1=", []byte(nil))
	f.Add("t=1,t=2,v1=00", []byte("{}"))
	f.Add("t=99999999999999999999999,v1=00", []byte("{}"))
	f.Add(",,,=,==,t", []byte("{}"))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		if err := webhook.VerifyLegacy(fuzzSecret, header, body, fixedNow, 5*time.Minute); err == nil {
			t.Fatalf("verified without the secret: %q %q", header, body)
		}
		signed := legacyHeader(fuzzSecret, fixedNow, body)
		if err := webhook.VerifyLegacy(fuzzSecret, signed, body, fixedNow, 5*time.Minute); err != nil {
			t.Fatalf("a good signature of %q: %v", body, err)
		}
		if err := webhook.VerifyLegacy(fuzzSecret, signed, append(bytes.Clone(body), 'x'), fixedNow, 5*time.Minute); err == nil {
			t.Fatal("a signature verified another body")
		}
	})
}

// How FuzzHandler signs an account event.
const (
	signNone     = iota // the fuzzer's own headers
	signStandard        // Standard Webhooks headers with the account secret
	signLegacy          // x-ik-signature with the account secret
	signBothWays
)

func FuzzHandler(f *testing.F) {
	fx := newFixture(f, func(c *webhook.TestConfig) {
		c.Relay = func(context.Context, string, []byte) error { return nil }
		c.MaxBody = 64 << 10
	})
	pre := preEvent(f, "evt_1", "file_1")
	// The fuzzer's own headers must not carry a valid signature: with them, nothing
	// may reach the Merger.
	std := standardHeaders("whsec_other", "evt_1", fixedNow, pre)
	// route (0 per-job, 1 account), job id, token, valid token, signing, body,
	// webhook-id, webhook-timestamp, webhook-signature, x-ik-signature, Merger answer.
	f.Add(uint8(0), "job_1", "", true, uint8(signNone), []byte(removeBGSuccess), "", "", "", "", uint8(answerChanged))
	f.Add(uint8(0), "job_1", "nope", false, uint8(signNone), []byte(removeBGSuccess), "", "", "", "", uint8(answerChanged))
	f.Add(uint8(0), "a/b c", "", true, uint8(signNone), []byte(`{"service":"remove-bg","status":"DONE"}`), "", "", "", "", uint8(answerError))
	f.Add(uint8(0), "..", "", true, uint8(signNone), []byte(removeBGSuccess), "", "", "", "", uint8(answerNotFound))
	f.Add(uint8(1), "", "", false, uint8(signBothWays), pre, "evt_1", "", "", "", uint8(answerChanged))
	f.Add(uint8(1), "", "", false, uint8(signStandard), pre, "evt_2", "", "", "", uint8(answerError))
	f.Add(uint8(1), "", "", false, uint8(signLegacy), []byte(`{"type":"video.transformation.ready","id":"v"}`), "", "", "", "", uint8(answerDuplicate))
	f.Add(uint8(1), "", "", false, uint8(signNone), pre, std.Get("webhook-id"), std.Get("webhook-timestamp"), std.Get("webhook-signature"),
		legacyHeader("whsec_other", fixedNow, pre), uint8(answerChanged))
	f.Add(uint8(1), "", "", false, uint8(signNone), []byte("{}"), "", "", "", "t=1,v1=00", uint8(answerChanged))
	f.Add(uint8(1), "", "", false, uint8(signBothWays), []byte("not json"), "", "", "", "", uint8(answerChanged))

	f.Fuzz(func(t *testing.T, route uint8, jobID, token string, validToken bool, sign uint8, body []byte,
		wid, wts, wsig, xik string, answer uint8) {
		answer %= 5
		fx.merger.setAnswer(int(answer))
		before := len(fx.merger.Calls())

		var target string
		h := http.Header{}
		account := route%2 == 1
		if account {
			target = "/webhooks/imagekit"
			id := wid
			if id == "" {
				id = "evt_fuzz"
			}
			switch sign % 4 {
			case signNone:
				for k, v := range map[string]string{"webhook-id": wid, "webhook-timestamp": wts, "webhook-signature": wsig, "x-ik-signature": xik} {
					if v != "" {
						h[http.CanonicalHeaderKey(k)] = []string{v}
					}
				}
			case signStandard:
				h = standardHeaders(accountSecret, id, fixedNow, body)
			case signLegacy:
				h.Set("x-ik-signature", legacyHeader(accountSecret, fixedNow, body))
			case signBothWays:
				h = signBoth(accountSecret, id, fixedNow, body)
			}
		} else {
			if validToken {
				token = fx.capability.Token(jobID)
			}
			target = "/webhooks/imagekit/" + url.PathEscape(jobID) + "?token=" + url.QueryEscape(token)
		}

		r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
		for k, v := range h {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		fx.h.ServeHTTP(w, r)

		called := len(fx.merger.Calls()) > before
		if w.Code >= 500 && !(answer == answerError && called) {
			t.Fatalf("answered %d without a store error: %s", w.Code, w.Body)
		}
		forged := account && sign%4 == signNone || !account && !fx.capability.Valid(jobID, token)
		if forged && called {
			t.Fatalf("the Merger was called for an unproven request: %s %v", target, h)
		}
		if called && w.Code != 200 && w.Code != 503 {
			t.Fatalf("the Merger was called and the answer is %d", w.Code)
		}
	})
}
