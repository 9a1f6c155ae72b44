package whsec

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	t.Parallel()
	key16 := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	key15 := base64.StdEncoding.EncodeToString([]byte("0123456789abcde"))
	for _, s := range []string{"whsec_" + key16, " whsec_" + key16 + "\n"} {
		if _, err := New(s); err != nil {
			t.Errorf("New(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", key16, "whsec_", "whsec_" + key15, "whsec_not*base64", "WHSEC_" + key16} {
		_, err := New(s)
		if !errors.Is(err, ErrSecret) {
			t.Errorf("New(%q) = %v, want ErrSecret", s, err)
		}
		if key := strings.TrimPrefix(s, "whsec_"); err != nil && key != "" && strings.Contains(err.Error(), key) {
			t.Errorf("New(%q): the error quotes the secret: %v", s, err)
		}
	}
}

// A message signed with one secret verifies with it and not with another.
func TestSignVerify(t *testing.T) {
	t.Parallel()
	a, err := New("whsec_" + base64.StdEncoding.EncodeToString([]byte("secret number one, 32 bytes long")))
	if err != nil {
		t.Fatal(err)
	}
	b, err := New("whsec_" + base64.StdEncoding.EncodeToString([]byte("secret number two, 32 bytes long")))
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"id":"01J"}`)
	now := time.Now()
	sig, err := a.Sign("msg_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", "msg_1")
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", sig)
	if err := a.Verify(body, h); err != nil {
		t.Errorf("Verify with the signing secret: %v", err)
	}
	if err := b.Verify(body, h); err == nil {
		t.Error("Verify with another secret succeeded")
	}
}
