package webhook_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/ikq-dev/ikq/webhook"
)

var verifyBody = []byte(`{"type":"upload.pre-transform.success","id":"evt_1","data":{"fileId":"f1"}}`)

func TestVerifyStandard(t *testing.T) {
	t.Parallel()
	valid := func() http.Header { return standardHeaders(accountSecret, "evt_1", fixedNow, verifyBody) }
	with := func(edit func(http.Header)) http.Header {
		h := valid()
		edit(h)
		return h
	}
	// Stock Standard Webhooks decodes whsec_ secrets; ImageKit does not. A signature
	// made the stock way must not verify.
	stockKey := base64.StdEncoding.EncodeToString([]byte("a stock key of some length"))
	stock, err := standardwebhooks.NewWebhook("whsec_" + stockKey)
	if err != nil {
		t.Fatal(err)
	}
	stockSig, err := stock.Sign("evt_1", fixedNow, verifyBody)
	if err != nil {
		t.Fatal(err)
	}
	sig := valid().Get("webhook-signature")

	cases := []struct {
		name    string
		secret  string
		h       http.Header
		body    []byte
		wantErr error
	}{
		{"valid", accountSecret, valid(), verifyBody, nil},
		{"one of several signatures", accountSecret, with(func(h http.Header) {
			h.Set("webhook-signature", "v1,AAAA v1a,"+strings.TrimPrefix(sig, "v1,")+" "+sig)
		}), verifyBody, nil},
		{"4 minutes old", accountSecret, standardHeaders(accountSecret, "evt_1", fixedNow.Add(-4*time.Minute), verifyBody), verifyBody, nil},
		{"4 minutes ahead", accountSecret, standardHeaders(accountSecret, "evt_1", fixedNow.Add(4*time.Minute), verifyBody), verifyBody, nil},
		{"6 minutes old", accountSecret, standardHeaders(accountSecret, "evt_1", fixedNow.Add(-6*time.Minute), verifyBody), verifyBody, webhook.ErrStale},
		{"6 minutes ahead", accountSecret, standardHeaders(accountSecret, "evt_1", fixedNow.Add(6*time.Minute), verifyBody), verifyBody, webhook.ErrStale},
		{"wrong secret", "whsec_other", valid(), verifyBody, webhook.ErrBadSignature},
		{"no secret", "", valid(), verifyBody, webhook.ErrBadSignature},
		{"tampered body", accountSecret, valid(), append([]byte(" "), verifyBody...), webhook.ErrBadSignature},
		{"another id", accountSecret, with(func(h http.Header) { h.Set("webhook-id", "evt_2") }), verifyBody, webhook.ErrBadSignature},
		{"another timestamp", accountSecret, with(func(h http.Header) {
			h.Set("webhook-timestamp", strconv.FormatInt(fixedNow.Unix()+1, 10))
		}), verifyBody, webhook.ErrBadSignature},
		{"timestamp in milliseconds", accountSecret, with(func(h http.Header) {
			h.Set("webhook-timestamp", strconv.FormatInt(fixedNow.UnixMilli(), 10))
		}), verifyBody, webhook.ErrStale},
		{"timestamp not a number", accountSecret, with(func(h http.Header) { h.Set("webhook-timestamp", "soon") }), verifyBody, webhook.ErrBadSignature},
		{"version v2 only", accountSecret, with(func(h http.Header) { h.Set("webhook-signature", "v2,"+strings.TrimPrefix(sig, "v1,")) }), verifyBody, webhook.ErrBadSignature},
		{"hex instead of base64", accountSecret, with(func(h http.Header) { h.Set("webhook-signature", "v1,00ff") }), verifyBody, webhook.ErrBadSignature},
		{"stock whsec_ decoding", "whsec_" + stockKey, with(func(h http.Header) { h.Set("webhook-signature", stockSig) }), verifyBody, webhook.ErrBadSignature},
		{"no webhook-id", accountSecret, with(func(h http.Header) { h.Del("webhook-id") }), verifyBody, webhook.ErrNoSignature},
		{"no webhook-timestamp", accountSecret, with(func(h http.Header) { h.Del("webhook-timestamp") }), verifyBody, webhook.ErrNoSignature},
		{"no webhook-signature", accountSecret, with(func(h http.Header) { h.Del("webhook-signature") }), verifyBody, webhook.ErrNoSignature},
		{"no headers", accountSecret, http.Header{}, verifyBody, webhook.ErrNoSignature},
	}
	for _, c := range cases {
		err := webhook.VerifyStandard(c.secret, c.h, c.body, fixedNow, 5*time.Minute)
		if c.wantErr == nil && err != nil || c.wantErr != nil && !errors.Is(err, c.wantErr) {
			t.Errorf("%s: %v, want %v", c.name, err, c.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), c.secret) && c.secret != "" {
			t.Errorf("%s: the error shows the secret: %v", c.name, err)
		}
	}

	// The library, keyed the way ImageKit's SDKs key it, agrees with the hand-made signature.
	lib, err := standardwebhooks.NewWebhookRaw([]byte(accountSecret))
	if err != nil {
		t.Fatal(err)
	}
	libSig, err := lib.Sign("evt_1", fixedNow, verifyBody)
	if err != nil || libSig != sig {
		t.Fatalf("library signature %q (%v), hand-made %q", libSig, err, sig)
	}
}

