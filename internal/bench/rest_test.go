package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/internal/restapi"
	"github.com/ikq-dev/ikq/producer"
)

const (
	restJobs    = 4000 // enqueued one a request
	restClients = 16   // concurrent clients of those
	restBatch   = 500  // jobs a batch request
	restBatches = 16
	// restBatchClients send the batches, each one batch at a time.
	restBatchClients = 4
)

// restRates are the REST API's enqueue rates, jobs/s.
type restRates struct{ single, batch float64 }

// runREST enqueues jobs through the REST API of one process over loopback HTTP: one
// job a request from restClients clients at once, then batches from
// restBatchClients clients at once.
func runREST(b *testing.B) restRates {
	b.Helper()
	rdb := redistest.New(b).Client(b)
	p, err := producer.New(producer.Config{Redis: rdb})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = p.Close() }()
	srv := httptest.NewServer(restapi.New(p, restapi.Options{}))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: restClients}}
	post := func(path string, body []byte) {
		resp, err := client.Post(srv.URL+path, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode >= 300 {
			b.Errorf("POST %s: %s", path, resp.Status)
		}
	}
	job := func(i int) map[string]any {
		return map[string]any{"file": fmt.Sprintf("https://example.com/f/%d.png", i), "fileName": fmt.Sprintf("f%d.png", i)}
	}

	var out restRates
	var wg sync.WaitGroup
	next := make(chan int)
	start := time.Now()
	for range restClients {
		wg.Go(func() {
			for i := range next {
				body, _ := json.Marshal(job(i))
				post("/v1/uploads", body)
			}
		})
	}
	for i := range restJobs {
		next <- i
	}
	close(next)
	wg.Wait()
	out.single = restJobs / time.Since(start).Seconds()

	bodies := make([][]byte, restBatches)
	for k := range bodies {
		items := make([]map[string]any, restBatch)
		for i := range items {
			items[i] = job(restJobs + k*restBatch + i)
		}
		bodies[k], _ = json.Marshal(items)
	}
	start = time.Now()
	feed := make(chan []byte)
	for range restBatchClients {
		wg.Go(func() {
			for body := range feed {
				post("/v1/uploads/batch", body)
			}
		})
	}
	for _, body := range bodies {
		feed <- body
	}
	close(feed)
	wg.Wait()
	out.batch = restBatch * restBatches / time.Since(start).Seconds()
	return out
}
