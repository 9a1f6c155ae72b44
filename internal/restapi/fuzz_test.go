package restapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/internal/restapi"
	"github.com/ikq-dev/ikq/producer"
)

// fuzzAPI is a handler on its own Redis for a fuzz target, with a small batch limit
// so that inputs reach it.
func fuzzAPI(f *testing.F) (http.Handler, *redis.Client) {
	f.Helper()
	rdb := redistest.New(f).Client(f)
	p, err := producer.New(producer.Config{Redis: rdb})
	if err != nil {
		f.Fatal(err)
	}
	return restapi.New(p, restapi.Options{MaxBatch: 20, MaxBodyBytes: 64 << 10, MaxBatchBytes: 256 << 10}), rdb
}

// serveFuzz posts body to path and checks the answer: never a 5xx (Redis is up), a
// problem for every 4xx, JSON for every 2xx, and nothing written to Redis for a 4xx.
func serveFuzz(t *testing.T, h http.Handler, rdb *redis.Client, path string, body []byte, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	keysBefore, err := rdb.DBSize(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	switch {
	case rec.Code >= 500:
		t.Fatalf("POST %s %q: %d\n%s", path, body, rec.Code, rec.Body)
	case rec.Code >= 400:
		_ = checkProblem(t, rec.Code, rec.Header(), rec.Body.Bytes())
		keysAfter, err := rdb.DBSize(t.Context()).Result()
		if err != nil {
			t.Fatal(err)
		}
		if keysAfter != keysBefore {
			t.Fatalf("POST %s %q: answered %d but Redis went from %d to %d keys", path, body, rec.Code, keysBefore, keysAfter)
		}
	case rec.Code >= 200 && rec.Code < 300:
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" || !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("POST %s %q: %d with Content-Type %q and body\n%s", path, body, rec.Code, ct, rec.Body)
		}
	default:
		t.Fatalf("POST %s %q: unexpected status %d", path, body, rec.Code)
	}
	return rec
}

var fuzzJobSeeds = []string{
	`{"file": "https://example.com/a.jpg", "fileName": "a.jpg"}`,
	`{"file": "https://example.com/a.jpg", "fileName": "a.jpg", "tags": "a,b", "folder": "/x/y", "customCoordinates": "1,2,3,4",
	  "responseFields": ["tags"], "extensions": [{"name": "remove-bg", "options": {"bg_color": "red"}},
	  {"name": "google-auto-tagging", "minConfidence": 50, "maxTags": 5}], "webhookUrl": "https://h.example.com/",
	  "customMetadata": {"brand": "x", "sizes": [1, 2]}, "transformation": {"pre": "w-100", "post": [{"type": "abs", "value": "sr-240", "protocol": "hls"}]},
	  "callbackUrl": "https://app.example.com/cb", "queue": "critical", "runAt": "2000-01-01T00:00:00Z", "maxAttempts": 3,
	  "idempotencyKey": "k", "fetch": "remote", "checks": "\"file.size\" < \"1mb\"", "description": "d"}`,
	`{"file": "data:image/png;base64,iVBORw0KGgo=", "fileName": "a.png", "extensions": "[{\"name\": \"ai-auto-description\"}]"}`,
	`{"file": "aGVsbG8=", "fileName": "a.txt", "transformation": "{\"post\": [{\"type\": \"thumbnail\"}]}", "customMetadata": "{}"}`,
	`{"file": "s3://bucket/key.jpg", "fileName": "k.jpg", "useUniqueFileName": false, "overwriteFile": null}`,
	`{"file": "ftp://x", "fileName": "a/b", "tags": ["50%"], "maxAttempts": 99, "queue": "urgent"}`,
	`{"file": 1}`,
	`{"file": "https://example.com/a.jpg", "fileName": "a.jpg", "file": "x"}`,
	`{"file": "https://example.com/a.jpg", "fileName": "a.jpg"} trailing`,
	`{"file": "https://exa`,
	`[]`, `null`, `""`, `0`, ``, " ", "\ufeff{}", `{"extensions": [{"name": "x", "maxTags": 1e400}]}`,
	`{"customMetadata": {"a": 1e400}}`, `{"runAt": "99999-01-01T00:00:00Z"}`,
	`{"transformation": {"post": [{"type": "transformation"}]}}`,
}

// FuzzCreateUpload: no body, Content-Type or Idempotency-Key makes POST /v1/uploads
// answer 5xx or panic; every refusal is a problem that left Redis untouched.
func FuzzCreateUpload(f *testing.F) {
	for _, s := range fuzzJobSeeds {
		f.Add([]byte(s), "application/json", "")
	}
	f.Add([]byte(fuzzJobSeeds[0]), "", "key-1")
	f.Add([]byte(fuzzJobSeeds[0]), "text/plain", "")
	f.Add([]byte(fuzzJobSeeds[0]), "application/json; charset=latin1", "")
	f.Add([]byte(fuzzJobSeeds[1]), "application/json", "other-key")
	f.Add([]byte(fuzzJobSeeds[0]), "application/json", "\x00\xff")
	h, rdb := fuzzAPI(f)
	f.Fuzz(func(t *testing.T, body []byte, contentType, key string) {
		header := map[string]string{}
		if contentType != "" {
			header["Content-Type"] = contentType
		}
		if key != "" {
			header["Idempotency-Key"] = key
		}
		rec := serveFuzz(t, h, rdb, "/v1/uploads", body, header)
		if rec.Code == http.StatusOK || rec.Code == http.StatusAccepted {
			var job struct{ ID string }
			if err := json.Unmarshal(rec.Body.Bytes(), &job); err != nil || job.ID == "" ||
				rec.Header().Get("Location") != "/v1/uploads/"+job.ID {
				t.Fatalf("%d answer is not a record with its Location (%v): %s", rec.Code, err, rec.Body)
			}
		}
	})
}

// FuzzBatch: no body makes POST /v1/uploads/batch answer 5xx or panic; a 200 holds
// one record or problem per element.
func FuzzBatch(f *testing.F) {
	f.Add([]byte(`[` + strings.Join(fuzzJobSeeds[:6], ",") + `]`))
	f.Add([]byte(`[` + fuzzJobSeeds[0] + `, 42, null, "x", [], {}]`))
	f.Add([]byte(`[` + strings.Repeat(fuzzJobSeeds[0]+",", 20) + fuzzJobSeeds[0] + `]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[`))
	f.Add([]byte(`[1,]`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[] []`))
	f.Add([]byte(``))
	for _, s := range fuzzJobSeeds {
		f.Add([]byte(s))
	}
	h, rdb := fuzzAPI(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := serveFuzz(t, h, rdb, "/v1/uploads/batch", body, nil)
		if rec.Code != http.StatusOK {
			return
		}
		var resp struct {
			Results []map[string]json.RawMessage `json:"results"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || resp.Results == nil {
			t.Fatalf("200 answer is not {\"results\": [...]} (%v): %s", err, rec.Body)
		}
		for i, r := range resp.Results {
			_, isJob := r["id"]
			p, isErr := r["error"]
			switch {
			case !isJob && (!isErr || len(r) != 1):
				t.Fatalf("result %d is neither a record nor {\"error\": problem}: %s", i, rec.Body)
			case !isJob:
				var status struct{ Status int }
				if err := json.Unmarshal(p, &status); err != nil || status.Status < 400 || status.Status >= 500 {
					t.Fatalf("result %d: error is not a 4xx problem: %s", i, p)
				}
				_ = checkProblem(t, status.Status, http.Header{"Content-Type": {"application/problem+json"}}, p)
			}
		}
	})
}