func TestVerifyLegacy(t *testing.T) {
	t.Parallel()
	valid := legacyHeader(accountSecret, fixedNow, verifyBody)
	t0, v1, _ := strings.Cut(valid, ",")
	ms := strconv.FormatInt(fixedNow.UnixMilli(), 10)
	cases := []struct {
		name    string
		secret  string
		header  string
		body    []byte
		wantErr error
	}{
		{"valid", accountSecret, valid, verifyBody, nil},
		{"spaces", accountSecret, " " + t0 + " , " + v1 + " ", verifyBody, nil},
		{"v1 first", accountSecret, v1 + "," + t0, verifyBody, nil},
		{"upper-case hex", accountSecret, t0 + ",v1=" + strings.ToUpper(v1[3:]), verifyBody, nil},
		{"one of several v1", accountSecret, t0 + ",v1=00ff," + v1, verifyBody, nil},
		{"other keys ignored", accountSecret, t0 + ",v0=abc," + v1, verifyBody, nil},
		{"4 minutes old", accountSecret, legacyHeader(accountSecret, fixedNow.Add(-4*time.Minute), verifyBody), verifyBody, nil},
		{"6 minutes old", accountSecret, legacyHeader(accountSecret, fixedNow.Add(-6*time.Minute), verifyBody), verifyBody, webhook.ErrStale},
		{"6 minutes ahead", accountSecret, legacyHeader(accountSecret, fixedNow.Add(6*time.Minute), verifyBody), verifyBody, webhook.ErrStale},
		{"wrong secret", "whsec_other", valid, verifyBody, webhook.ErrBadSignature},
		{"no secret", "", valid, verifyBody, webhook.ErrBadSignature},
		{"tampered body", accountSecret, valid, append(verifyBody, ' '), webhook.ErrBadSignature},
		{"another timestamp", accountSecret, "t=" + strconv.FormatInt(fixedNow.UnixMilli()+1, 10) + "," + v1, verifyBody, webhook.ErrBadSignature},
		{"timestamp in seconds", accountSecret, "t=" + strconv.FormatInt(fixedNow.Unix(), 10) + "," + v1, verifyBody, webhook.ErrStale},
		{"timestamp not a number", accountSecret, "t=soon," + v1, verifyBody, webhook.ErrBadSignature},
		{"negative timestamp", accountSecret, "t=-" + ms + "," + v1, verifyBody, webhook.ErrBadSignature},
		{"two timestamps", accountSecret, t0 + ",t=1," + v1, verifyBody, webhook.ErrBadSignature},
		{"no timestamp", accountSecret, v1, verifyBody, webhook.ErrBadSignature},
		{"no signature", accountSecret, t0, verifyBody, webhook.ErrBadSignature},
		{"empty signature", accountSecret, t0 + ",v1=", verifyBody, webhook.ErrBadSignature},
		{"base64 signature", accountSecret, t0 + ",v1=" + base64.StdEncoding.EncodeToString([]byte("x")), verifyBody, webhook.ErrBadSignature},
		{"empty header", accountSecret, "", verifyBody, webhook.ErrNoSignature},
		{"blank header", accountSecret, "  ", verifyBody, webhook.ErrNoSignature},
	}
	for _, c := range cases {
		err := webhook.VerifyLegacy(c.secret, c.header, c.body, fixedNow, 5*time.Minute)
		if c.wantErr == nil && err != nil || c.wantErr != nil && !errors.Is(err, c.wantErr) {
			t.Errorf("%s: %v, want %v", c.name, err, c.wantErr)
		}
	}
}

func TestVerifyDefaultTolerance(t *testing.T) {
	t.Parallel()
	h := standardHeaders(accountSecret, "evt_1", fixedNow.Add(-299*time.Second), verifyBody)
	if err := webhook.VerifyStandard(accountSecret, h, verifyBody, fixedNow, 0); err != nil {
		t.Fatalf("299 s old with the default tolerance: %v", err)
	}
	h = standardHeaders(accountSecret, "evt_1", fixedNow.Add(-301*time.Second), verifyBody)
	if err := webhook.VerifyStandard(accountSecret, h, verifyBody, fixedNow, 0); !errors.Is(err, webhook.ErrStale) {
		t.Fatalf("301 s old with the default tolerance: %v, want ErrStale", err)
	}
	old := legacyHeader(accountSecret, fixedNow.Add(-301*time.Second), verifyBody)
	if err := webhook.VerifyLegacy(accountSecret, old, verifyBody, fixedNow, 0); !errors.Is(err, webhook.ErrStale) {
		t.Fatalf("legacy 301 s old with the default tolerance: %v, want ErrStale", err)
	}
}
