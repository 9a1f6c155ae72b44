package producer_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"encoding/json"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
	"github.com/redis/go-redis/v9"
)

// A web app queues an upload and answers its user at once; the job's id is what it
// keeps to follow the upload. A job that breaks a rule is refused with every problem.
func ExampleClient_Enqueue() {
	ctx := context.Background()
	rdb, release := exampleRedis() // an app: redis.NewClient(&redis.Options{Addr: …})
	defer release()

	p, err := producer.New(producer.Config{Redis: rdb})
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = p.Close() }()

	job, err := p.Enqueue(ctx, tasks.Upload{
		File:           "https://example.com/photos/summer.jpg",
		FileName:       "summer.jpg",
		Folder:         "/products",
		Tags:           tasks.StringList{"summer", "beach"},
		IdempotencyKey: "order-1234-photo-1", // a retried request returns the same job
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(job.Status, job.Queue, job.MaxAttempts)

	again, _ := p.Enqueue(ctx, tasks.Upload{
		File: "https://example.com/photos/summer.jpg", FileName: "summer.jpg",
		IdempotencyKey: "order-1234-photo-1",
	})
	fmt.Println("same job:", again.ID == job.ID)

	_, err = p.Enqueue(ctx, tasks.Upload{File: "ftp://example.com/a.jpg", FileName: "a.jpg", Tags: tasks.StringList{"50%"}})
	var invalid *tasks.ValidationError
	if errors.As(err, &invalid) {
		for _, pr := range invalid.Problems {
			fmt.Println(pr.Field) // answer 400 with these
		}
	}
	// Output:
	// queued default 10
	// same job: true
	// file
	// tags[0]
}

// Get follows a job; an id that never existed, or whose record expired, is
// ErrNotFound.
func ExampleClient_Get() {
	ctx := context.Background()
	rdb, release := exampleRedis()
	defer release()
	p, err := producer.New(producer.Config{Redis: rdb})
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = p.Close() }()

	job, err := p.Enqueue(ctx, tasks.Upload{File: "https://example.com/a.jpg", FileName: "a.jpg"})
	if err != nil {
		log.Fatal(err)
	}
	got, err := p.Get(ctx, job.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Status, string(got.Request))

	_, err = p.Get(ctx, "01JNOSUCHJOB0000000000000")
	fmt.Println(errors.Is(err, producer.ErrNotFound))
	// Output:
	// queued {"file":"https://example.com/a.jpg","fileName":"a.jpg"}
	// true
}

// List pages through jobs newest first, optionally of one status.
func ExampleClient_List() {
	ctx := context.Background()
	rdb, release := exampleRedis()
	defer release()
	p, err := producer.New(producer.Config{Redis: rdb})
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = p.Close() }()

	for _, name := range []string{"a.jpg", "b.jpg", "c.jpg"} {
		if _, err := p.Enqueue(ctx, tasks.Upload{File: "https://example.com/" + name, FileName: name}); err != nil {
			log.Fatal(err)
		}
	}
	opts := tasks.ListOptions{Status: tasks.StatusQueued, Limit: 2}
	for page := 1; ; page++ {
		jobs, next, err := p.List(ctx, opts)
		if err != nil {
			log.Fatal(err)
		}
		for _, j := range jobs {
			var spec tasks.Upload
			_ = json.Unmarshal(j.Request, &spec)
			fmt.Println(page, spec.FileName)
		}
		if next == "" {
			break
		}
		opts.Cursor = next
	}
	// Output:
	// 1 c.jpg
	// 1 b.jpg
	// 2 a.jpg
}

// exampleRedis is an isolated database of the tests' Redis, so that the examples
// run and their output is checked.
func exampleRedis() (*redis.Client, func()) { return redistest.Example() }
