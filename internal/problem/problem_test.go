package problem

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWrite(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	WriteDetails(w, New(http.StatusUnauthorized, "bad-token", "Bad token", "No token."))
	if w.Code != 401 || w.Header().Get("Content-Type") != "application/problem+json" ||
		w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("answer %d %v", w.Code, w.Header())
	}
	var got Details
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got != (Details{TypeBase + "bad-token", "Bad token", 401, "No token."}) {
		t.Fatalf("body %s: %v", w.Body, err)
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	JSON(w, http.StatusAccepted, map[string]string{"id": "x"})
	if w.Code != 202 || w.Header().Get("Content-Type") != "application/json" || w.Body.String() != `{"id":"x"}`+"\n" {
		t.Fatalf("answer %d %v %q", w.Code, w.Header(), w.Body)
	}
	w = httptest.NewRecorder()
	JSON(w, http.StatusOK, func() {}) // cannot be encoded
	if w.Code != 500 || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("unencodable value: %d %v", w.Code, w.Header())
	}
}
