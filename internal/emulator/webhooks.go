package emulator

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/ikq-dev/ikq/internal/redact"

	"github.com/cenkalti/backoff/v4"
	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// deliver POSTs body as JSON to url until it answers 200, retrying with exponential
// backoff for at most WebhookRetryFor, as ImageKit retries its webhooks. sign, if
// set, adds signature headers to each attempt.
func (s *Server) deliver(ctx context.Context, url string, body any, sign func(payload []byte, h http.Header) error) {
	payload, err := json.Marshal(body)
	if err != nil {
		s.cfg.Logger.Error("encoding webhook", "err", err)
		return
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 200 * time.Millisecond
	b.MaxInterval = 10 * time.Second
	b.MaxElapsedTime = s.cfg.WebhookRetryFor
	attempt := 0
	op := func() error {
		attempt++
		if attempt > 1 {
			s.stats.webhooksRetry.Add(1)
		}
		actx, cancel := context.WithTimeout(ctx, s.cfg.WebhookTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(actx, http.MethodPost, url, bytes.NewReader(payload))
		if err != nil {
			return backoff.Permanent(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "ImageKit-Emulator-Webhook")
		if sign != nil {
			if err := sign(payload, req.Header); err != nil {
				return backoff.Permanent(err)
			}
		}
		resp, err := s.cfg.HTTPClient.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		// ImageKit counts anything but 200 as a failed delivery.
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("webhook receiver answered %d", resp.StatusCode)
		}
		return nil
	}
	if err := backoff.Retry(op, backoff.WithContext(b, ctx)); err != nil {
		s.stats.webhooksLost.Add(1)
		s.cfg.Logger.Warn("webhook not delivered", "url", redact.URL(url), "attempts", attempt, "err", redact.Text(err.Error()))
		return
	}
	s.stats.webhooksOK.Add(1)
	s.cfg.Logger.Info("webhook delivered", "url", redact.URL(url), "attempts", attempt)
}

// signAccountEvent signs an account event both ways ImageKit has: Standard Webhooks
// headers and the legacy x-ik-signature. Both use the secret's raw bytes as the
// HMAC key, as ImageKit's SDKs do.
func signAccountEvent(secret, eventID string, now func() time.Time) func([]byte, http.Header) error {
	return func(payload []byte, h http.Header) error {
		ts := now()
		wh, err := standardwebhooks.NewWebhookRaw([]byte(secret))
		if err != nil {
			return err
		}
		sig, err := wh.Sign(eventID, ts, payload)
		if err != nil {
			return err
		}
		h.Set("webhook-id", eventID)
		h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
		h.Set("webhook-signature", sig)
		h.Set("x-ik-signature", legacySignature(secret, ts, payload))
		return nil
	}
}

// legacySignature is the x-ik-signature header: t=<unix ms>,v1=<hex HMAC-SHA256 of "t.body">.
func legacySignature(secret string, ts time.Time, payload []byte) string {
	t := strconv.FormatInt(ts.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(t + "."))
	mac.Write(payload)
	return "t=" + t + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// sendAccountEvent delivers an account webhook event, if one is configured.
func (s *Server) sendAccountEvent(ctx context.Context, typ string, request, data map[string]any) {
	if s.cfg.AccountWebhookURL == "" {
		return
	}
	id := uuid.NewString()
	event := map[string]any{
		"type":       typ,
		"id":         id,
		"created_at": s.cfg.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"request":    request,
		"data":       data,
	}
	var sign func([]byte, http.Header) error
	if s.cfg.AccountWebhookSecret != "" {
		sign = signAccountEvent(s.cfg.AccountWebhookSecret, id, s.cfg.Now)
	}
	s.deliver(ctx, s.cfg.AccountWebhookURL, event, sign)
}

// sendTransformEvents reports an upload's pre- and post-transformations as account
// events after the extension delay: one event for the pre-transformation and one
// per post-transformation. Listing "pre-transform" or "post-transform" in
// FailExtensions makes them fail.
func (s *Server) sendTransformEvents(a *asset, t *transformation, base, requestID string, uploadResp map[string]any) {
	if s.cfg.AccountWebhookURL == "" {
		return
	}
	s.goBackground(func(ctx context.Context) {
		select {
		case <-time.After(s.cfg.ExtensionDelay):
		case <-ctx.Done():
			return
		}
		url := s.fileURL(base, a)
		failure := map[string]any{"error": map[string]any{"reason": "encoding_failed"}}
		if t.Pre != "" {
			req := map[string]any{"x_request_id": requestID, "transformation": t.Pre}
			if slices.Contains(s.cfg.FailExtensions, "pre-transform") {
				s.sendAccountEvent(ctx, "upload.pre-transform.error", req,
					map[string]any{"name": a.Name, "path": a.FilePath, "transformation": failure})
			} else {
				s.sendAccountEvent(ctx, "upload.pre-transform.success", req, uploadResp)
			}
		}
		for _, p := range t.Post {
			tr := map[string]any{"type": p.Type}
			if p.Value != "" {
				tr["value"] = p.Value
			}
			if p.Protocol != "" {
				tr["protocol"] = p.Protocol
			}
			req := map[string]any{"x_request_id": requestID, "transformation": tr}
			data := map[string]any{"fileId": a.FileID, "url": url + "?tr=" + p.Value, "name": a.Name}
			if slices.Contains(s.cfg.FailExtensions, "post-transform") {
				data["path"] = a.FilePath
				data["transformation"] = failure
				s.sendAccountEvent(ctx, "upload.post-transform.error", req, data)
			} else {
				s.sendAccountEvent(ctx, "upload.post-transform.success", req, data)
			}
		}
	})
}
