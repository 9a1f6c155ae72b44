package emulator

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// clientSignedParts are the v1 client-side auth fields for token, signed as auth.go
// checks them: hex HMAC-SHA1(private key, token+expire).
func clientSignedParts(token string, expire time.Time) []part {
	exp := strconv.FormatInt(expire.Unix(), 10)
	mac := hmac.New(sha1.New, []byte(testKey))
	mac.Write([]byte(token + exp))
	return []part{
		field("publicKey", "public_test"),
		field("signature", hex.EncodeToString(mac.Sum(nil))),
		field("expire", exp),
		field("token", token),
	}
}

// stopEmulator closes an emulator's HTTP server and the emulator itself, as a
// process exit would; the test's cleanup closing them again is harmless.
func stopEmulator(t testing.TB, e *testEmulator) {
	t.Helper()
	e.ts.Close()
	if err := e.srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestPersistenceAcrossRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	withDir := func(c *Config) { c.DataDir = dir }

	e := newTestEmulator(t, withDir)
	r := e.postJSON(t, "/v1/customMetadataFields", map[string]any{
		"name": "sku", "label": "SKU", "schema": map[string]any{"type": "Text", "maxLength": 20.0},
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("create field: %d %s", r.Status, r.Raw)
	}
	field1 := r.Body

	v1 := pngImage(t, 10, 8, false)
	v2 := pngImage(t, 12, 9, true)
	first := e.upload(t, filePart("logo.png", v1), field("fileName", "logo.png"), field("folder", "/brand"),
		field("useUniqueFileName", "false"), field("tags", "old"))
	wantOK(t, first)
	second := e.upload(t, filePart("logo.png", v2), field("fileName", "logo.png"), field("folder", "/brand"),
		field("useUniqueFileName", "false"), field("tags", "new"), field("customMetadata", `{"sku":"L-1"}`))
	wantOK(t, second)
	logoID := first.str("fileId")
	if second.str("fileId") != logoID {
		t.Fatalf("second upload made a new file %s, want a version of %s", second.str("fileId"), logoID)
	}

	text := []byte("persist me\n")
	signed := append(clientSignedParts("token-persist-1", time.Now().Add(30*time.Minute)),
		filePart("note.txt", text), field("fileName", "note.txt"))
	note := e.uploadAs(t, 1, "", signed...)
	wantOK(t, note)
	noteID := note.str("fileId")

	before := map[string]response{
		"logo":     e.getJSON(t, "/v1/files/"+logoID+"/details"),
		"versions": e.getJSON(t, "/v1/files/"+logoID+"/versions"),
		"note":     e.getJSON(t, "/v1/files/"+noteID+"/details"),
		"list":     e.getJSON(t, "/v1/files"),
		"fields":   e.getJSON(t, "/v1/customMetadataFields"),
	}
	for k, r := range before {
		wantOK(t, r)
		if len(r.Raw) == 0 {
			t.Fatalf("%s: empty answer", k)
		}
	}
	stopEmulator(t, e)

	// A new emulator on the same directory has everything back.
	e2 := newTestEmulator(t, withDir)
	after := map[string]response{
		"logo":     e2.getJSON(t, "/v1/files/"+logoID+"/details"),
		"versions": e2.getJSON(t, "/v1/files/"+logoID+"/versions"),
		"note":     e2.getJSON(t, "/v1/files/"+noteID+"/details"),
		"list":     e2.getJSON(t, "/v1/files"),
		"fields":   e2.getJSON(t, "/v1/customMetadataFields"),
	}
	for k := range before {
		wantOK(t, after[k])
		// URLs carry the host of the server that answered; everything else must match.
		b := bytes.ReplaceAll(before[k].Raw, []byte(e.URL), []byte("BASE"))
		a := bytes.ReplaceAll(after[k].Raw, []byte(e2.URL), []byte("BASE"))
		if !bytes.Equal(a, b) {
			t.Errorf("%s changed across the restart:\nbefore %s\nafter  %s", k, b, a)
		}
	}
	if len(after["versions"].List) != 2 {
		t.Fatalf("%d versions after restart, want 2", len(after["versions"].List))
	}
	if got := after["logo"].Body["customMetadata"]; !reflect.DeepEqual(got, map[string]any{"sku": "L-1"}) {
		t.Fatalf("customMetadata %v after restart", got)
	}
	if got := after["fields"].List; len(got) != 1 || !reflect.DeepEqual(got[0], field1) {
		t.Fatalf("fields after restart %v, want [%v]", got, field1)
	}

	// The bytes are served at the url.
	for _, c := range []struct {
		url  string
		want []byte
	}{{after["logo"].str("url"), v2}, {after["note"].str("url"), text}} {
		got := fetchServed(t, c.url, nil)
		if got.Status != http.StatusOK || !bytes.Equal(got.Body, c.want) {
			t.Fatalf("GET %s after restart: %d, %d bytes; want the %d uploaded bytes", c.url, got.Status, len(got.Body), len(c.want))
		}
	}

	// The used token stays used.
	wantError(t, e2.uploadAs(t, 1, "", signed...), http.StatusBadRequest, msgReusedToken)

	// The field still governs uploads, and new uploads join the old files.
	wantError(t, e2.upload(t, filePart("x.png", v1), field("fileName", "x.png"), field("customMetadata", `{"sku":"this value is far too long"}`)),
		http.StatusBadRequest, msgInvalidCustomMeta)
	third := e2.upload(t, filePart("logo.png", v1), field("fileName", "logo.png"), field("folder", "/brand"),
		field("useUniqueFileName", "false"))
	wantOK(t, third)
	if third.str("fileId") != logoID || objectAt(t, third.Body, "versionInfo")["name"] != "Version 3" {
		t.Fatalf("upload after restart: %v, want Version 3 of %s", third.Body, logoID)
	}
	if n := e2.srv.Stats().Files; n != 2 {
		t.Fatalf("%d files after restart, want 2", n)
	}
}

func TestPersistenceStagingCleanedAfterRejection(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newTestEmulator(t, func(c *Config) {
		c.DataDir = dir
		c.MaxFileSize = 4096
	})
	tmpEntries := func() []string {
		t.Helper()
		entries, err := os.ReadDir(filepath.Join(dir, "tmp"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, en := range entries {
			names = append(names, en.Name())
		}
		return names
	}

	// A PNG signature followed by more bytes than the limit allows.
	big := append(append([]byte(nil), pngImage(t, 2, 2, false)[:16]...), make([]byte, 20000)...)
	wantError(t, e.upload(t, filePart("big.png", big), field("fileName", "big.png")), http.StatusBadRequest, msgTooLarge)
	if got := tmpEntries(); len(got) != 0 {
		t.Fatalf("tmp holds %v after a too-large upload", got)
	}

	// Rejected after the file was staged whole: still nothing left behind.
	small := pngImage(t, 4, 4, false)
	wantError(t, e.upload(t, filePart("a.png", small), field("fileName", "a.png"), field("tags", "100%")),
		http.StatusBadRequest, "Your request contains invalid value for tags parameter. % is not allowed in tags.")
	if got := tmpEntries(); len(got) != 0 {
		t.Fatalf("tmp holds %v after a rejected upload", got)
	}

	// An accepted upload moves its staging file into blobs.
	wantOK(t, e.upload(t, filePart("a.png", small), field("fileName", "a.png")))
	if got := tmpEntries(); len(got) != 0 {
		t.Fatalf("tmp holds %v after an accepted upload", got)
	}
	blobs, err := os.ReadDir(filepath.Join(dir, "blobs"))
	if err != nil || len(blobs) != 1 {
		t.Fatalf("blobs %v, %v; want one", blobs, err)
	}
	if st := e.srv.Stats(); st.Uploads != 1 || st.Rejected != 2 {
		t.Fatalf("stats %+v, want 1 upload and 2 rejected", st)
	}
}
